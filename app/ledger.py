"""Deciding what registrations do to the two documents: pure functions, no I/O.

The truth is two documents: the logins (htpasswd content, what the OAuth server reads) and the roster
(registrations with, until published, their htpasswd line). A registration is written in two steps:

1. *reserve*: its row, carrying its pending login, is added to the roster. The registration is then
   durable: the row holds the username and email against other registrations, from any process or
   replica, and the attendee is answered.
2. *publish*: whoever writes the logins next appends every pending login of the roster, its own and
   other processes' alike, at the pace the OAuth server can take (app.rollout).

A login never exists without its row, and a pending row is never dropped while it waits. Rows are
normalised on every roster write: a published row drops its pending login (the hash); a row whose name
got someone else's line, or whose login was removed, is dropped. A row the event's end took the login of
(marked `ended`, app.ending) is kept as a record, whatever the logins hold, and never published.

Seats are rows the instructor makes, published like any other, with no email until an attendee claims
one (app.seats decides the claims): an unclaimed seat holds no email here.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Protocol

from app import htpasswd, roster
from app.errors import AlreadyTaken, EventEnded, RegistrationError, RegistrationFull
from app.roster import Registration
from app.rules import email_key

# Kubernetes refuses a Secret whose data exceeds 1 MiB in total.
SECRET_MAX_BYTES = 1024 * 1024
# A seat's password is shown again to its claimant (same email and claim token) only this long after the
# claim: a reload, a lost answer; afterwards its nonce is gone and nobody can see that password. (A
# registration comes back at any time with its username and password: app.service.)
AGAIN_WINDOW = timedelta(minutes=10)
ENDED_MARK = len("yes")  # what the event's end adds to each row (app.ending)
USERNAME_TAKEN = "This username is taken. Please choose another."
EMAIL_TAKEN = "This email address is already registered. Each attendee registers once."


@dataclasses.dataclass(frozen=True)
class Limits:
    """Capacity rules for the two documents."""

    max_users: int = 0  # MAX_USERS; 0 = no limit
    max_bytes: int = SECRET_MAX_BYTES  # per document

    @classmethod
    def for_settings(cls, settings) -> Limits:
        return cls(max_users=settings.max_users)


class Line(enum.Enum):
    """Where a registration's htpasswd line stands, judged from the logins and its row. (Whether OpenShift
    accepts the login, "active", is app.activation's word, not this.)"""

    PENDING = "pending"  # the line waits in the row, not yet in the logins
    JUST_WRITTEN = "just written"  # the line is in the logins, and the row still carries it (to be tidied)
    WRITTEN = "written"  # in the logins; the row no longer carries the line
    CLOBBERED = "clobbered"  # another line took the name before this one was written
    REMOVED = "removed"  # the row says written, but the logins have no line for the name
    ENDED = "ended"  # the event ended: the row is a record, its line is (or is being) taken out of the logins


@dataclasses.dataclass
class RosterPlan:
    """The roster to write, which candidates it holds (or already has written) and the refused ones."""

    records: list[Registration]
    reserved: list[int]
    written: list[int]
    refused: dict[int, RegistrationError]
    changed: bool


def line_of(record: Registration, names: Mapping[str, bytes]) -> Line:
    """Where the record's line stands, given the logins' lines by name (htpasswd.entries)."""
    if record.ended:
        return Line.ENDED
    line = names.get(record.username.casefold())
    if not record.pending_login:
        return Line.WRITTEN if line is not None else Line.REMOVED
    if line is None:
        return Line.PENDING
    return Line.JUST_WRITTEN if line == record.pending_login.encode() else Line.CLOBBERED


LIVE = (Line.PENDING, Line.JUST_WRITTEN, Line.WRITTEN)


def registered(logins: bytes, records: Sequence[Registration]) -> list[tuple[Registration, Line]]:
    """Every registration with its line pending, written or ended (never a hash): what users.csv shows."""
    names = htpasswd.entries(logins)
    found = []
    for record in records:
        state = line_of(record, names)
        if state in LIVE or state == Line.ENDED:
            found.append((dataclasses.replace(record, pending_login="") if record.pending_login else record,
                          Line.WRITTEN if state == Line.JUST_WRITTEN else state))
    return found


def pending(logins: bytes, records: Sequence[Registration]) -> list[Registration]:
    """The rows whose line waits to be written."""
    names = htpasswd.entries(logins)
    return [r for r in records if line_of(r, names) == Line.PENDING]


def normalise(logins: bytes, records: Sequence[Registration]) -> list[Registration]:
    """The roster as it should be stored: written hashes dropped, dead rows removed, pending rows kept.

    The logins must have been read after the records: a row is always stored before its line is
    written, so only then does "no line" mean removed rather than "written after this copy".
    """
    names = htpasswd.entries(logins)
    kept = []
    for record in records:
        state = line_of(record, names)
        if state in (Line.WRITTEN, Line.PENDING):
            kept.append(record)
        elif state in (Line.JUST_WRITTEN, Line.ENDED) and record.pending_login:
            kept.append(dataclasses.replace(record, pending_login=""))
        elif state == Line.ENDED:
            kept.append(record)
    return kept


class Holdings(Protocol):
    """Who holds which name and email, and how full the documents are."""

    lines: Collection[str]  # case-folded names of the logins' lines
    held: Collection[str]  # case-folded names of the live rows
    emails: Mapping[str, str]  # email key -> the case-folded name holding it
    rows: int
    roster_bytes: int
    logins_bytes: int


def refusal(candidate: Registration, holdings: Holdings, limits: Limits) -> RegistrationError | None:
    """Why a candidate cannot have its row (a name or email held, the event or a Secret full), or None:
    the one rule, asked by the pre-check before hashing and by the planner that decides for good."""
    key = candidate.username.casefold()
    if key in holdings.lines:
        return AlreadyTaken({"username": USERNAME_TAKEN})
    if candidate.email and holdings.emails.get(email_key(candidate.email), key) != key:
        return AlreadyTaken({"email": EMAIL_TAKEN})
    if key in holdings.held:
        return AlreadyTaken({"username": USERNAME_TAKEN})
    if ((limits.max_users and holdings.rows >= limits.max_users)  # with room left for the end's marks:
            or holdings.roster_bytes + _row_size(candidate) + (holdings.rows + 1) * ENDED_MARK > limits.max_bytes
            or holdings.logins_bytes + len(candidate.pending_login) + 2 > limits.max_bytes):
        return RegistrationFull()
    return None


@dataclasses.dataclass
class _Tally:
    """Holdings as a plan goes (app.ledger.plan_roster), updated with every row it reserves."""

    lines: set[str]
    held: set[str]
    emails: dict[str, str]
    rows: int
    roster_bytes: int
    logins_bytes: int


def plan_roster(logins: bytes, records: Sequence[Registration], candidates: Sequence[Registration], limits: Limits,
                stored_size: int | None = None) -> RosterPlan:
    """Reserve a row for each candidate (a registration with its pending line), earlier ones first.

    A name or an email held by any row, pending or not, is taken: a pending registration is never
    replaced (the same attendee registering again is recognised before, by their password). A candidate
    whose row is already stored (a retry after a lost answer) counts as reserved, or as written. Once the
    event's end has marked the rows, every newcomer is refused (replicas learn of the end at their pace).
    stored_size is the stored roster's length in bytes when the caller has it (rendering 10,000 rows to
    measure them costs tens of milliseconds); normalising only ever shrinks it.
    """
    names = htpasswd.entries(logins)
    kept = normalise(logins, records)
    index_of = {r.username.casefold(): i for i, r in enumerate(kept)}
    tally = _Tally(set(names), set(index_of), _emails(kept), len(kept),
                   stored_size if stored_size is not None else len(roster.render_store(kept).encode()), len(logins))
    reserved: list[int] = []
    written: list[int] = []
    refused: dict[int, RegistrationError] = {}
    group: set[str] = set()  # names reserved by this group: a second attempt at one of them loses
    ended = any(r.ended for r in kept)  # the end marks every row: nobody joins after it

    for number, candidate in enumerate(candidates):
        key = candidate.username.casefold()
        line = names.get(key)
        if line is not None and line == candidate.pending_login.encode():
            written.append(number)  # this very attempt, written since its answer was lost
            continue
        if line is None and key in index_of and kept[index_of[key]] == candidate and key not in group:
            reserved.append(number)  # this very attempt, stored before its answer was lost
            group.add(key)
            continue
        error = EventEnded() if ended else refusal(candidate, tally, limits)
        if error is not None:
            refused[number] = error
            continue
        index_of[key] = len(kept)
        kept.append(candidate)
        tally.held.add(key)
        if candidate.email:
            tally.emails[email_key(candidate.email)] = key
        tally.rows += 1
        tally.roster_bytes += _row_size(candidate)
        tally.logins_bytes += len(candidate.pending_login) + 1
        reserved.append(number)
        group.add(key)

    changed = list(kept) != list(records)
    return RosterPlan(kept, reserved, written, refused, changed)


@dataclasses.dataclass(frozen=True)
class Index:
    """The holdings of one reading of both documents, indexed once, to answer single questions in
    constant time (the pre-check before hashing): never changed once made."""

    lines: frozenset[str]
    held: frozenset[str]
    emails: Mapping[str, str]
    rows: int
    roster_bytes: int
    logins_bytes: int
    free_seats: int = 0  # unclaimed seats (whose line is live)

    @classmethod
    def of(cls, logins: bytes, records: Sequence[Registration], roster_bytes: int) -> Index:
        kept = normalise(logins, records)
        return cls(frozenset(htpasswd.entries(logins)), frozenset(r.username.casefold() for r in kept),
                   MappingProxyType(_emails(kept)), len(kept), roster_bytes, len(logins),
                   sum(1 for r in kept if r.unclaimed and r.seat_nonce))

    def taken(self, username: str | None, email: str | None) -> dict[str, str]:
        """"Taken" messages for a username and/or an email that belong to someone."""
        found = {}
        if username and (username.casefold() in self.lines or username.casefold() in self.held):
            found["username"] = USERNAME_TAKEN
        if email and email_key(email) in self.emails:
            found["email"] = EMAIL_TAKEN
        return found


def plan_logins(logins: bytes, records: Sequence[Registration], limits: Limits) -> bytes:
    """The logins with every pending line appended (what a write of the logins holds)."""
    names = dict(htpasswd.entries(logins))
    size = len(logins) + 1
    new_entries = []
    for record in records:
        key = record.username.casefold()
        if (
            record.pending_login
            and not record.ended
            and key not in names
            and size + len(record.pending_login) + 1 <= limits.max_bytes
        ):
            entry = record.pending_login.encode()
            names[key] = entry
            new_entries.append(entry)
            size += len(entry) + 1
    return htpasswd.append(logins, new_entries)


def foreign(logins: bytes, records: Sequence[Registration]) -> list[str]:
    """The names of the logins' lines that no registration of this app holds: lines it did not add."""
    ours = {r.username.casefold() for r in records}
    return [name for name in htpasswd.entries(logins) if name not in ours]


def _emails(records: Sequence[Registration]) -> dict[str, str]:
    """Email key -> the case-folded name holding it (an unclaimed seat holds none)."""
    return {email_key(r.email): r.username.casefold() for r in records if r.email}


def _row_size(record: Registration) -> int:
    return len(roster.render_store([record]).encode()) - len(roster.render_store([]).encode())


def withdrawn(records: Sequence[Registration], usernames: set[str]) -> list[Registration]:
    """The roster with the pending lines of the given usernames withdrawn (nobody will write them)."""
    return [dataclasses.replace(r, pending_login="") if r.username in usernames and r.pending_login else r
            for r in records]


def without(records: Sequence[Registration], usernames: set[str]) -> list[Registration]:
    """The roster without the rows of the given usernames."""
    return [r for r in records if r.username not in usernames]
