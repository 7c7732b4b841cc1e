"""The OAuth server's Deployment as this process sees it: asked at most once per OBSERVATION_SECONDS, and
whether the rollout our last write of the logins caused has completed (app.rollout's rules).

Shared by the publisher (when it may write), the batch history (when a write's logins work) and the
activations (who can log in); where the Deployment cannot be seen, the pod's log says so once.
"""

from __future__ import annotations

import logging

from app import metrics
from app.clock import SYSTEM, Clock
from app.documents import Snapshot
from app.files import Notices
from app.parts import OAuthDeployment
from app.rollout import GENERATION, LastWrite, OAuthServer, Pace, rollout_in_progress

log = logging.getLogger(__name__)
OBSERVATION_SECONDS = 1.0  # how long one look at the OAuth Deployment is trusted (and how often it is asked)


class OAuthWatch:
    def __init__(self, deployment: OAuthDeployment, pace: Pace, clock: Clock = SYSTEM, notices: Notices | None = None):
        self.deployment = deployment
        self.pace = pace
        self.clock = clock
        self.notices = notices  # to say once per pod when the Deployment cannot be seen, and when it can
        self._seen: tuple[float, OAuthServer] | None = None

    def observe(self, now: float | None = None) -> OAuthServer:
        """The Deployment as seen within the last OBSERVATION_SECONDS (asked again when older)."""
        now = self.clock.now() if now is None else now
        seen = self._seen
        if seen is None or not 0 <= now - seen[0] < OBSERVATION_SECONDS:
            seen = (now, self.deployment.observe())
            self._seen = seen
            metrics.OAUTH_ROLLOUT.set(-1 if not seen[1].seen else int(seen[1].rolling))
            self._say(seen[1])
        return seen[1]

    def rolling(self, logins: Snapshot, now: float | None = None) -> bool:
        """True while the OAuth server rolls out, or may be about to because of our last write."""
        now = self.clock.now() if now is None else now
        return rollout_in_progress(now, LastWrite.from_notes(logins.written_at, logins.notes), self.observe(now),
                                   self.pace)

    def settled(self, logins: Snapshot, now: float | None = None) -> bool:
        """True once the rollout caused by the last write of these logins has completed (when the
        Deployment cannot be seen: once UNSEEN_ROLLOUT_INTERVAL, longer than a rollout, has passed)."""
        now = self.clock.now() if now is None else now
        last = LastWrite.from_notes(logins.written_at, logins.notes)
        if last.at is None:
            return True
        if not self.observe(now).seen:
            return now >= last.at + self.pace.unseen_interval
        return not self.rolling(logins, now)

    def notes(self) -> dict[str, str]:
        """What a write of the logins records: the Deployment's generation seen just before it."""
        oauth = self.observe()
        return {GENERATION: str(oauth.generation)} if oauth.seen else {}

    def problem(self) -> str | None:
        """Why writes are spaced blindly (the Deployment cannot be seen), for /readyz; None when seen."""
        oauth = self.observe()
        return None if oauth.seen else f"{oauth.detail}: htpasswd writes are spaced by {self.pace.unseen_interval:g} s"

    def _say(self, oauth: OAuthServer) -> None:
        if self.notices is None:
            return
        before = self.notices.change("oauth-rollout", "seen" if oauth.seen else f"unseen: {oauth.detail}",
                                     usual="seen")
        if before is not None and not oauth.seen:
            log.warning("event=oauth_rollout_unseen cause=%r consequence='htpasswd writes spaced by %g s'",
                        oauth.detail, self.pace.unseen_interval)
        elif before is not None:
            log.info("event=oauth_rollout_seen")
