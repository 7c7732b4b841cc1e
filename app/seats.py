"""Seats: accounts the instructor makes ahead of time (`user1…userN`), handed out by claiming one.

A seat's password is never stored, in clear or otherwise: it is derived, when needed, from the key the
replicas share (app.tickets.SharedKey; in the registrations Secret) and the seat's nonce, 16 random bytes
kept in its row. HMAC-SHA256 is the derivation, under a key of its own made from the shared one, so the
nonce alone reveals nothing (users.csv has neither; the registrations Secret has both). The password
is shown when the seats are made (printed once, for printing) and to whoever claims the seat; a claimed
seat keeps its nonce only for CLAIM_AGAIN_WINDOW, so the same email can see it again after a lost page,
and then never again (ledger.forget_nonces): afterwards the instructor resets it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from app import passwords
from app.roster import Registration

# The same email gets its seat and password again only this long after claiming it (a reload, a lost tab);
# afterwards a claim with that email is refused and the instructor resets the seat's password.
CLAIM_AGAIN_WINDOW = timedelta(minutes=10)
SUBKEY_LABEL = b"workshop-registration seat passwords v1"


def new_nonce() -> str:
    """A fresh nonce for a seat (a new nonce is a new password)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def password(shared_key: bytes, username: str, nonce: str) -> str:
    """The seat's password (app.passwords' form), the same every time for the same key, name and nonce."""
    subkey = hmac.new(shared_key, SUBKEY_LABEL, hashlib.sha256).digest()
    return passwords.spell(int.from_bytes(hmac.new(subkey, f"{username}\0{nonce}".encode(), hashlib.sha256).digest(),
                                          "big"))


def names(prefix: str, start: int, count: int) -> list[str]:
    """The seats' usernames: prefix followed by start, start + 1, … (user1, user2, …)."""
    return [f"{prefix}{number}" for number in range(start, start + count)]


def row(username: str, line: bytes, nonce: str, made_at) -> Registration:
    """A new seat's roster row: its login pending, no email until it is claimed."""
    return Registration(username, "", "", made_at, pending_login=line.decode("ascii"), seat=True, seat_nonce=nonce)
