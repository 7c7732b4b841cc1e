"""The roster of registrations as CSV: pure rendering and parsing.

users.csv, the instructors' file: RFC 4180 CSV (CRLF line ends, fields quoted when needed) with the
header `username,full_name,email,registered_at,seat,claimed_at`, times in ISO 8601 UTC. `seat` is `yes`
for an account the instructor made (`python -m app seats create`): its email and claimed_at stay empty
until an attendee claims it. A cell that a spreadsheet would run as a formula is prefixed with `'`; a
cell that already starts with `'` gets one more, so the guard is reversible and parsing gives back
exactly what was written.

The stored roster (registrations.csv, in the registrations Secret or DATA_DIR) has two more columns:
`pending_login`, the htpasswd line of a registration whose login is not yet published (emptied once the
line is in the htpasswd Secret), and `seat_nonce`, from which a seat's password is derived with the key
the replicas share (app.seats) until shortly after it is claimed, then `claimed_from` (a claim's client
address) and `ended` (`yes` once the event's end took the login away: the record stays, app.ending; when,
the event state says). None of
them ever appears in users.csv. A roster stored by an earlier release (without some columns) is read as it is.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timezone

HEADER = ("username", "full_name", "email", "registered_at", "seat", "claimed_at")
STORE_HEADER = HEADER + ("pending_login", "seat_nonce", "claimed_from", "ended")
# Stored by earlier releases: before seats existed, before claims kept their client's address, before the end.
LEGACY_HEADERS = (HEADER[:4], HEADER[:4] + ("pending_login",), HEADER + ("pending_login", "seat_nonce"),
                  STORE_HEADER[:-1])
YES = "yes"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


class RosterError(ValueError):
    """The stored roster is not a users.csv this app can read."""


@dataclasses.dataclass(frozen=True)
class Registration:
    """One attendee's registration record (never a password or hash)."""

    username: str
    full_name: str
    email: str
    registered_at: datetime
    pending_login: str = dataclasses.field(default="", repr=False)
    seat: bool = False  # made by the instructor, handed out by claiming it
    claimed_at: datetime | None = None  # when an attendee claimed this seat (its email is theirs)
    seat_nonce: str = dataclasses.field(default="", repr=False)  # its password's derivation input (app.seats)
    claimed_from: str = dataclasses.field(default="", repr=False)  # the client address of a seat's claim
    ended: bool = False  # the event's end took this login away (the record stays; when: the event state)

    @property
    def unclaimed(self) -> bool:
        """A seat nobody has claimed yet: an account, not an attendee."""
        return self.seat and self.claimed_at is None


def now() -> datetime:
    """The current time in UTC, to the second (the precision users.csv shows)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@functools.lru_cache(maxsize=65536)  # every render formats every row's time; most rows never change
def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, e.g. 2026-11-26T22:44:49Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_epoch(seconds: float) -> str:
    """A time in epoch seconds as format_time writes it."""
    return format_time(datetime.fromtimestamp(seconds, timezone.utc))


@functools.lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime:
    """Read a time written by format_time (or any ISO 8601 with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time without a time zone")
    return moment.astimezone(timezone.utc)


def neutralize(cell: str) -> str:
    """Guard a cell against spreadsheet formula injection (reversible): a cell starting with a formula's
    character, or with anything invisible that a spreadsheet may skip before one (spaces, zero-width and
    other format characters, controls: "\u200b=1+1"), gets a leading '."""
    if cell.startswith(FORMULA_TRIGGERS) or (cell and (cell[0].isspace() or unicodedata.category(cell[0]) in
                                                        ("Cf", "Cc", "Zs", "Zl", "Zp", "Cn", "Co"))):
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """Undo neutralize."""
    return cell[1:] if cell.startswith("'") else cell


def render(registrations: Iterable[Registration]) -> str:
    """users.csv text for the registrations, in the given order."""
    return render_rows(HEADER, (_cells(r) for r in registrations))


def render_store(registrations: Iterable[Registration]) -> str:
    """The stored roster: users.csv plus each registration's pending login and each seat's nonce."""
    return render_rows(STORE_HEADER, (_cells(r) + [r.pending_login, r.seat_nonce, r.claimed_from,
                                                   YES if r.ended else ""]
                                      for r in registrations))


def _cells(r: Registration) -> list[str]:
    return [r.username, r.full_name, r.email, format_time(r.registered_at), YES if r.seat else "",
            format_time(r.claimed_at) if r.claimed_at else ""]


def parse(text: str) -> list[Registration]:
    """Registrations from users.csv text; an empty text is an empty roster."""
    return _parse(text, (HEADER, HEADER[:4]))


def parse_store(text: str) -> list[Registration]:
    """Registrations from the stored roster (render_store's text)."""
    return _parse(text, (STORE_HEADER,) + LEGACY_HEADERS)


def parse_stored(content: bytes) -> list[Registration]:
    """Registrations from the stored roster's bytes (RosterError when they are not UTF-8 or not a roster)."""
    try:
        return parse_store(content.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RosterError(str(error)) from error


def render_rows(header: tuple[str, ...], rows: Iterable[Iterable[str]]) -> str:
    """RFC 4180 CSV (CRLF) of the header and rows, formula cells neutralised: users.csv's form."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([neutralize(cell) for cell in row] for row in rows)
    return out.getvalue()


def _parse(text: str, headers: tuple[tuple[str, ...], ...]) -> list[Registration]:
    if not text.strip():
        return []
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        found = tuple(next(rows))
        if found not in headers:
            raise RosterError(f"unexpected header {found[:len(headers[0])]!r}")
        # Where each optional column is (None: not in this header); rows are read by position (10,000 rows
        # are parsed on every new version of the roster).
        seat, claimed_at, pending, nonce, source, ended = (
            found.index(n) if n in found else None
            for n in ("seat", "claimed_at", "pending_login", "seat_nonce", "claimed_from", "ended"))
        registrations = []
        for number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(found):
                raise RosterError(f"row {number} has {len(row)} fields instead of {len(found)}")
            cells = [restore(cell) for cell in row]
            is_seat = _flag(cells, seat, "seat", number)
            claimed = cells[claimed_at] if claimed_at is not None else ""
            registrations.append(Registration(
                cells[0], cells[1], cells[2], parse_time(cells[3]),
                cells[pending] if pending is not None else "", is_seat,
                parse_time(claimed) if claimed else None, cells[nonce] if nonce is not None else "",
                cells[source] if source is not None else "", _flag(cells, ended, "ended", number)))
        return registrations
    except (csv.Error, ValueError) as error:
        raise RosterError(str(error)) from error


def _flag(cells: list[str], index: int | None, column: str, number: int) -> bool:
    """A yes-or-empty column's value in a row (False when the header has no such column)."""
    cell = cells[index] if index is not None else ""
    if cell not in ("", YES):
        raise RosterError(f"row {number}: {column} must be {YES!r} or empty")
    return cell == YES
