"""The roster of registrations as CSV: pure rendering and parsing.

users.csv, the instructors' file: RFC 4180 CSV (CRLF line ends, fields quoted when needed) with the
header `username,full_name,email,registered_at`, times in ISO 8601 UTC. A cell that a spreadsheet would
run as a formula is prefixed with `'`; a cell that already starts with `'` gets one more, so the guard is
reversible and parsing gives back exactly what was written.

The stored roster (registrations.csv, in the registrations Secret or DATA_DIR) has one more column,
`pending_login`: the htpasswd line of a registration whose login is not yet published. It is emptied
once the line is in the htpasswd Secret, and never appears in users.csv.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
from collections.abc import Iterable
from datetime import datetime, timezone

HEADER = ("username", "full_name", "email", "registered_at")
STORE_HEADER = HEADER + ("pending_login",)
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


def now() -> datetime:
    """The current time in UTC, to the second (the precision users.csv shows)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@functools.lru_cache(maxsize=65536)  # every render formats every row's time; most rows never change
def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, e.g. 2026-11-26T22:44:49Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime:
    """Read a time written by format_time (or any ISO 8601 with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time without a time zone")
    return moment.astimezone(timezone.utc)


def neutralize(cell: str) -> str:
    """Guard a cell against spreadsheet formula injection (reversible)."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def restore(cell: str) -> str:
    """Undo neutralize."""
    return cell[1:] if cell.startswith("'") else cell


def render(registrations: Iterable[Registration]) -> str:
    """users.csv text for the registrations, in the given order."""
    return _render(HEADER, ([r.username, r.full_name, r.email, format_time(r.registered_at)] for r in registrations))


def render_store(registrations: Iterable[Registration]) -> str:
    """The stored roster: users.csv plus each registration's pending login."""
    return _render(
        STORE_HEADER,
        ([r.username, r.full_name, r.email, format_time(r.registered_at), r.pending_login] for r in registrations),
    )


def parse(text: str) -> list[Registration]:
    """Registrations from users.csv text; an empty text is an empty roster."""
    return _parse(text, HEADER)


def parse_store(text: str) -> list[Registration]:
    """Registrations from the stored roster (render_store's text)."""
    return _parse(text, STORE_HEADER)


def parse_stored(content: bytes) -> list[Registration]:
    """Registrations from the stored roster's bytes (RosterError when they are not UTF-8 or not a roster)."""
    try:
        return parse_store(content.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RosterError(str(error)) from error


def _render(header: tuple[str, ...], rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([neutralize(cell) for cell in row] for row in rows)
    return out.getvalue()


def _parse(text: str, header: tuple[str, ...]) -> list[Registration]:
    if not text.strip():
        return []
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        found = next(rows)
        if tuple(found) != header:
            raise RosterError(f"unexpected header {found[:len(header)]!r}")
        registrations = []
        for number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise RosterError(f"row {number} has {len(row)} fields instead of {len(header)}")
            cells = [restore(cell) for cell in row]
            registrations.append(Registration(cells[0], cells[1], cells[2], parse_time(cells[3]), *cells[4:]))
        return registrations
    except (csv.Error, ValueError) as error:
        raise RosterError(str(error)) from error
