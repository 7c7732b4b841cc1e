"""Group commit of registrations to the roster: the step that makes a registration durable.

One thread per process. Requests hand it a candidate (a registration carrying its htpasswd line, or a
claim for a seat) and wait; the thread writes every candidate that arrived meanwhile in one roster
write, and answers each once its row is stored (or with why not). A roster write makes OpenShift do
nothing, so it happens at once; the htpasswd Secret, whose every write rolls out the OAuth server, is
written later and at its own pace by app.publisher, which this wakes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from app import ledger, metrics, roster, seats
from app.errors import Conflict, RegistrationError, ServiceUnavailable, StoreUnavailable
from app.ledger import Login
from app.roster import Registration
from app.store import Documents, State

log = logging.getLogger(__name__)
MAX_BACKOFF = 2.0
# At most one roster write per this many seconds per process: a lone registration is stored at once, a
# burst's arrivals are stored together (every roster write moves the whole Secret through the API server
# and etcd, on the cores that also hash the passwords).
WRITE_GAP = 0.5


@dataclasses.dataclass(eq=False)
class _Waiter:
    candidate: Registration | seats.Claim
    deadline: float
    future: Future = dataclasses.field(default_factory=Future)

    def answer(self, result: Login | seats.Claimed) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, error: RegistrationError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Reserver:
    """Stores candidates' rows in the roster, in groups."""

    def __init__(self, documents: Documents, limits: ledger.Limits, timeout: float,
                 on_reserved: Callable[[], None] = lambda: None, again_window: timedelta = seats.CLAIM_AGAIN_WINDOW):
        self.documents = documents
        self.again_window = again_window
        self.limits = limits
        self.timeout = timeout
        self.on_reserved = on_reserved
        self._backoff = 0.0
        self._last_write = float("-inf")
        self._start_lock = threading.Lock()
        self._pid: int | None = None

    def submit(self, candidate: Registration) -> Login:
        """Block until the candidate's row is stored; its login is PENDING (or already ACTIVE).

        Raises RegistrationError: taken, full, or the store unavailable until COMMIT_TIMEOUT.
        """
        return self._wait(candidate)

    def claim(self, email: str) -> seats.Claimed:
        """Block until a seat is this email's in the stored roster; raise RegistrationError (all seats
        taken, the email holds a registration or a seat claimed too long ago, the store unavailable)."""
        return self._wait(seats.Claim(email, roster.now()))

    def _wait(self, candidate):
        waiter = _Waiter(candidate, deadline=time.monotonic() + self.timeout)
        self._start()
        self._queue.put(waiter)
        try:
            return waiter.future.result(timeout=self.timeout + 5)
        except FutureTimeout:
            raise ServiceUnavailable("reservation timed out") from None

    def _start(self) -> None:
        with self._start_lock:
            if self._pid != os.getpid():  # first use, or a forked child: threads do not survive fork
                self._queue: queue.SimpleQueue[_Waiter] = queue.SimpleQueue()
                threading.Thread(target=self._run, name="reserver", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = self._collect()
            try:
                self._reserve(batch)
            except Exception:  # a bug, not a store failure: answer everyone at once, keep the thread alive
                log.exception("event=reserve_failed reason=internal_error")
                for waiter in batch:
                    waiter.fail(ServiceUnavailable("internal error"))

    def _collect(self) -> list[_Waiter]:
        """Everyone waiting: block for the first, then, until WRITE_GAP after the last write, whoever else
        arrives."""
        arrivals = [self._queue.get()]
        while (wait := self._last_write + WRITE_GAP - time.monotonic()) > 0:
            try:
                arrivals.append(self._queue.get(timeout=wait))
            except queue.Empty:
                break
        while True:
            try:
                arrivals.append(self._queue.get_nowait())
            except queue.Empty:
                return arrivals

    def _reserve(self, arrivals: list[_Waiter]) -> None:
        """Write the arrivals' rows to the roster, then answer each."""
        while True:
            arrivals = self._expire(arrivals)
            if not arrivals:
                return
            try:
                # The roster first: rows are dropped by comparing them with the logins, which must be at
                # least as new, or a row published and tidied by another process meanwhile would look
                # like one whose login was removed (a login is always published after its row exists).
                snapshot = self.documents.roster.read()
                logins = self.documents.logins.read()
                records = self.documents.records(snapshot)
                registrations = [w for w in arrivals if isinstance(w.candidate, Registration)]
                claims = [w for w in arrivals if isinstance(w.candidate, seats.Claim)]
                plan = ledger.plan_roster(logins.content, records, [w.candidate for w in registrations],
                                          self.limits, stored_size=len(snapshot.content))
                given = seats.plan_claims(plan.records, [w.candidate for w in claims], self.again_window)
                if plan.changed or given.changed:
                    self._last_write = time.monotonic()
                    snapshot = metrics.counted_write(self.documents.roster, "roster", snapshot,
                                                     roster.render_store(given.records).encode())
                break
            except Conflict:
                metrics.CONFLICTS.labels("roster").inc()
                time.sleep(random.uniform(0, 0.01))
            except StoreUnavailable as error:
                if not self._back_off(min(w.deadline for w in arrivals), error):
                    for waiter in arrivals:
                        waiter.fail(ServiceUnavailable(error.cause))
                    return
        self._backoff = 0.0
        for number, error in plan.refused.items():
            registrations[number].fail(error)
        for number in plan.published:
            registrations[number].answer(Login.ACTIVE)
        for number in plan.reserved:
            registrations[number].answer(Login.PENDING)
        for number, error in given.refused.items():
            claims[number].fail(error)
        for number, claimed in given.claimed.items():
            claims[number].answer(claimed)
        self.documents.remember(State(logins, snapshot, given.records), mirror=False)
        if plan.reserved:
            self.on_reserved()

    def _back_off(self, deadline: float, error: StoreUnavailable) -> bool:
        """Wait before trying again; False when the deadline leaves no time for another try."""
        self._backoff = min(MAX_BACKOFF, max(0.1, self._backoff * 2))
        log.warning("event=store_unavailable cause=%r retry_in=%.1fs", error.cause, self._backoff)
        if time.monotonic() + self._backoff >= deadline:
            return False
        time.sleep(self._backoff)
        return True

    @staticmethod
    def _expire(waiters: list[_Waiter]) -> list[_Waiter]:
        now = time.monotonic()
        for waiter in waiters:
            if now >= waiter.deadline:
                waiter.fail(ServiceUnavailable("timed out waiting for the roster to be written"))
        return [w for w in waiters if not w.future.done()]

