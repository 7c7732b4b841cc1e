"""The chart's history on /admin: each write of the logins and when OpenShift served it (its rollout
completed), recorded once in the event state by whichever replica sees it first (a runtime loop).

The rules are app.activation's (the names a write left unconfirmed, a Batch); when a rollout completed is
app.oauthwatch's. Files keep no notes: locally no batch is ever recorded (a written login is active).
"""

from __future__ import annotations

from app import activation
from app.clock import SYSTEM, Clock
from app.documents import Documents, Reading
from app.errors import StoreError
from app.eventstate import EventState
from app.oauthwatch import OBSERVATION_SECONDS, OAuthWatch


class BatchHistory:
    def __init__(self, documents: Documents, watch: OAuthWatch, state: EventState, interval: float,
                 clock: Clock = SYSTEM):
        self.documents = documents
        self.watch = watch
        self.state = state
        self.interval = interval
        self.clock = clock
        self._recorded: float | None = None  # the last write whose completed rollout this process recorded

    def step(self) -> float:
        """Record the last write's batch if its rollout completed; look again soon while it has not."""
        try:
            waiting = self.record(self.documents.latest(), self.clock.now())
        except StoreError:
            return self.interval  # the store says why, on /admin and in /readyz
        return OBSERVATION_SECONDS if waiting else self.interval

    def record(self, reading: Reading, now: float) -> bool:
        """Once the last write's rollout has completed, record it (once); True while it has not yet."""
        written_at, names = reading.logins.written_at, activation.unconfirmed(reading.logins.notes)
        if written_at is None or not names or self._recorded == written_at:
            return False
        if not self.watch.settled(reading.logins, now):
            return True
        self.state.record_batch(activation.Batch(written_at, now, len(names)))
        self._recorded = written_at
        return False
