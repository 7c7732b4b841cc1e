"""Writing pending logins into the htpasswd document, at the pace app.rollout decides.

One thread per process; the processes and replicas coordinate only through the documents. Each looks
at the latest state it knows and at the OAuth server's Deployment; when app.rollout says a write may
happen, it reads both documents afresh, decides again on what it read (another replica may have just
written: the write's time and the generation it saw travel with the Secret), and writes every pending
login in one compare-and-swap. Whoever loses that race finds the slot taken and waits for the rollout
the winner started. A pending row is in the roster, so any process of any replica publishes it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import threading
import time
from datetime import datetime, timezone

from app import activation, htpasswd, ledger, metrics, roster, seats
from app.errors import Conflict, StoreError
from app.files import Notices
from app.rollout import GENERATION, LastWrite, OAuthServer, Pace, next_write, rollout_in_progress
from app.store import Documents, State

log = logging.getLogger(__name__)
OBSERVATION_SECONDS = 1.0  # how long one look at the OAuth Deployment is trusted (and how often it is asked)
MAX_BACKOFF = 5.0


@dataclasses.dataclass(frozen=True)
class Status:
    """Publishing as the instructor and the attendees see it (times in epoch seconds)."""

    pending: int = 0
    oldest_pending: float | None = None
    last_write: float | None = None
    next_write: float | None = None  # when the pending logins are due (None: none pending)
    after_rollout: bool = False  # due once the OAuth rollout in progress completes, at the latest next_write
    why: str = ""
    rollout: str = "idle"  # "in progress", "idle" or "unseen"
    oauth: str = ""  # what was seen of the OAuth Deployment, or why it could not be seen
    at: float = 0.0  # when this was seen
    blocked: str = ""  # why nothing is written at all until someone acts (a shared Secret, not allowed)

    def due_in(self) -> float | None:
        """Seconds until the pending logins are written (at the latest, when after a rollout); None: none."""
        return None if self.next_write is None else max(0.0, self.next_write - self.at)


class Publisher:
    """Publishes every pending login in one write when the OAuth server can take it."""

    def __init__(self, documents: Documents, watch, pace: Pace, limits: ledger.Limits, idle: float = 5.0,
                 notices: Notices | None = None, state=None, on_published=None, shared: bool = True):
        self.documents = documents
        self.shared = shared  # may write into logins that hold lines this app did not add (HTPASSWD_SECRET_SHARED)
        self.again_window = seats.CLAIM_AGAIN_WINDOW  # a claimed seat's nonce is kept this long (app.seats)
        self.on_published = on_published  # called with the names each write of this process published
        self.state = state  # the EventState, where completed batches are recorded (None: not recorded)
        self._recorded: float | None = None  # the last write whose completed rollout this process recorded
        self.watch = watch  # .observe() -> OAuthServer
        self.notices = notices  # to say once per pod when the OAuth Deployment cannot be seen, and when it can
        self.pace = pace
        self.limits = limits
        self.idle = idle  # how often to look for pending rows when none is known
        self._seen: tuple[float, OAuthServer] | None = None
        self._backoff = 0.0
        self._wake = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Look at once (a registration was just reserved); starts the thread in this process if needed."""
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: threads do not survive fork
                self._pid = os.getpid()
                self._wake = threading.Event()
                threading.Thread(target=self._run, name="publisher", daemon=True).start()
        self._wake.set()

    start = wake

    def _run(self) -> None:
        while True:
            try:
                delay = self.step()
            except Exception:  # keep publishing whatever happens; the log says what
                log.exception("event=publish_failed reason=internal_error")
                delay = MAX_BACKOFF
            self._wake.wait(max(0.0, delay))
            self._wake.clear()

    def step(self, now: float | None = None) -> float:
        """Look, and write if it is time; return the seconds until the next look."""
        now = time.time() if now is None else now
        try:
            state = self.documents.latest()
            self._record_batch(state, now)
            self._forget_nonces(state, now)
            waiting = ledger.pending(state.logins.content, state.records)
            metrics.PENDING_LOGINS.set(len(waiting))
            if not waiting:
                return self.idle
            if self.blocked(state):
                return self.idle
            oauth = self.observe(now)
            decision = self._decide(now, state, waiting, oauth)
            if decision.at > now:
                return self._until(decision, now)
            state = self.documents.read()  # decide again on fresh documents: someone may just have written
            waiting = ledger.pending(state.logins.content, state.records)
            decision = self._decide(now, state, waiting, oauth) if waiting else None
            if decision is None or decision.at > now:
                return self._until(decision, now) if decision else self.idle
            delay = self._write(state, waiting, oauth, decision.why, now)
        except StoreError as error:
            self._backoff = min(MAX_BACKOFF, max(0.2, self._backoff * 2))
            log.warning("event=publish_deferred cause=%r retry_in=%.1fs", error.cause, self._backoff)
            return self._backoff
        self._backoff = 0.0
        return delay

    def observe(self, now: float | None = None) -> OAuthServer:
        """The OAuth Deployment as seen within the last OBSERVATION_SECONDS (asked again when older)."""
        now = time.time() if now is None else now
        seen = self._seen
        if seen is None or not 0 <= now - seen[0] < OBSERVATION_SECONDS:
            seen = (now, self.watch.observe())
            self._seen = seen
            metrics.OAUTH_ROLLOUT.set(-1 if not seen[1].seen else int(seen[1].rolling))
            self._say(seen[1])
        return seen[1]

    def _say(self, oauth: OAuthServer) -> None:
        """Say once in the pod's log that the OAuth Deployment cannot be seen (and why), or can be again."""
        if self.notices is None:
            return
        before = self.notices.change("oauth-rollout", "seen" if oauth.seen else f"unseen: {oauth.detail}",
                                     usual="seen")
        if before is not None and not oauth.seen:
            log.warning("event=oauth_rollout_unseen cause=%r consequence='htpasswd writes spaced by %g s'",
                        oauth.detail, self.pace.unseen_interval)
        elif before is not None:
            log.info("event=oauth_rollout_seen")

    def blocked(self, state: State) -> str:
        """Why no login may be written into these logins (lines this app did not add, without
        HTPASSWD_SECRET_SHARED), said once in the pod's log; "" when they may."""
        found = [] if self.shared else ledger.foreign(state.logins.content, state.records)
        why = (f"{self.documents.logins.label} holds {len(found)} lines this app did not add; it writes no login "
               "there unless HTPASSWD_SECRET_SHARED=true (whoever holds the app's token can then rewrite them: "
               "see the README)") if found else ""
        if self.notices is not None and self.notices.change("shared-logins", "blocked" if why else "ok",
                                                            usual="ok") is not None and why:
            log.error("event=logins_not_ours cause=%r fix='use the event's own Secret, or enable "
                      "openshift/extras/shared-htpasswd'", why)
        return why

    @classmethod
    def for_store(cls, store, provision: bool = True) -> Publisher:
        """The publisher for a store's documents and OAuth Deployment, with the settings' pace; with
        provision, its writes make the published attendees' projects in the background (PROJECT_TEMPLATE)."""
        settings = store.settings
        return cls(store.documents, store.rollout, Pace.for_settings(settings), ledger.Limits.for_settings(settings),
                   idle=settings.refresh_interval, notices=Notices(settings.data_dir), state=store.state,
                   on_published=provisioner(store.projects) if store.projects and provision else None,
                   shared=store.shared_logins)

    def settled(self, state: State, now: float) -> bool:
        """True once the OAuth rollout caused by the last write of the logins has completed (when the
        Deployment cannot be seen: once UNSEEN_ROLLOUT_INTERVAL, longer than a rollout, has passed)."""
        last = LastWrite.from_notes(state.logins.written_at, state.logins.notes)
        if last.at is None:
            return True
        oauth = self.observe(now)
        if not oauth.seen:
            return now >= last.at + self.pace.unseen_interval
        return not rollout_in_progress(now, last, oauth, self.pace)

    def login_states(self, now: float | None = None) -> dict[str, str]:
        """Each registered attendee's login state: pending, active or refused (app.activation)."""
        now = time.time() if now is None else now
        state = self.documents.latest()
        refused, confirmed = (self.state.refused(), self.state.confirmed()) if self.state else ({}, set())
        return activation.states(ledger.registered(state.logins.content, state.records),
                                 activation.unconfirmed(state.logins.notes), self.settled(state, now),
                                 refused, confirmed)

    def _record_batch(self, state: State, now: float) -> None:
        """Once the last write's rollout has completed, record it (once, by whichever replica sees it)."""
        written_at, names = state.logins.written_at, activation.unconfirmed(state.logins.notes)
        if self.state is None or written_at is None or not names or self._recorded == written_at:
            return
        if self.settled(state, now):
            self.state.record_batch(activation.Batch(written_at, now, len(names)))
            self._recorded = written_at

    def notes(self) -> dict[str, str]:
        """What a write of the logins records: the OAuth Deployment's generation seen just before it."""
        oauth = self.observe()
        return {GENERATION: str(oauth.generation)} if oauth.seen else {}

    def status(self, now: float | None = None) -> Status:
        """Pending logins, the OAuth rollout, the last write and when the next one is due."""
        now = time.time() if now is None else now
        state = self.documents.latest()
        waiting = ledger.pending(state.logins.content, state.records)
        oauth = self.observe(now)
        last = LastWrite.from_notes(state.logins.written_at, state.logins.notes)
        rolling = rollout_in_progress(now, last, oauth, self.pace)
        rollout = "unseen" if not oauth.seen else "in progress" if rolling else "idle"
        if not waiting:
            return Status(0, None, last.at, None, False, "nothing pending", rollout, oauth.detail, now)
        decision = self._decide(now, state, waiting, oauth)
        blocked = self.blocked(state)
        return Status(len(waiting), _oldest(waiting), last.at, None if blocked else max(now, decision.at),
                      decision.until_rollout, blocked or decision.why, rollout, oauth.detail, now, blocked)

    def _decide(self, now: float, state: State, waiting, oauth: OAuthServer):
        last = LastWrite.from_notes(state.logins.written_at, state.logins.notes)
        return next_write(now, _oldest(waiting), last, oauth, self.pace)

    def _until(self, decision, now: float) -> float:
        wait = decision.at - now
        return min(wait, OBSERVATION_SECONDS) if decision.until_rollout else min(wait, self.idle)

    def _write(self, state: State, waiting, oauth: OAuthServer, why: str, now: float) -> float:
        content = ledger.plan_logins(state.logins.content, state.records, self.limits)
        if content == state.logins.content:
            return self.idle  # nothing fits (the Secret is full): the roster says "full" to newcomers
        notes = {GENERATION: str(oauth.generation)} if oauth.seen else {}
        before = htpasswd.entries(state.logins.content)
        added = [name for name in htpasswd.entries(content) if name not in before]
        superseded = activation.unconfirmed(state.logins.notes) if not self.settled(state, now) else set()
        notes.update(activation.note(added, superseded))
        try:
            written = metrics.counted_write(self.documents.logins, "logins", state.logins, content, notes=notes)
        except Conflict:
            metrics.CONFLICTS.labels("logins").inc()
            return random.uniform(0, 0.05)  # someone else wrote: look again at what they did
        published = content.count(b"\n") - state.logins.content.count(b"\n")
        metrics.GROUP_SIZE.observe(published)
        metrics.LAST_LOGINS_WRITE.set(written.written_at or now)
        log.info("event=logins_published count=%d waited_s=%.0f oauth_generation=%s reason=%r", published,
                 now - _oldest(waiting), oauth.generation if oauth.seen else "unseen", why)
        self.documents.remember(State(written, state.roster, state.records))
        self._tidy(state, written)
        if self.on_published and added:
            self.on_published(added)
        return OBSERVATION_SECONDS

    def _forget_nonces(self, state: State, now: float) -> None:
        """Drop the nonces of seats claimed longer ago than CLAIM_AGAIN_WINDOW, so that their passwords can
        no longer be derived, even when no later claim comes to do it (the roster's version decides: a
        writer that lost the race leaves it to the next look)."""
        kept = seats.forget_nonces(state.records, datetime.fromtimestamp(now, timezone.utc), self.again_window)
        if kept is state.records:
            return
        try:
            written = metrics.counted_write(self.documents.roster, "roster", state.roster,
                                            roster.render_store(kept).encode())
        except Conflict:
            return
        self.documents.remember(State(state.logins, written, kept))
        log.info("event=seat_nonces_forgotten count=%d", sum(1 for a, b in zip(state.records, kept) if a != b))

    def _tidy(self, state: State, logins) -> None:
        """Drop the published hashes from the roster now; if the roster moved on, its next writer will."""
        tidy = ledger.normalise(logins.content, state.records)
        if tidy == state.records:
            return
        try:
            metrics.counted_write(self.documents.roster, "roster", state.roster, roster.render_store(tidy).encode())
        except StoreError:
            pass


def provisioner(projects):
    """What a write does next when PROJECT_TEMPLATE is set: make the published attendees' projects, in the
    background (publishing never waits for it; `python -m app projects` repeats it, idempotently)."""
    def provision(names: list[str]) -> None:
        def run() -> None:
            for name in names:
                try:
                    projects.ensure(name)
                except StoreError as error:
                    log.warning("event=project_failed username=%s cause=%r retry='python -m app projects'",
                                name, error.cause)
                except Exception:
                    log.exception("event=project_failed username=%s reason=internal_error", name)
        threading.Thread(target=run, name="projects", daemon=True).start()
    return provision


def _oldest(waiting) -> float:
    return min(r.registered_at.timestamp() for r in waiting)
