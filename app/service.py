"""Running a registration from start to end: the one path shared by the page and the JSON API.

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
from datetime import datetime

from app import htpasswd, ledger, metrics, roster, rules, schedule
from app.errors import (
    FORM,
    AlreadyTaken,
    EventEnded,
    NotOffered,
    NotRecognised,
    RateLimited,
    RegistrationClosed,
    RegistrationError,
    ServiceUnavailable,
    StoreError,
    WrongAccessCode,
)
from app.ledger import USERNAME_TAKEN, Line
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.roster import Registration
from app.settings import Settings
from app.store import Store

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Registered:
    """A durable registration: its line is PENDING (to be written) or WRITTEN (in the htpasswd document)."""

    username: str
    registered_at: datetime
    line: Line = Line.PENDING
    again: bool = False  # the same attendee again: signed back in, or registered again with the same details


class RegistrationService:
    """Validates, hashes and commits registrations."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        reserver: Reserver,
        limiter: ClientLimiter,
        make_entry: Callable[[str, str, int], bytes] = htpasswd.make_entry,
        per_name: ClientLimiter | None = None,
    ):
        self.settings = settings
        self.store = store
        self.reserver = reserver
        self.limiter = limiter
        self.make_entry = make_entry
        self.limits = reserver.limits
        self._hashing = threading.BoundedSemaphore(settings.hashing_slots)
        # Password checks per username (signing back in, registering again), whoever asks: a budget no
        # person exceeds, so that guessing one attendee's password here is as slow as it is anywhere.
        self.per_name = per_name or ClientLimiter(None, settings.data_dir)
        # A line no password matches, checked for names without one (costing what a real line does).
        self._decoy = htpasswd.decoy(settings.bcrypt_rounds)

    def closure(self) -> RegistrationClosed | None:
        """Why attendees may not register now (the switch, the schedule, REGISTRATION_OPEN, the event's end:
        EventEnded), or None."""
        try:
            window = self.store.state.window()
        except StoreError:
            ended = self.settings.schedule.ended(self.store.clock.utc())  # EVENT_ENDS_AT needs no reading
            return EventEnded(ended) if ended else None if self.settings.registration_open else RegistrationClosed()
        if window.open:
            return None
        if window.ended:
            return EventEnded(window.ended)
        return RegistrationClosed(schedule.moment(window.opens_at), window.opens_at) if window.opens_at else \
            RegistrationClosed()

    def admit(self, offered: bool, otherwise: str, client: str) -> None:
        """The first, cheapest checks of either way in (registering, claiming a seat, app.claims): offered
        at all, the client's rate, open now; raise RegistrationError."""
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
            self.admit(self.settings.self_registration, "This event hands out seats: claim one instead.", client)
            application = self._validate(form)
            username = application.username
            result = self._precheck(application)
            if result is None:
                self._refuse_a_name_the_cluster_holds(application.username)
                result = self._commit(application)
        except RegistrationError as error:
            record("registration", username, error.outcome, error.reason, started)
            raise
        record("registration", username, "registered_again" if result.again else "created", "-", started)
        return result

    def sign_back_in(self, form: Mapping[str, object], client: str) -> Registered:
        """An attendee back (a closed tab, another device): their username and password, with the access
        code, bring back their registration at any time, open or closed. After the rate limit and the code,
        one bcrypt check, for an unknown name too (against a decoy), and the same answer for either: names
        cannot be told apart here. Not after the event's end: its logins no longer work."""
        started = time.monotonic()
        username = "-"
        try:
            self.limiter.check(client)
            closed = self.closure()
            if isinstance(closed, EventEnded):
                raise closed
            if not rules.access_code_matches(form.get("access_code"), self.settings):
                raise rules.wrong_access_code()
            username, _ = rules.check_username(form.get("username"), self.settings)
            password = form.get("password")
            if not username or not isinstance(password, str) or not password:
                raise NotRecognised()
            wait = self._spent(username)
            if wait is not None:
                raise RateLimited(wait, f"Too many attempts for this username. Please wait {wait} seconds and "
                                  "try again.")
            try:
                result = self._same_attendee(username, password, fresh=False, counted=True)
            except StoreError as cause:
                raise ServiceUnavailable(cause.cause) from None
            if result is None:
                raise NotRecognised()
        except RegistrationError as error:
            record("sign_in", username or "-", error.outcome, error.reason, started)
            raise
        record("sign_in", username, "signed_in", "-", started)
        return result

    def _validate(self, form: Mapping[str, object]) -> rules.Application:
        """The rules, plus "taken" for a valid username, so that an attendee choosing one hears it with
        every other problem at once. Never whether an email is registered: that is said only after a hash
        (see _precheck), so that emails cannot be looked up for free."""
        try:
            return rules.validate(form, self.settings)
        except WrongAccessCode:
            raise  # without the code nothing else is said: no taken names or emails to enumerate
        except RegistrationError as error:
            username, _ = rules.check_username(form.get("username"), self.settings)
            if username:
                with contextlib.suppress(StoreError):
                    documents = self.store.documents
                    taken = documents.index(documents.latest()).taken(username, "")
                    error.errors.update({k: v for k, v in taken.items() if k == "username" and k not in error.errors})
            raise

    def _precheck(self, application: rules.Application) -> Registered | None:
        """Refuse a taken name or email, or a full event, before paying for a hash.

        The same attendee registering again with the same username and password (a retry after a lost
        answer, a double click, a closed tab days later) gets their registration back instead of "taken",
        whether its login is written yet or not. An answer other than "go ahead" is never given on the refresher's copy
        alone: it is checked on a fresh read.
        """
        probe = _candidate(application, pending_login="")
        documents = self.store.documents
        try:
            error = documents.recheck(lambda reading: ledger.refusal(probe, documents.index(reading), self.limits),
                                      good=lambda refusal: refusal is None)
        except StoreError as cause:
            raise ServiceUnavailable(cause.cause) from None
        if error is None:
            return None
        if isinstance(error, AlreadyTaken) and "username" in error.errors:
            again = self._same_attendee(application.username, application.password, fresh=False)
            if again:
                return again
        if isinstance(error, AlreadyTaken) and set(error.errors) == {"email"}:
            return None  # an email held already: refused by the reserver, after the hash was paid for
        raise error

    def _refuse_a_name_the_cluster_holds(self, username: str) -> None:
        """"Taken", in the same words as any taken name, when an OpenShift User of this name is mapped to an
        identity (app.parts.Users.held: another provider's, or a removed attendee's), or when the name was
        removed and its User may still be there (app.eventstate.retired: until it is seen gone, or an admin
        says so with `unblock`). One API read at most, only for a registration that passed every other
        check (and only where the opt-in right to read Users is granted)."""
        if self.store.users.held(username):
            raise AlreadyTaken({"username": USERNAME_TAKEN})
        if username in self.store.state.retired() and username in self.store.state.retired(fresh=True):
            if self.store.users.exists(username) is not False:  # removed, its User and Identity maybe there
                raise AlreadyTaken({"username": USERNAME_TAKEN})
            self.store.state.unretire({username})  # seen gone

    def _same_attendee(self, username: str, password: str, fresh: bool, counted: bool = False) -> Registered | None:
        """The attendee's own registration when the password matches its line, at any time of the event
        (one bcrypt check, in a hashing slot; for a name without a line, against a decoy). Each check
        counts against the name's budget (`per_name`, unless the caller counted it): past it, no check,
        and the name is simply taken."""
        if not counted and self._spent(username) is not None:
            return None
        found = self.store.documents.line_of(username, fresh=fresh)
        record = next((r for r in self.store.documents.latest().records if r.username == username), None)
        with self._hashing:
            if found is None or record is None:
                htpasswd.verify(self._decoy, password)  # the same time as a wrong password
                return None
            if not htpasswd.verify(found[0], password):
                return None
        return Registered(record.username, record.registered_at, found[1], again=True)

    def _spent(self, username: str) -> int | None:
        """Count one password check against the name's budget; the seconds to wait when it is spent."""
        try:
            self.per_name.check(username)
        except RateLimited as limited:
            log.warning("event=password_checks_flood username=%s", username)
            return limited.retry_after
        return None

    def _commit(self, application: rules.Application) -> Registered:
        with self._hashing:
            entry = self.make_entry(application.username, application.password, self.settings.bcrypt_rounds)
        candidate = _candidate(application, pending_login=entry.decode("ascii"))
        try:
            line = self.reserver.submit(candidate)
        except AlreadyTaken as error:
            # Two identical attempts at once (a double click): the first holds the name; the second is
            # the same attendee again, not someone taking their name.
            again = "username" in error.errors and self._same_attendee(application.username, application.password,
                                                                       fresh=True)
            if again:
                return again
            raise
        return Registered(candidate.username, candidate.registered_at, line)

def _candidate(application: rules.Application, pending_login: str) -> Registration:
    return Registration(
        application.username, application.full_name, application.email, roster.now(), pending_login=pending_login
    )


def record(event: str, username: str, outcome: str, reason: str, started: float) -> None:
    """One log line and the metrics for an attempt's outcome (never a password, hash or access code)."""
    took = time.monotonic() - started
    metrics.REGISTRATIONS.labels(outcome).inc()
    metrics.REGISTRATION_SECONDS.observe(took)
    log.info("event=%s outcome=%s username=%s reason=%r duration_ms=%.0f", event, outcome, username, reason,
             took * 1000)
