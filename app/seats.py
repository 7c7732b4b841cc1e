"""Seats: accounts the instructor makes ahead of time (`user1…userN`), handed out by claiming one.

A claim gives the first unclaimed seat (roster order) its email and claimed_at; claims are decided in the
reserver's group commit with registrations, on the stored roster, so two claims never get one seat.

A seat's password is never stored, in clear or otherwise: it is derived, when needed, from the key the
replicas share (app.tickets.SharedKey; in the registrations Secret) and the seat's nonce, 16 random bytes
kept in its row. HMAC-SHA256 is the derivation, under a key of its own made from the shared one, so the
nonce alone reveals nothing (users.csv has neither; the registrations Secret has both). The password
is shown when the seats are made (printed once, for printing) and to whoever claims the seat; a claimed
seat keeps its nonce only for app.ledger.AGAIN_WINDOW, so the same email can see it again after a lost
page, and then never again (forget_nonces, applied by app.claims.NonceExpiry): afterwards the instructor
resets it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from app import passwords, roster
from app.errors import AlreadyTaken, EventEnded, RegistrationError, SeatsTaken
from app.ledger import EMAIL_TAKEN
from app.roster import Registration
from app.rules import email_key

SUBKEY_LABEL = b"workshop-registration seat passwords v1"
CLAIM_LABEL = b"workshop-registration seat claims v1"
def seat_held(username: str) -> str:
    """Said to a claim by an email that holds a seat, without that claim's token (another device, or
    someone else): which seat, and what to do. Seat names are no secret (users.csv, the console)."""
    return (f"This email address holds the seat {username}. Sign back in with its password, or ask your "
            "instructor to reset it if it is lost.")


def new_nonce() -> str:
    """A fresh nonce for a seat (a new nonce is a new password)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def password(shared_key: bytes, username: str, nonce: str) -> str:
    """The seat's password (app.passwords' form), the same every time for the same key, name and nonce."""
    subkey = hmac.new(shared_key, SUBKEY_LABEL, hashlib.sha256).digest()
    return passwords.spell(int.from_bytes(hmac.new(subkey, f"{username}\0{nonce}".encode(), hashlib.sha256).digest(),
                                          "big"))


def claim_token(shared_key: bytes, username: str, nonce: str) -> str:
    """What whoever claimed the seat is handed with it, and must show to see it again: knowing the email is
    not enough (anyone may know a colleague's). Derived like the password, so nothing more is stored, and
    useless once the nonce is dropped."""
    subkey = hmac.new(shared_key, CLAIM_LABEL, hashlib.sha256).digest()
    mac = hmac.new(subkey, f"{username}\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csv_text(made: Sequence[tuple[str, str]]) -> str:
    """seats.csv, printed once: `username,password` for each seat made, in users.csv's CSV form."""
    return roster.render_rows(("username", "password"), made)


def names(prefix: str, start: int, count: int) -> list[str]:
    """The seats' usernames: prefix followed by start, start + 1, … (user1, user2, …)."""
    return [f"{prefix}{number}" for number in range(start, start + count)]


def taken(names: list[str], prefix: str, index) -> str:
    """Why seats of these names cannot be made ("" when they can): those already taken, and the first
    number after every name of that prefix (app.ledger.Index says who holds what)."""
    held = [name for name in names if index.taken(name, None)]
    if not held:
        return ""
    shown = ", ".join(held[:5]) + (" …" if len(held) > 5 else "")
    return f"taken: {shown}; the next free numbers start at {next_number(prefix, index)} (--start)"


def next_number(prefix: str, index, refused: Collection[str] = ()) -> int:
    """The first number after every name of this prefix that is held (a line, a row) or refused (removed
    names whose User may remain): where more seats start."""
    used = [int(m.group(1)) for name in [*index.lines, *index.held, *(n.casefold() for n in refused)]
            if (m := re.fullmatch(re.escape(prefix.casefold()) + r"(\d+)", name))]
    return max(used, default=0) + 1


def row(username: str, line: bytes, nonce: str, made_at) -> Registration:
    """A new seat's roster row: its login pending, no email until it is claimed."""
    return Registration(username, "", "", made_at, pending_login=line.decode("ascii"), seat=True, seat_nonce=nonce)


@dataclasses.dataclass(frozen=True)
class Claim:
    """An attendee asking for a seat: their email, and when they asked."""

    email: str
    at: datetime
    client: str = ""  # the address it came from (kept with the seat: app.admin shows bursts)


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A seat given to a claim: the seat's row (with its nonce), and whether it was this email's already."""

    seat: Registration
    again: bool = False


@dataclasses.dataclass
class ClaimPlan:
    """The roster to write, the seat each claim got and the refused claims."""

    records: list[Registration]
    claimed: dict[int, Claimed]
    refused: dict[int, RegistrationError]
    changed: bool


def plan_claims(records: Sequence[Registration], claims: Sequence[Claim], again_window: timedelta) -> ClaimPlan:
    """Give each claim the first unclaimed seat (roster order), earlier claims first.

    The records must be normalised (plan_roster's). An email that already holds a seat gets that seat
    again, with its nonce, only within again_window of its claim; later, or for an email a registration
    holds, the claim is refused. Nonces of seats claimed longer ago than again_window are dropped, so
    their passwords can never be derived again.
    """
    if not claims:
        return ClaimPlan(list(records), {}, {}, False)
    kept = list(records)
    holder = {email_key(r.email): i for i, r in enumerate(kept) if r.email}
    free = (i for i, r in enumerate(kept) if r.unclaimed and r.seat_nonce)
    claimed: dict[int, Claimed] = {}
    refused: dict[int, RegistrationError] = {}
    ended = any(r.ended for r in kept)  # the end marks every row: no claim after it
    for number, claim in enumerate(claims):
        if ended:
            refused[number] = EventEnded()
            continue
        held = holder.get(email_key(claim.email))
        if held is not None:
            seat = kept[held]
            if seat.seat and seat.seat_nonce and seat.claimed_at and claim.at - seat.claimed_at <= again_window:
                claimed[number] = Claimed(seat, again=True)
            else:
                refused[number] = AlreadyTaken({"email": seat_held(seat.username) if seat.seat else EMAIL_TAKEN})
            continue
        index = next(free, None)
        if index is None:
            refused[number] = SeatsTaken()
            continue
        kept[index] = dataclasses.replace(kept[index], email=claim.email, claimed_at=claim.at,
                                          claimed_from=claim.client)
        holder[email_key(claim.email)] = index
        claimed[number] = Claimed(kept[index])
    kept = forget_nonces(kept, max(claim.at for claim in claims), again_window)
    return ClaimPlan(kept, claimed, refused, kept != list(records))


def forget_nonces(records: Sequence[Registration], now: datetime, again_window: timedelta) -> Sequence[Registration]:
    """The roster without the nonces of seats claimed longer ago than again_window (the same sequence when
    there are none: the publisher asks on every look)."""
    def expired(r: Registration) -> bool:
        return bool(r.seat_nonce and r.claimed_at and now - r.claimed_at > again_window)
    if not any(expired(r) for r in records):
        return records
    return [dataclasses.replace(r, seat_nonce="") if expired(r) else r for r in records]


CLAIM_BURST = 5  # seats claimed from one address within BURST_WINDOW: more than one person types, or a script
BURST_WINDOW = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Burst:
    """An address that claimed CLAIM_BURST seats or more within BURST_WINDOW: `most` of them at most, and
    the seats it claimed in all."""

    client: str
    most: int
    usernames: tuple[str, ...]


def bursts(records: Sequence[Registration], least: int = CLAIM_BURST, window: timedelta = BURST_WINDOW) -> list[Burst]:
    """Every address whose claims came faster than people type (a room behind one NAT may, too: the
    instructor decides), busiest first."""
    claims: dict[str, list[Registration]] = {}
    for record in records:
        if record.seat and record.claimed_at and record.claimed_from:
            claims.setdefault(record.claimed_from, []).append(record)
    found = []
    for client, made in claims.items():
        made.sort(key=lambda r: r.claimed_at)
        times = [r.claimed_at for r in made]
        most, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] > window:
                first += 1
            most = max(most, last - first + 1)
        if most >= least:
            found.append(Burst(client, most, tuple(r.username for r in made)))
    return sorted(found, key=lambda b: (-b.most, b.client))
