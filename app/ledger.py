"""Deciding what registrations do to the two documents: pure functions, no I/O.

The truth is two documents: the logins (htpasswd content, what the OAuth server reads) and the roster
(registrations with, until published, their htpasswd line). A registration is written in two steps:

1. *reserve*: its row, carrying its pending login, is added to the roster. The row holds the username
   and email against other registrations, from any process or replica.
2. *publish*: whoever writes the logins next appends every fresh pending login of the roster, its own
   and other processes' alike, so a burst costs one htpasswd write whoever wins the race.

A login never exists without its row. Rows are normalised on every roster write: a published row drops
its pending login (the hash), a row whose name got someone else's line is dropped, and so is a pending
row older than the reservation TTL (its group failed or its process died) or a row whose login was
removed.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

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
    """Capacity and timing rules for the two documents."""

    max_users: int = 0  # MAX_USERS; 0 = no limit
    max_bytes: int = SECRET_MAX_BYTES  # per document
    publish_window: timedelta = timedelta(seconds=18)  # a pending login is published while this young
    reservation_ttl: timedelta = timedelta(seconds=120)  # then its row is dropped once this old

    @classmethod
    def for_settings(cls, settings) -> Limits:
        """The limits for MAX_USERS and COMMIT_TIMEOUT."""
        return cls(
            max_users=settings.max_users,
            # Another process publishes a pending login only while its owner still waits for it...
            publish_window=timedelta(seconds=max(1.0, settings.commit_timeout - 2)),
            # ...and the reservation outlives every request that could still be waiting on it.
            reservation_ttl=timedelta(seconds=max(120.0, 3 * settings.commit_timeout)),
        )


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


def active(logins: bytes, records: Sequence[Registration]) -> list[Registration]:
    """The registrations whose login exists: what users.csv shows, without any hash."""
    names = htpasswd.entries(logins)
    return [
        dataclasses.replace(r, pending_login="") if r.pending_login else r
        for r in records
        if login_of(r, names) in (Login.ACTIVE, Login.PUBLISHED)
    ]


def normalise(logins: bytes, records: Sequence[Registration], moment: datetime, limits: Limits) -> list[Registration]:
    """The roster as it should be stored: published hashes dropped, dead rows removed.

    The logins must have been read after the records: a row is always stored before its login is
    published, so only then does "no login" mean removed rather than "published after this copy".
    """
    names = htpasswd.entries(logins)
    kept = []
    for record in records:
        state = login_of(record, names)
        if state == Login.ACTIVE:
            kept.append(record)
        elif state == Login.PUBLISHED:
            kept.append(dataclasses.replace(record, pending_login=""))
        elif state == Login.PENDING and moment - record.registered_at <= limits.reservation_ttl:
            kept.append(record)
    return kept


def plan_roster(
    logins: bytes,
    records: Sequence[Registration],
    candidates: Sequence[Registration],
    moment: datetime,
    limits: Limits,
    stored_size: int | None = None,
) -> RosterPlan:
    """Reserve a row for each candidate (a registration with its pending login), earlier ones first.

    stored_size is the stored roster's length in bytes when the caller has it (rendering 10,000 rows to
    measure them costs tens of milliseconds); normalising only ever shrinks it.
    """
    names = htpasswd.entries(logins)
    kept = normalise(logins, records, moment, limits)
    index_of = {r.username.casefold(): i for i, r in enumerate(kept)}
    by_email = {email_key(r.email): r.username.casefold() for r in kept}
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
        if by_email.get(email_key(candidate.email), key) != key:
            refused[number] = AlreadyTaken({"email": EMAIL_TAKEN})
            continue
        if key in index_of:  # a row with this name that has no login yet: a reservation
            current = kept[index_of[key]]
            if key in group or email_key(current.email) != email_key(candidate.email):
                refused[number] = AlreadyTaken({"username": USERNAME_TAKEN})
                continue
            kept[index_of[key]] = candidate  # the same attendee again: their latest attempt counts
            reserved.append(number)
            group.add(key)
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
        by_email[email_key(candidate.email)] = key
        kept.append(candidate)
        size += row_size
        logins_size += len(candidate.pending_login) + 1
        reserved.append(number)
        group.add(key)

    changed = list(kept) != list(records)
    return RosterPlan(kept, reserved, published, refused, changed)


def taken(
    logins: bytes,
    records: Sequence[Registration],
    username: str | None,
    email: str | None,
    moment: datetime,
    limits: Limits,
) -> dict[str, str]:
    """"Taken" messages for a username and/or email that belong to someone (for an invalid form)."""
    kept = normalise(logins, records, moment, limits)
    names = {r.username.casefold() for r in kept} | set(htpasswd.entries(logins))
    emails = {email_key(r.email) for r in kept}
    found = {}
    if username and username.casefold() in names:
        found["username"] = USERNAME_TAKEN
    if email and email_key(email) in emails:
        found["email"] = EMAIL_TAKEN
    return found


def plan_logins(logins: bytes, records: Sequence[Registration], moment: datetime, limits: Limits) -> bytes:
    """The logins with every fresh pending login appended (the ones a publish writes)."""
    names = htpasswd.entries(logins)
    size = len(logins) + 1
    new_entries = []
    for record in records:
        key = record.username.casefold()
        if (
            record.pending_login
            and key not in names
            and moment - record.registered_at <= limits.publish_window
            and size + len(record.pending_login) + 1 <= limits.max_bytes
        ):
            entry = record.pending_login.encode()
            names[key] = entry
            new_entries.append(entry)
            size += len(entry) + 1
    return htpasswd.append(logins, new_entries)


def outcome(logins: bytes, candidate: Registration) -> Login:
    """Where a reserved candidate stands: PENDING, PUBLISHED, or CLOBBERED (another line has its name)."""
    return login_of(candidate, htpasswd.entries(logins))


def _row_size(record: Registration) -> int:
    return len(roster.render_store([record]).encode()) - len(roster.render_store([]).encode())


def without(records: Sequence[Registration], usernames: set[str]) -> list[Registration]:
    """The roster without the rows of the given usernames."""
    return [r for r in records if r.username not in usernames]
