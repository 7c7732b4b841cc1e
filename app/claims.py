"""Claiming a seat from start to end (SEATS): the one path shared by the page and the JSON API.

The cheap checks come first, as for a registration (offered, the client's rate, open now, then the
access code: without it nothing else is said or read), then the email and a free seat on the latest
state; the reserver then decides for good, in the same group commit as registrations (app.seats). No hash
is made: a seat's line was written when the instructor made it, and its password is derived (app.seats).
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time
from collections.abc import Mapping
from datetime import datetime

from app import ledger, metrics, roster, rules, seats
from app.clock import SYSTEM
from app.documents import Reading
from app.errors import (
    AlreadyTaken,
    Conflict,
    InvalidRegistration,
    RegistrationError,
    SeatsTaken,
    ServiceUnavailable,
    StoreError,
)
from app.ledger import AGAIN_WINDOW, Line
from app.service import RegistrationService, record
from app.tickets import SharedKey

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SeatClaim:
    """A seat now this attendee's: its username and password (to be shown once), and its login state."""

    username: str
    password: str = dataclasses.field(repr=False)
    claimed_at: datetime
    line: Line = Line.PENDING
    again: bool = False  # the same claimant again within ledger.AGAIN_WINDOW
    token: str = dataclasses.field(default="", repr=False)  # handed to the claimant: shown again only with it


class ClaimService:
    """Hands out seats, through the registration service's gate and reserver."""

    def __init__(self, registrations: RegistrationService, key: SharedKey):
        self.registrations = registrations
        self.settings = registrations.settings
        self.store = registrations.store
        self.key = key  # the replicas' shared key: seats' passwords are derived with it

    def claim(self, form: Mapping[str, object], client: str) -> SeatClaim:
        """Give the attendee with this email (and the access code) a seat; raise RegistrationError."""
        started = time.monotonic()
        username = "-"
        try:
            self.registrations.admit(self.settings.seats, "This event has no seats to claim.", client)
            if not rules.access_code_matches(form.get("access_code"), self.settings):
                raise rules.wrong_access_code()
            email, problem = rules.check_email(form.get("email"))
            if problem:
                raise InvalidRegistration({"email": problem})
            self._precheck(email)
            claimed = self.registrations.reserver.claim(email, client)
            username = claimed.seat.username
            result = self._seat(claimed, form.get("claim_token"))
        except RegistrationError as error:
            record("seat_claim", username, error.outcome, error.reason, started)
            raise
        record("seat_claim", username, "claimed_again" if result.again else "claimed", "-", started)
        return result

    def seats_left(self) -> int | None:
        """How many seats are free now, as last read (None: seats off, or the documents unreadable)."""
        if not self.settings.seats:
            return None
        documents = self.store.documents
        try:
            return documents.index(documents.latest()).free_seats
        except StoreError:
            return None

    def _precheck(self, email: str) -> None:
        """"All seats are taken", or the email's registration, without a roster write (on a fresh read)."""
        def question(reading) -> tuple[bool, str | None]:
            index = self.store.documents.index(reading)
            holder = index.emails.get(rules.email_key(email))
            if holder is None:
                return bool(index.free_seats), None
            # this email's own seat: the reserver decides whether it may be shown again
            return any(r.seat and r.username.casefold() == holder for r in reading.records), holder
        try:
            ok, holder = self.store.documents.recheck(question, good=lambda answer: answer[0])
        except StoreError as error:
            raise ServiceUnavailable(error.cause) from None
        if ok:
            return
        if holder is not None:
            raise AlreadyTaken({"email": ledger.EMAIL_TAKEN})
        raise SeatsTaken()

    def _seat(self, claimed: seats.Claimed, shown: object) -> SeatClaim:
        """The seat's password and claim token; a seat claimed already only to whoever shows its token."""
        seat = claimed.seat
        try:
            key = self.key.get()
        except StoreError as error:
            raise ServiceUnavailable(error.cause) from None
        token = seats.claim_token(key, seat.username, seat.seat_nonce)
        if claimed.again and not (isinstance(shown, str) and hmac.compare_digest(shown.encode(), token.encode())):
            raise AlreadyTaken({"email": seats.seat_held(seat.username)})  # the email alone is not the claimant
        password = seats.password(key, seat.username, seat.seat_nonce)
        found = self.store.documents.line_of(seat.username)
        return SeatClaim(seat.username, password, seat.claimed_at, found[1] if found else Line.PENDING,
                         again=claimed.again, token=token)


class NonceExpiry:
    """Forgets the nonces of seats claimed longer ago than AGAIN_WINDOW, so that their passwords can no
    longer be derived, even when no later claim comes to do it (a runtime loop; app.seats' rule). The
    roster's version decides: a writer that lost the race leaves it to the next look."""

    def __init__(self, documents, interval: float, clock=SYSTEM, window=AGAIN_WINDOW):
        self.documents = documents
        self.interval = interval
        self.clock = clock
        self.window = window

    def step(self) -> float:
        try:
            self.forget(self.documents.latest(), self.clock.utc())
        except StoreError:
            pass  # the store says why, on /admin and in /readyz
        return self.interval

    def forget(self, reading, now) -> None:
        kept = seats.forget_nonces(reading.records, now, self.window)
        if kept is reading.records:
            return
        try:
            written = metrics.counted_write(self.documents.roster, "roster", reading.roster,
                                            roster.render_store(kept).encode())
        except Conflict:
            return
        self.documents.remember(Reading(reading.logins, written, kept))
        forgotten = sum(1 for a, b in zip(reading.records, kept, strict=True) if a != b)
        log.info("event=seat_nonces_forgotten count=%d", forgotten)
