"""Writing pending logins into the htpasswd document, at the pace app.rollout decides: its one job.

A loop of app.runtime in every process; the processes and replicas coordinate only through the
documents. Each looks at the latest reading it knows and at the OAuth server's Deployment (app.oauthwatch);
when app.rollout says a write may happen, it reads both documents afresh, decides again on what it read
(another replica may have just written: the write's time and the generation it saw travel with the
Secret), and writes every pending login in one compare-and-swap. Whoever loses that race finds the slot
taken and waits for the rollout the winner started. A pending row is in the roster, so any process of
any replica publishes it. What follows a write (tidying the roster, the attendees' projects) listens to it.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Sequence

from app import activation, htpasswd, ledger, metrics, roster
from app.clock import SYSTEM, Clock
from app.documents import Documents, Reading, roster_records
from app.errors import Conflict, StoreError
from app.files import Notices
from app.oauthwatch import OBSERVATION_SECONDS, OAuthWatch
from app.rollout import GENERATION, LastWrite, OAuthServer, Pace, next_write
from app.runtime import Backoff

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Status:
    """Publishing as the instructor and the attendees see it (times in epoch seconds)."""

    pending: int = 0
    oldest_pending: float | None = None
    last_write: float | None = None
    next_write: float | None = None  # when the pending logins are due (None: none pending, or blocked)
    after_rollout: bool = False  # due once the OAuth rollout in progress completes, at the latest next_write
    why: str = ""
    rollout: str = "idle"  # "in progress", "idle" or "unseen"
    oauth: str = ""  # what was seen of the OAuth Deployment, or why it could not be seen
    at: float = 0.0  # when this was seen
    blocked: str = ""  # why nothing is written at all until someone acts (a shared Secret, not allowed)

    def due_in(self) -> float | None:
        """Seconds until the pending logins are written (at the latest, when after a rollout); None: none."""
        return None if self.next_write is None else max(0.0, self.next_write - self.at)

    def lines(self) -> list[str]:
        """Publishing in a few lines an instructor can read: pending logins, the OAuth rollout, the last
        write and when the next one is due."""
        last = _clock(self.last_write) if self.last_write else "never"
        if self.pending:
            when = (f"never until this is fixed: {self.blocked}" if self.blocked else
                    f"once the OAuth rollout completes (at the latest {_clock(self.next_write)})"
                    if self.after_rollout else f"at {_clock(self.next_write)} ({self.why})")
            logins = "1 pending login" if self.pending == 1 else f"{self.pending} pending logins"
            found = [f"next write of the {logins} {when} (the oldest registered at {_clock(self.oldest_pending)})"]
        else:
            found = []  # how many wait is said with the other counts
        found.append(f"last write of the logins: {last}")
        rollout = {"in progress": f"rolling out ({self.oauth or 'after our last write'})",
                   "idle": self.oauth or "idle",
                   "unseen": f"cannot be seen: {self.oauth}; writes are spaced instead"}[self.rollout]
        found.append(f"OAuth server: {rollout}")
        return found


@dataclasses.dataclass(frozen=True)
class Policy:
    """What a publisher may do: its pace, the documents' limits, whether it may write beside lines it did
    not add (HTPASSWD_SECRET_SHARED, or a local file), and how often it looks when nothing is known."""

    pace: Pace = Pace()
    limits: ledger.Limits = ledger.Limits()
    shared: bool = True
    idle: float = 5.0

    @classmethod
    def for_store(cls, store) -> Policy:
        settings = store.settings
        return cls(Pace.for_settings(settings), ledger.Limits.for_settings(settings), store.shared_logins,
                   settings.refresh_interval)


# Called after each write of this process with the reading it made and the names it added.
Listener = Callable[[Reading, list[str]], None]


class Publisher:
    """Publishes every pending login in one write when the OAuth server can take it."""

    def __init__(self, documents: Documents, watch: OAuthWatch, policy: Policy, clock: Clock = SYSTEM,
                 notices: Notices | None = None, listeners: Sequence[Listener] = (), ended=lambda: None):
        self.documents = documents
        self.ended = ended  # when the event ended: from then on, no login is written (app.ending)
        self.watch = watch
        self.policy = policy
        self.clock = clock
        self.notices = notices  # to say once per pod that the logins are someone else's too
        self.listeners = list(listeners)
        self._backoff = Backoff()

    def step(self, now: float | None = None) -> float:
        """Look, and write if it is time; return the seconds until the next look."""
        now = self.clock.now() if now is None else now
        try:
            reading = self.documents.latest()
            waiting = ledger.pending(reading.logins.content, reading.records)
            metrics.PENDING_LOGINS.set(len(waiting))
            if not waiting or self.blocked(reading) or self.ended() is not None:
                return self.policy.idle
            oauth = self.watch.observe(now)
            decision = self._decide(now, reading, waiting, oauth)
            if decision.at > now:
                return self._until(decision, now)
            reading = self.documents.read()  # decide again on fresh documents: someone may just have written
            waiting = ledger.pending(reading.logins.content, reading.records)
            decision = self._decide(now, reading, waiting, oauth) if waiting else None
            if decision is None or decision.at > now:
                return self._until(decision, now) if decision else self.policy.idle
            delay = self._write(reading, waiting, oauth, decision.why, now)
        except StoreError as error:
            retry = self._backoff.next()
            log.warning("event=publish_deferred cause=%r retry_in=%.1fs", error.cause, retry)
            return retry
        self._backoff.reset()
        return delay

    def blocked(self, reading: Reading) -> str:
        """Why no login may be written into these logins (lines this app did not add, without
        HTPASSWD_SECRET_SHARED), said once in the pod's log; "" when they may."""
        found = [] if self.policy.shared else ledger.foreign(reading.logins.content, reading.records)
        why = (f"{self.documents.logins.label} holds {len(found)} lines this app did not add; it writes no login "
               "there unless HTPASSWD_SECRET_SHARED=true (whoever holds the app's token can then rewrite them: "
               "see docs/security.md)") if found else ""
        if self.notices is not None and self.notices.change("shared-logins", "blocked" if why else "ok",
                                                            usual="ok") is not None and why:
            log.error("event=logins_not_ours cause=%r fix='use the event's own Secret, or enable "
                      "openshift/extras/shared-htpasswd'", why)
        return why

    def status(self, now: float | None = None) -> Status:
        """Pending logins, the OAuth rollout, the last write and when the next one is due."""
        now = self.clock.now() if now is None else now
        reading = self.documents.latest()
        waiting = ledger.pending(reading.logins.content, reading.records)
        oauth = self.watch.observe(now)
        last = LastWrite.from_notes(reading.logins.written_at, reading.logins.notes)
        rolling = self.watch.rolling(reading.logins, now)
        rollout = "unseen" if not oauth.seen else "in progress" if rolling else "idle"
        if not waiting:
            return Status(0, None, last.at, None, False, "nothing pending", rollout, oauth.detail, now)
        decision = self._decide(now, reading, waiting, oauth)
        blocked = self.blocked(reading)
        return Status(len(waiting), _oldest(waiting), last.at, None if blocked else max(now, decision.at),
                      decision.until_rollout, blocked or decision.why, rollout, oauth.detail, now, blocked)

    def _still_pending(self, reading: Reading, content: bytes, added: list[str]) -> bool:
        """Whether every line this write adds is still a pending row, not ended, of the roster as it is now: a
        publisher that read the roster before the event's end (or a removal) and the logins after it would
        otherwise write a line back. One version look; the roster again only when it moved on."""
        if self.documents.roster.version() == reading.roster.version:
            return True
        rows = {r.username.casefold(): r for r in roster_records(self.documents.roster.read().content)}
        lines = htpasswd.entries(content)
        return all(name in rows and not rows[name].ended and rows[name].pending_login.encode() == lines[name]
                   for name in added)

    def _decide(self, now: float, reading: Reading, waiting, oauth: OAuthServer):
        last = LastWrite.from_notes(reading.logins.written_at, reading.logins.notes)
        return next_write(now, _oldest(waiting), last, oauth, self.policy.pace)

    def _until(self, decision, now: float) -> float:
        wait = decision.at - now
        return min(wait, OBSERVATION_SECONDS) if decision.until_rollout else min(wait, self.policy.idle)

    def _write(self, reading: Reading, waiting, oauth: OAuthServer, why: str, now: float) -> float:
        content = ledger.plan_logins(reading.logins.content, reading.records, self.policy.limits)
        if content == reading.logins.content:
            return self.policy.idle  # nothing fits (the Secret is full): the roster says "full" to newcomers
        notes = {GENERATION: str(oauth.generation)} if oauth.seen else {}
        before = htpasswd.entries(reading.logins.content)
        added = [name for name in htpasswd.entries(content) if name not in before]
        superseded = activation.unconfirmed(reading.logins.notes) if not self.watch.settled(reading.logins, now) \
            else set()
        notes.update(activation.note(added, superseded))
        if not self._still_pending(reading, content, added):
            return random.uniform(0, 0.05)  # an end or a removal took some back since: decide again
        try:
            written = metrics.counted_write(self.documents.logins, "logins", reading.logins, content, notes=notes)
        except Conflict:
            metrics.CONFLICTS.labels("logins").inc()
            return random.uniform(0, 0.05)  # someone else wrote: look again at what they did
        count = content.count(b"\n") - reading.logins.content.count(b"\n")
        metrics.GROUP_SIZE.observe(count)
        metrics.LAST_LOGINS_WRITE.set(written.written_at or now)
        log.info("event=logins_published count=%d waited_s=%.0f oauth_generation=%s reason=%r", count,
                 now - _oldest(waiting), oauth.generation if oauth.seen else "unseen", why)
        after = Reading(written, reading.roster, reading.records)
        self.documents.remember(after)
        for listener in self.listeners:
            try:
                listener(after, added)
            except Exception:  # what follows a write never undoes it
                log.exception("event=after_write_failed reason=internal_error")
        return OBSERVATION_SECONDS


def _oldest(waiting) -> float:
    return min(r.registered_at.timestamp() for r in waiting)


def _clock(epoch: float | None) -> str:
    return roster.format_epoch(epoch) if epoch else "-"
