"""Group commit of registrations to the roster: the step that makes a registration durable.

A worker of app.runtime in every process. Requests hand it a candidate (a registration carrying its
htpasswd line, or a claim for a seat) and wait; it writes every candidate that arrived meanwhile in one
roster write, and answers each once its row is stored (or with why not). A roster write makes OpenShift
do nothing, so it happens at once; the logins are handed over later and at their own pace
(app.handover), which this wakes. `tidy` keeps the roster as the ledger says after a write of the logins.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from app import ledger, metrics, roster, seats
from app.clock import SYSTEM, Clock
from app.documents import Documents, Reading
from app.errors import Conflict, RegistrationError, ServiceUnavailable, StoreError, StoreUnavailable
from app.ledger import AGAIN_WINDOW, Line
from app.roster import Registration
from app.runtime import Backoff

log = logging.getLogger(__name__)
# At most one roster write per this many seconds per process: a lone registration is stored at once, a
# burst's arrivals are stored together (every roster write moves the whole Secret through the API server
# and etcd, on the cores that also hash the passwords).
WRITE_GAP = 0.5


@dataclasses.dataclass(eq=False)
class _Waiter:
    candidate: Registration | seats.Claim
    deadline: float
    future: Future = dataclasses.field(default_factory=Future)

    def answer(self, result: Line | seats.Claimed) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, error: RegistrationError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Reserver:
    """Stores candidates' rows in the roster, in groups (the runtime's worker "reserver")."""

    name = "reserver"

    def __init__(self, documents: Documents, limits: ledger.Limits, timeout: float, clock: Clock = SYSTEM,
                 on_reserved: Callable[[], None] = lambda: None, again_window: timedelta = AGAIN_WINDOW):
        self.documents = documents
        self.again_window = again_window
        self.limits = limits
        self.timeout = timeout
        self.clock = clock
        self.on_reserved = on_reserved
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._backoff = Backoff()
        self._last_write = float("-inf")
        self._stopping: threading.Event | None = None  # set while run() runs

    def submit(self, candidate: Registration) -> Line:
        """Block until the candidate's row is stored; its line is PENDING (or already WRITTEN).

        Raises RegistrationError: taken, full, or the store unavailable until COMMIT_TIMEOUT.
        """
        return self._wait(candidate)

    def claim(self, email: str, client: str = "") -> seats.Claimed:
        """Block until a seat is this email's in the stored roster; raise RegistrationError (all seats
        taken, the email holds a registration or a seat claimed too long ago, the store unavailable)."""
        return self._wait(seats.Claim(email, self.clock.utc(), client))

    def _wait(self, candidate):
        if self._stopping is None or self._stopping.is_set():
            raise ServiceUnavailable("the background work of this process is not running")
        waiter = _Waiter(candidate, deadline=self.clock.monotonic() + self.timeout)
        self._queue.put(waiter)
        try:
            return waiter.future.result(timeout=self.timeout + 5)
        except FutureTimeout:
            raise ServiceUnavailable("reservation timed out") from None

    def interrupt(self) -> None:
        self._queue.put(None)

    def run(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        while not stopping.is_set():
            batch = self._collect()
            try:
                self._reserve(batch)
            except Exception:  # a bug, not a store failure: answer everyone at once, keep the worker alive
                log.exception("event=reserve_failed reason=internal_error")
                for waiter in batch:
                    waiter.fail(ServiceUnavailable("internal error"))
        self._stopping = None
        while True:  # whoever still waits is told at once, not when their deadline passes
            try:
                waiter = self._queue.get_nowait()
            except queue.Empty:
                return
            if waiter is not None:
                waiter.fail(ServiceUnavailable("this process is stopping"))

    def _collect(self) -> list[_Waiter]:
        """Everyone waiting: block for the first, then, until WRITE_GAP after the last write, whoever else
        arrives (a None is the runtime asking the worker to look at its stop)."""
        arrivals = [self._queue.get()]
        while (wait := self._last_write + WRITE_GAP - self.clock.monotonic()) > 0:
            try:
                arrivals.append(self._queue.get(timeout=wait))
            except queue.Empty:
                break
        while True:
            try:
                arrivals.append(self._queue.get_nowait())
            except queue.Empty:
                return [waiter for waiter in arrivals if waiter is not None]

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
                    self._last_write = self.clock.monotonic()
                    snapshot = metrics.counted_write(self.documents.roster, "roster", snapshot,
                                                     roster.render_store(given.records).encode())
                break
            except Conflict:
                metrics.CONFLICTS.labels("roster").inc()
                time.sleep(random.uniform(0, 0.01))  # jitter: let the other writer finish, then read again
            except StoreUnavailable as error:
                if not self._back_off(min(w.deadline for w in arrivals), error):
                    for waiter in arrivals:
                        waiter.fail(ServiceUnavailable(error.cause))
                    return
        self._backoff.reset()
        for number, error in plan.refused.items():
            registrations[number].fail(error)
        for number in plan.written:
            registrations[number].answer(Line.WRITTEN)
        for number in plan.reserved:
            registrations[number].answer(Line.PENDING)
        for number, error in given.refused.items():
            claims[number].fail(error)
        for number, claimed in given.claimed.items():
            claims[number].answer(claimed)
        self.documents.remember(Reading(logins, snapshot, given.records), mirror=False)
        if plan.reserved:
            self.on_reserved()

    def _back_off(self, deadline: float, error: StoreUnavailable) -> bool:
        """Wait before trying again; False when the deadline leaves no time for another try."""
        wait = self._backoff.next()
        log.warning("event=store_unavailable cause=%r retry_in=%.1fs", error.cause, wait)
        if self.clock.monotonic() + wait >= deadline:
            return False
        stopping = self._stopping  # stopping: answer now rather than after more tries
        return not (stopping is not None and stopping.wait(wait))

    def _expire(self, waiters: list[_Waiter]) -> list[_Waiter]:
        now = self.clock.monotonic()
        for waiter in waiters:
            if now >= waiter.deadline:
                waiter.fail(ServiceUnavailable("timed out waiting for the roster to be written"))
        return [w for w in waiters if not w.future.done()]


def tidy(documents: Documents, reading: Reading) -> None:
    """After a write of the logins: drop the written hashes from the roster now (app.ledger.normalise);
    if the roster moved on meanwhile, its next writer does it."""
    kept = ledger.normalise(reading.logins.content, reading.records)
    if kept == reading.records:
        return
    try:
        metrics.counted_write(documents.roster, "roster", reading.roster, roster.render_store(kept).encode())
    except StoreError:
        pass
