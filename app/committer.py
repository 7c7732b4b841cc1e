"""Group commit of registrations to the two documents (see app.ledger for the two steps).

One thread per process. Requests hand it a candidate and wait. Arrivals are reserved in the roster at
once (a cheap write that OpenShift does not react to); logins are published at most once per
COMMIT_INTERVAL across every process and replica, because the interval is measured from the time the
logins were last written, which the documents record. Whoever publishes writes every fresh pending
login, so processes that lose the race find their lines already there. A request is answered once its
line is in the logins document, or with a clear error by its deadline; nothing is reported as created
that is not there.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import random
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from app import ledger, metrics, roster
from app.documents import Snapshot
from app.errors import AlreadyTaken, Conflict, RegistrationError, ServiceUnavailable, StoreUnavailable
from app.roster import Registration
from app.store import Documents, State

log = logging.getLogger(__name__)
MAX_BACKOFF = 2.0


@dataclasses.dataclass
class Stats:
    """This process's commit counters, for tests and debugging (Prometheus gets app.metrics)."""

    logins_writes: int = 0
    conflicts: int = 0
    failures: int = 0
    last_error: str | None = None


@dataclasses.dataclass(eq=False)
class _Waiter:
    candidate: Registration
    deadline: float
    future: Future = dataclasses.field(default_factory=Future)

    def succeed(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def fail(self, error: RegistrationError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Committer:
    """Commits candidates (registrations carrying their htpasswd line) in groups."""

    def __init__(self, documents: Documents, limits: ledger.Limits, interval: float, timeout: float):
        self.documents = documents
        self.logins = documents.logins
        self.roster = documents.roster
        self.limits = limits
        self.interval = interval
        self.timeout = timeout
        self.parse = documents.records
        self.stats = Stats()
        self._next_publish = 0.0
        # Reserve this long before the publish slot: one roster write per process per interval, early
        # enough for whichever process publishes to carry every reservation.
        self._lead = min(0.25, interval / 4)
        self._recent: tuple[float, Snapshot, Snapshot, list[Registration]] | None = None
        self._backoff = 0.0
        self._start_lock = threading.Lock()
        self._pid: int | None = None

    def submit(self, candidate: Registration) -> None:
        """Block until the candidate's login is in the logins document; raise RegistrationError if not."""
        waiter = _Waiter(candidate, deadline=time.monotonic() + self.timeout)
        self._start()
        self._queue.put(waiter)
        try:
            waiter.future.result(timeout=self.timeout + self.interval + 5)
        except FutureTimeout:
            raise ServiceUnavailable("commit timed out") from None

    def _start(self) -> None:
        with self._start_lock:
            if self._pid != os.getpid():  # first use, or a forked child: threads do not survive fork
                self._queue: queue.SimpleQueue[_Waiter] = queue.SimpleQueue()
                threading.Thread(target=self._run, name="committer", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        arriving: list[_Waiter] = []  # to be reserved, shortly before the next publish slot
        inflight: list[_Waiter] = []  # reserved, to be published
        while True:
            timers = ([self._next_publish - self._lead] if arriving else []) + ([self._next_publish] if inflight else [])
            arriving += self._collect(max(0.0, min(timers) - time.monotonic()) if timers else None)
            batch: list[_Waiter] = []
            try:
                if arriving and time.monotonic() >= self._next_publish - self._lead:
                    batch, arriving = arriving, []
                    inflight += self._reserve(batch)
                if inflight and time.monotonic() >= self._next_publish:
                    inflight = self._publish(inflight)
            except Exception:  # a bug, not a store failure: answer everyone at once, keep the thread alive
                log.exception("event=commit_failed reason=internal_error")
                for waiter in batch + arriving + inflight:
                    waiter.fail(ServiceUnavailable("internal error"))
                arriving, inflight = [], []
            arriving, inflight = self._expire(arriving), self._expire(inflight)

    def _collect(self, wait: float | None) -> list[_Waiter]:
        try:
            first = self._queue.get(timeout=wait) if wait is None or wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        arrivals = [first]
        while True:
            try:
                arrivals.append(self._queue.get_nowait())
            except queue.Empty:
                return arrivals

    def _reserve(self, arrivals: list[_Waiter]) -> list[_Waiter]:
        """Write the arrivals' rows to the roster; answer the refused; return the reserved."""
        deadline = min(w.deadline for w in arrivals)
        while True:
            try:
                # The roster first: rows are dropped by comparing them with the logins, which must be at
                # least as new, or a row published and tidied by another process meanwhile would look
                # like one whose login was removed (a login is always published after its row exists).
                snapshot = self.roster.read()
                logins = self.logins.read()
                records = self.parse(snapshot)
                plan = ledger.plan_roster(
                    logins.content, records, [w.candidate for w in arrivals], roster.now(), self.limits,
                    stored_size=len(snapshot.content),
                )
                if plan.changed:
                    snapshot = self._write("roster", self.roster, snapshot, roster.render_store(plan.records).encode())
                self._recent = (time.monotonic(), logins, snapshot, plan.records)
                break
            except Conflict:
                self.stats.conflicts += 1
                metrics.CONFLICTS.labels("roster").inc()
                time.sleep(random.uniform(0, 0.01))
            except StoreUnavailable as error:
                if not self._retry_until(deadline, error):
                    for waiter in arrivals:
                        waiter.fail(ServiceUnavailable(error.cause))
                    return []
        self._succeeded()
        self._learn(logins)
        for number, error in plan.refused.items():
            arrivals[number].fail(error)
        for number in plan.published:
            arrivals[number].succeed()
        return [arrivals[number] for number in plan.reserved]

    def _publish(self, inflight: list[_Waiter]) -> list[_Waiter]:
        """Publish pending logins when the interval allows; return the waiters still waiting."""
        try:
            logins, snapshot, records = self._just_reserved() or self._read_both()
            waiting = self._settle(inflight, logins)
            if not waiting or self._learn(logins) > 0:
                return waiting
            content = ledger.plan_logins(logins.content, records, roster.now(), self.limits)
            if content == logins.content:
                return waiting
            written = self._write("logins", self.logins, logins, content)
        except Conflict:
            self.stats.conflicts += 1
            metrics.CONFLICTS.labels("logins").inc()
            self._next_publish = time.monotonic() + random.uniform(0, 0.05)
            return inflight
        except StoreUnavailable as error:
            self._retry_until(None, error)
            self._next_publish = time.monotonic() + self._backoff
            return inflight
        self._succeeded()
        self.stats.logins_writes += 1
        published = content.count(b"\n") - logins.content.count(b"\n")
        metrics.GROUP_SIZE.observe(published)
        self._next_publish = time.monotonic() + self.interval
        self.documents.remember(State(written, snapshot, records))  # the mirror first: whoever is told "created" is in users.csv
        waiting = self._settle(waiting, written)
        self._tidy(snapshot, records, written)  # housekeeping after the answers
        return waiting

    def _just_reserved(self) -> tuple[Snapshot, Snapshot, list[Registration]] | None:
        """The snapshots a reservation made a moment ago (a lone registration needs no second read)."""
        recent, self._recent = self._recent, None
        if recent is None or time.monotonic() - recent[0] > 0.05:
            return None
        return recent[1], recent[2], recent[3]

    def _read_both(self) -> tuple[Snapshot, Snapshot, list[Registration]]:
        logins = self.logins.read()
        snapshot = self.roster.read()
        return logins, snapshot, self.parse(snapshot)

    def _tidy(self, snapshot: Snapshot, records: list[Registration], logins: Snapshot) -> None:
        """Drop the published hashes from the roster now; if the roster moved on, its next writer will."""
        tidy = ledger.normalise(logins.content, records, roster.now(), self.limits)
        if tidy == records:
            return
        try:
            self._write("roster", self.roster, snapshot, roster.render_store(tidy).encode())
        except (Conflict, StoreUnavailable):
            pass

    @staticmethod
    def _write(name: str, document, base: Snapshot, content: bytes) -> Snapshot:
        started = time.monotonic()
        written = document.write(base, content)
        metrics.WRITE_SECONDS.labels(name).observe(time.monotonic() - started)
        metrics.WRITES.labels(name).inc()
        return written

    def _settle(self, waiters: list[_Waiter], logins: Snapshot) -> list[_Waiter]:
        waiting = []
        for waiter in waiters:
            state = ledger.outcome(logins.content, waiter.candidate)
            if state == ledger.Login.PUBLISHED:
                waiter.succeed()
            elif state == ledger.Login.CLOBBERED:
                waiter.fail(AlreadyTaken({"username": ledger.USERNAME_TAKEN}))
            else:
                waiting.append(waiter)
        return waiting

    def _learn(self, logins: Snapshot) -> float:
        """Schedule the next publish from when the logins were last written; return the wait."""
        wait = 0.0
        if self.interval and logins.written_at is not None:
            wait = min(self.interval, max(0.0, logins.written_at + self.interval - time.time()))
        self._next_publish = time.monotonic() + wait
        return wait

    def _retry_until(self, deadline: float | None, error: StoreUnavailable) -> bool:
        """Back off after a store failure; False when the deadline leaves no time for another try."""
        self.stats.failures += 1
        self.stats.last_error = error.cause
        self._backoff = min(MAX_BACKOFF, max(0.1, self._backoff * 2))
        log.warning("event=store_unavailable cause=%r retry_in=%.1fs", error.cause, self._backoff)
        if deadline is not None:
            if time.monotonic() + self._backoff >= deadline:
                return False
            time.sleep(self._backoff)
        return True

    def _succeeded(self) -> None:
        self._backoff = 0.0
        self.stats.last_error = None

    def _expire(self, inflight: list[_Waiter]) -> list[_Waiter]:
        now = time.monotonic()
        for waiter in inflight:
            if now >= waiter.deadline:
                waiter.fail(ServiceUnavailable("timed out waiting for the logins to be written"))
        return [w for w in inflight if not w.future.done()]

