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
got someone else's line, or whose login was removed, is dropped.

Seats are rows the instructor makes, published like any other, with no email until an attendee claims
one (app.seats decides the claims): an unclaimed seat holds no email here.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence

from app import htpasswd, roster
from app.errors import AlreadyTaken, RegistrationError, RegistrationFull
from app.roster import Registration
from app.rules import email_key

# Kubernetes refuses a Secret whose data exceeds 1 MiB in total.
SECRET_MAX_BYTES = 1024 * 1024
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


class Login(enum.Enum):
    """Where a registration's login stands, judged from the logins and its row."""

    PENDING = "pending"  # its line waits in the row, not yet in the logins
    PUBLISHED = "published"  # its line is in the logins, and the row still carries it
    ACTIVE = "active"  # in the logins; the row no longer carries the line
    CLOBBERED = "clobbered"  # another line took the name before this one was published
    REMOVED = "removed"  # the row says published, but the logins have no line for the name


@dataclasses.dataclass
class RosterPlan:
    """The roster to write, which candidates it holds (or already published) and the refused ones."""

    records: list[Registration]
    reserved: list[int]
    published: list[int]
    refused: dict[int, RegistrationError]
    changed: bool


def login_of(record: Registration, names: dict[str, bytes]) -> Login:
    """Where the record's login stands, given the logins' lines by name (htpasswd.entries)."""
    line = names.get(record.username.casefold())
    if not record.pending_login:
        return Login.ACTIVE if line is not None else Login.REMOVED
    if line is None:
        return Login.PENDING
    return Login.PUBLISHED if line == record.pending_login.encode() else Login.CLOBBERED


LIVE = (Login.PENDING, Login.PUBLISHED, Login.ACTIVE)


def registered(logins: bytes, records: Sequence[Registration]) -> list[tuple[Registration, Login]]:
    """Every registration with its login state (pending or active, never a hash): what users.csv shows."""
    names = htpasswd.entries(logins)
    found = []
    for record in records:
        state = login_of(record, names)
        if state in LIVE:
            found.append((dataclasses.replace(record, pending_login="") if record.pending_login else record,
                          Login.PENDING if state == Login.PENDING else Login.ACTIVE))
    return found


def pending(logins: bytes, records: Sequence[Registration]) -> list[Registration]:
    """The rows whose login waits to be published."""
    names = htpasswd.entries(logins)
    return [r for r in records if login_of(r, names) == Login.PENDING]


def normalise(logins: bytes, records: Sequence[Registration]) -> list[Registration]:
    """The roster as it should be stored: published hashes dropped, dead rows removed, pending rows kept.

    The logins must have been read after the records: a row is always stored before its login is
    published, so only then does "no login" mean removed rather than "published after this copy".
    """
    names = htpasswd.entries(logins)
    kept = []
    for record in records:
        state = login_of(record, names)
        if state in (Login.ACTIVE, Login.PENDING):
            kept.append(record)
        elif state == Login.PUBLISHED:
            kept.append(dataclasses.replace(record, pending_login=""))
    return kept


def plan_roster(
    logins: bytes,
    records: Sequence[Registration],
    candidates: Sequence[Registration],
    limits: Limits,
    stored_size: int | None = None,
) -> RosterPlan:
    """Reserve a row for each candidate (a registration with its pending login), earlier ones first.

    A name or an email held by any row, pending or not, is taken: a pending registration is never
    replaced (the same attendee registering again is recognised before, by their password). A candidate
    whose row is already stored (a retry after a lost answer) counts as reserved, or as published.
    stored_size is the stored roster's length in bytes when the caller has it (rendering 10,000 rows to
    measure them costs tens of milliseconds); normalising only ever shrinks it.
    """
    names = htpasswd.entries(logins)
    kept = normalise(logins, records)
    index_of = {r.username.casefold(): i for i, r in enumerate(kept)}
    by_email = _emails(kept)
    size = stored_size if stored_size is not None else len(roster.render_store(kept).encode())
    logins_size = len(logins)
    reserved: list[int] = []
    published: list[int] = []
    refused: dict[int, RegistrationError] = {}
    group: set[str] = set()  # names reserved by this group: a second attempt at one of them loses

    for number, candidate in enumerate(candidates):
        key = candidate.username.casefold()
        line = names.get(key)
        if line is not None:
            if line == candidate.pending_login.encode():
                published.append(number)
            else:
                refused[number] = AlreadyTaken({"username": USERNAME_TAKEN})
            continue
        if candidate.email and by_email.get(email_key(candidate.email), key) != key:
            refused[number] = AlreadyTaken({"email": EMAIL_TAKEN})
            continue
        if key in index_of:  # a row with this name that has no login yet: a pending registration
            if kept[index_of[key]] == candidate and key not in group:
                reserved.append(number)  # this very attempt, stored before its answer was lost
                group.add(key)
            else:
                refused[number] = AlreadyTaken({"username": USERNAME_TAKEN})
            continue
        row_size = _row_size(candidate)
        if (
            (limits.max_users and len(kept) >= limits.max_users)
            or size + row_size > limits.max_bytes
            or logins_size + len(candidate.pending_login) + 2 > limits.max_bytes
        ):
            refused[number] = RegistrationFull()
            continue
        index_of[key] = len(kept)
        if candidate.email:
            by_email[email_key(candidate.email)] = key
        kept.append(candidate)
        size += row_size
        logins_size += len(candidate.pending_login) + 1
        reserved.append(number)
        group.add(key)

    changed = list(kept) != list(records)
    return RosterPlan(kept, reserved, published, refused, changed)


@dataclasses.dataclass(frozen=True)
class Index:
    """Who holds which name and email, and how full the documents are: one state of both documents,
    indexed once, to answer single questions in constant time (the pre-check before hashing)."""

    lines: frozenset[str]  # case-folded names of the logins' lines
    held: frozenset[str]  # case-folded names of the live rows
    emails: Mapping[str, str]  # email key -> the case-folded name holding it
    rows: int
    roster_bytes: int
    logins_bytes: int
    free_seats: int = 0  # unclaimed seats (whose login is live)

    @classmethod
    def of(cls, logins: bytes, records: Sequence[Registration], roster_bytes: int) -> Index:
        kept = normalise(logins, records)
        return cls(frozenset(htpasswd.entries(logins)), frozenset(r.username.casefold() for r in kept),
                   _emails(kept), len(kept), roster_bytes, len(logins),
                   sum(1 for r in kept if r.unclaimed and r.seat_nonce))

    def taken(self, username: str | None, email: str | None) -> dict[str, str]:
        """"Taken" messages for a username and/or an email that belong to someone."""
        found = {}
        if username and (username.casefold() in self.lines or username.casefold() in self.held):
            found["username"] = USERNAME_TAKEN
        if email and email_key(email) in self.emails:
            found["email"] = EMAIL_TAKEN
        return found

    def refusal(self, candidate: Registration, limits: Limits) -> RegistrationError | None:
        """Why plan_roster would refuse this candidate (without its line: a probe) alone, or None."""
        key = candidate.username.casefold()
        if key in self.lines:
            return AlreadyTaken({"username": USERNAME_TAKEN})
        if candidate.email and self.emails.get(email_key(candidate.email), key) != key:
            return AlreadyTaken({"email": EMAIL_TAKEN})
        if key in self.held:
            return AlreadyTaken({"username": USERNAME_TAKEN})
        if ((limits.max_users and self.rows >= limits.max_users)
                or self.roster_bytes + _row_size(candidate) > limits.max_bytes
                or self.logins_bytes + len(candidate.pending_login) + 2 > limits.max_bytes):
            return RegistrationFull()
        return None


def plan_logins(logins: bytes, records: Sequence[Registration], limits: Limits) -> bytes:
    """The logins with every pending login appended (what a publish writes)."""
    names = dict(htpasswd.entries(logins))
    size = len(logins) + 1
    new_entries = []
    for record in records:
        key = record.username.casefold()
        if (
            record.pending_login
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


def outcome(logins: bytes, candidate: Registration) -> Login:
    """Where a reserved candidate stands: PENDING, PUBLISHED, or CLOBBERED (another line has its name)."""
    return login_of(candidate, htpasswd.entries(logins))


def _emails(records: Sequence[Registration]) -> dict[str, str]:
    """Email key -> the case-folded name holding it (an unclaimed seat holds none)."""
    return {email_key(r.email): r.username.casefold() for r in records if r.email}


def _row_size(record: Registration) -> int:
    return len(roster.render_store([record]).encode()) - len(roster.render_store([]).encode())


def withdrawn(records: Sequence[Registration], usernames: set[str]) -> list[Registration]:
    """The roster with the pending logins of the given usernames withdrawn (nobody will publish them)."""
    return [dataclasses.replace(r, pending_login="") if r.username in usernames and r.pending_login else r
            for r in records]


def without(records: Sequence[Registration], usernames: set[str]) -> list[Registration]:
    """The roster without the rows of the given usernames."""
    return [r for r in records if r.username not in usernames]
