"""Who has logged in, and when: the BasicAuth remote (app.basicauth) sees every login OpenShift makes,
which no htpasswd Secret shows. Each process notes them in memory and a runtime loop adds them to the event
state (app.eventstate) every REFRESH_INTERVAL (at least a second), in one write whatever the number: never a
write per login.
"""

from __future__ import annotations

import logging
import threading

from app.clock import SYSTEM, Clock
from app.errors import StoreError

log = logging.getLogger(__name__)
FLUSH_SECONDS = 10.0


class LoginLog:
    def __init__(self, state, clock: Clock = SYSTEM, interval: float = FLUSH_SECONDS):
        self.state = state  # app.eventstate.EventState
        self.clock = clock
        self.interval = interval
        self._seen: dict[str, tuple[float, float]] = {}  # name -> (first, last) since the last flush
        self._lock = threading.Lock()

    def saw(self, username: str) -> None:
        """One accepted login."""
        now = self.clock.now()
        with self._lock:
            first, _ = self._seen.get(username, (now, now))
            self._seen[username] = (first, now)

    def step(self) -> float:
        """Add what was seen since the last time to the event state (kept here when it cannot be written)."""
        with self._lock:
            seen, self._seen = self._seen, {}
        if not seen:
            return self.interval
        try:
            self.state.record_logins(seen)
        except StoreError as error:
            log.warning("event=logins_seen_unsaved count=%d cause=%r", len(seen), error.cause)
            with self._lock:  # try again next time, merged with what comes meanwhile
                for name, (first, last) in seen.items():
                    now_first, now_last = self._seen.get(name, (first, last))
                    self._seen[name] = (min(first, now_first), max(last, now_last))
        return self.interval
