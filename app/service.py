"""Running a registration (or a seat's claim) from start to end: the one path shared by the page and the
JSON API.

Order matters for cost: the rate limit, the rules and the uniqueness pre-check are cheap and come
before the bcrypt hash (deliberately slow); the reserver then decides for good against the stored
documents. The attendee is answered once the registration is durable (its row, with the hashed line,
in the roster); the login itself is written later by app.publisher, at the pace the OAuth server can
take. One log line per outcome, never with a password, hash or access code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from app import htpasswd, ledger, metrics, roster, rules, schedule, seats
from app.errors import (
    FORM,
    AlreadyTaken,
    InvalidRegistration,
    NotOffered,
    RegistrationClosed,
    RegistrationError,
    ServiceUnavailable,
    SeatsTaken,
    StoreError,
    WrongAccessCode,
)
from app.ledger import USERNAME_TAKEN, Login
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.roster import Registration
from app.settings import Settings
from app.store import Store
from app.tickets import SharedKey

log = logging.getLogger(__name__)
# "Register again" answers the same attendee (a double click, a retry after a lost answer) only this long
# after the registration: afterwards the same details are just "taken", so the API is no lasting oracle
# for the password of someone whose username and email are known.
AGAIN_WINDOW = timedelta(minutes=10)


@dataclasses.dataclass(frozen=True)
class Registered:
    """A durable registration: its login is PENDING (to be written) or ACTIVE (in the htpasswd document)."""

    username: str
    registered_at: datetime
    login: Login = Login.PENDING
    again: bool = False  # the same attendee registered again with the same details


@dataclasses.dataclass(frozen=True)
class SeatClaim:
    """A seat now this attendee's: its username and password (to be shown once), and its login state."""

    username: str
    password: str = dataclasses.field(repr=False)
    claimed_at: datetime
    login: Login = Login.PENDING
    again: bool = False  # the same email claimed again within seats.CLAIM_AGAIN_WINDOW


class RegistrationService:
    """Validates, hashes and commits registrations; hands out seats."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        reserver: Reserver,
        limiter: ClientLimiter,
        make_entry: Callable[[str, str, int], bytes] = htpasswd.make_entry,
        key: SharedKey | None = None,
    ):
        self.settings = settings
        self.store = store
        self.reserver = reserver
        self.limiter = limiter
        self.make_entry = make_entry
        self.key = key or SharedKey(store.key)  # seats' passwords are derived with it (app.seats)
        self.limits = reserver.limits
        self._hashing = threading.BoundedSemaphore(settings.hashing_slots)

    def closure(self) -> RegistrationClosed | None:
        """Why attendees may not register now (the switch, the schedule, REGISTRATION_OPEN), or None."""
        try:
            window = self.store.state.window()
        except StoreError:
            return None if self.settings.registration_open else RegistrationClosed()
        if window.open:
            return None
        return RegistrationClosed(schedule.moment(window.opens_at) if window.opens_at else None)

    def _admit(self, offered: bool, otherwise: str, client: str) -> None:
        """The first, cheapest checks of either way in: offered at all, the client's rate, open now."""
        if not offered:
            raise NotOffered({FORM: otherwise})
        self.limiter.check(client)
        closed = self.closure()
        if closed:
            raise closed

    def register(self, form: Mapping[str, object], client: str) -> Registered:
        """Register the attendee described by the form; raise RegistrationError with what went wrong."""
        started = time.monotonic()
        username = "-"
        try:
            self._admit(self.settings.self_registration, "This event hands out seats: claim one instead.", client)
            application = self._validate(form)
            username = application.username
            result = self._precheck(application)
            if result is None:
                self._refuse_a_name_the_cluster_holds(application.username)
                result = self._commit(application)
        except RegistrationError as error:
            _log_outcome(username, error.outcome, error.reason, started)
            _count(error.outcome, started)
            raise
        _log_outcome(username, "registered_again" if result.again else "created", "-", started)
        _count("registered_again" if result.again else "created", started)
        return result

    def _validate(self, form: Mapping[str, object]) -> rules.Application:
        """The rules, plus "taken" for a valid username or email, so every problem shows at once."""
        try:
            return rules.validate(form, self.settings)
        except WrongAccessCode:
            raise  # without the code nothing else is said: no taken names or emails to enumerate
        except RegistrationError as error:
            username, _ = rules.check_username(form.get("username"), self.settings)
            email, _ = rules.check_email(form.get("email"))
            if username or email:
                with contextlib.suppress(StoreError):
                    documents = self.store.documents
                    taken = documents.index(documents.latest()).taken(username, email)
                    error.errors.update({k: v for k, v in taken.items() if k not in error.errors})
            raise

    def _precheck(self, application: rules.Application) -> Registered | None:
        """Refuse a taken name or email, or a full event, before paying for a hash.

        The same attendee registering again with the same username, email and password (a retry after a
        lost answer, a double click) gets their registration back instead of "taken", whether its login
        is written yet or not. An answer other than "go ahead" is never given on the refresher's copy
        alone: it is checked on a fresh read.
        """
        probe = _candidate(application, pending_login="")
        for fresh in (False, True):
            try:
                state = self.store.documents.latest(fresh=fresh)
            except StoreError as error:
                raise ServiceUnavailable(error.cause) from None
            error = self.store.documents.index(state).refusal(probe, self.limits)
            if error is None:
                return None
        if isinstance(error, AlreadyTaken) and "username" in error.errors:
            again = self._same_attendee(application, fresh=False)
            if again:
                return again
        raise error

    def _refuse_a_name_the_cluster_holds(self, username: str) -> None:
        """"Taken", in the same words as any taken name, when an OpenShift User of this name belongs to
        someone from another identity provider: with mappingMethod claim its login would always fail.
        One API read, only for a registration that passed every other check (and only where the opt-in
        right to read Users is granted; otherwise nothing is known and nothing is refused)."""
        if self.store.users.held_elsewhere(username):
            raise AlreadyTaken({"username": USERNAME_TAKEN})

    def _same_attendee(self, application: rules.Application, fresh: bool) -> Registered | None:
        """The attendee's own recent registration when the username, email and password all match (the
        password is only checked for a registration of this username and email made within AGAIN_WINDOW)."""
        found = self.store.documents.login_of(application.username, fresh=fresh)
        recent = roster.now() - AGAIN_WINDOW
        record = next((r for r in self.store.documents.latest().records if r.username == application.username
                       and r.registered_at >= recent and rules.email_key(r.email) == rules.email_key(application.email)),
                      None)
        if found is None or record is None or not htpasswd.verify(found[0], application.password):
            return None
        return Registered(record.username, record.registered_at, found[1], again=True)

    def _commit(self, application: rules.Application) -> Registered:
        with self._hashing:
            entry = self.make_entry(application.username, application.password, self.settings.bcrypt_rounds)
        candidate = _candidate(application, pending_login=entry.decode("ascii"))
        try:
            login = self.reserver.submit(candidate)
        except AlreadyTaken as error:
            # Two identical attempts at once (a double click): the first holds the name; the second is
            # the same attendee again, not someone taking their name.
            again = "username" in error.errors and self._same_attendee(application, fresh=True)
            if again:
                return again
            raise
        return Registered(candidate.username, candidate.registered_at, login)

    def claim(self, form: Mapping[str, object], client: str) -> SeatClaim:
        """Give the attendee with this email (and the access code) a seat; raise RegistrationError.

        The cheap checks come first (the limit, the switch, the code, the email, a free seat on a fresh
        read); then the reserver decides for good, in the same group commit as registrations. No hash is
        made: the seat's line was written when the instructor made it.
        """
        started = time.monotonic()
        username = "-"
        try:
            self._admit(self.settings.seats, "This event has no seats to claim.", client)
            if not rules.access_code_matches(form.get("access_code"), self.settings):
                raise rules.wrong_access_code()
            email, problem = rules.check_email(form.get("email"))
            if problem:
                raise InvalidRegistration({"email": problem})
            self._precheck_claim(email)
            claimed = self.reserver.claim(email)
            username = claimed.seat.username
            result = self._seat(claimed)
        except RegistrationError as error:
            _log_claim(username, error.outcome, error.reason, started)
            _count(error.outcome, started)
            raise
        outcome = "claimed_again" if result.again else "claimed"
        _log_claim(username, outcome, "-", started)
        _count(outcome, started)
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

    def _precheck_claim(self, email: str) -> None:
        """"All seats are taken", or the email's registration, without a roster write (on a fresh read)."""
        for fresh in (False, True):
            try:
                state = self.store.documents.latest(fresh=fresh)
            except StoreError as error:
                raise ServiceUnavailable(error.cause) from None
            index = self.store.documents.index(state)
            holder = index.emails.get(rules.email_key(email))
            if holder is None and index.free_seats:
                return
            if holder is not None and any(r.seat and r.username.casefold() == holder for r in state.records):
                return  # this email's own seat: the reserver decides whether it may be shown again
        if holder is not None:
            raise AlreadyTaken({"email": ledger.EMAIL_TAKEN})
        raise SeatsTaken()

    def _seat(self, claimed: ledger.Claimed) -> SeatClaim:
        seat = claimed.seat
        try:
            password = seats.password(self.key.get(), seat.username, seat.seat_nonce)
        except StoreError as error:
            raise ServiceUnavailable(error.cause) from None
        found = self.store.documents.login_of(seat.username)
        login = found[1] if found else Login.PENDING
        return SeatClaim(seat.username, password, seat.claimed_at, login, again=claimed.again)


def _candidate(application: rules.Application, pending_login: str) -> Registration:
    return Registration(
        application.username, application.full_name, application.email, roster.now(), pending_login=pending_login
    )


def _count(outcome: str, started: float) -> None:
    metrics.REGISTRATIONS.labels(outcome).inc()
    metrics.REGISTRATION_SECONDS.observe(time.monotonic() - started)


def _log_outcome(username: str, outcome: str, reason: str, started: float, event: str = "registration") -> None:
    took = (time.monotonic() - started) * 1000
    log.info("event=%s outcome=%s username=%s reason=%r duration_ms=%.0f", event, outcome, username, reason, took)


def _log_claim(username: str, outcome: str, reason: str, started: float) -> None:
    _log_outcome(username, outcome, reason, started, event="seat_claim")
