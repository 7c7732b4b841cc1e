"""When pending logins may be written: the pace OpenShift's OAuth server can take them (pure, no I/O).

Every write of the htpasswd Secret makes the authentication operator roll out the `oauth-openshift`
Deployment again; a write during that rollout starts another that supersedes it, and on a single node
nobody can log in while the one OAuth pod is replaced. So pending logins are written together, when
no rollout is in progress and COMMIT_INTERVAL has passed since the last write. After a write, the
rollout it causes counts as in progress from the start: until the Deployment's generation has moved
past the one seen at the write and that rollout completed, or until OAUTH_ROLLOUT_GRACE passes without
the generation moving (the operator may be slow or absent). Without sight of the Deployment (plain
Kubernetes, or the right to read it not granted) writes are spaced by UNSEEN_ROLLOUT_INTERVAL instead.
No pending login waits longer than MAX_PUBLISH_DELAY: past that it is written anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

GENERATION = "oauth-generation"  # the note recorded with each write: the Deployment's generation before it


@dataclasses.dataclass(frozen=True)
class OAuthServer:
    """What was seen of the OAuth server's Deployment: its generation and whether it is rolling out.

    `generation` None means it could not be seen; `detail` then says why (for the log, /admin, /readyz).
    """

    generation: int | None
    rolling: bool = False
    detail: str = ""

    @property
    def seen(self) -> bool:
        return self.generation is not None

    @classmethod
    def unseen(cls, why: str) -> OAuthServer:
        return cls(None, False, why)

    @classmethod
    def from_deployment(cls, deployment: Mapping) -> OAuthServer:
        """Read a Deployment as `kubectl rollout status` does: rolling while the controller has not seen the
        latest generation, while fewer replicas than wanted are updated or available, or while old ones
        remain."""
        metadata, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
        generation = int(metadata.get("generation") or 0)
        wanted = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        rolling = (int(status.get("observedGeneration") or 0) < generation or updated < wanted
                   or int(status.get("availableReplicas") or 0) < wanted or int(status.get("replicas") or 0) > updated)
        return cls(generation, rolling, f"{updated} of {wanted} OAuth pods updated" if rolling else "")


@dataclasses.dataclass(frozen=True)
class LastWrite:
    """This app's last write of the logins: when (epoch seconds), and the generation seen just before it."""

    at: float | None = None
    generation: int | None = None

    @classmethod
    def from_notes(cls, written_at: float | None, notes: Mapping[str, str]) -> LastWrite:
        try:
            generation = int(notes[GENERATION])
        except (KeyError, ValueError):
            generation = None
        return cls(written_at, generation)


@dataclasses.dataclass(frozen=True)
class Pace:
    """The publishing settings, in seconds."""

    interval: float = 0.0  # COMMIT_INTERVAL: at least this long between two writes, always
    grace: float = 30.0  # OAUTH_ROLLOUT_GRACE: how long a write may go without the generation moving
    unseen_interval: float = 60.0  # UNSEEN_ROLLOUT_INTERVAL: the spacing when the Deployment cannot be seen
    max_delay: float = 300.0  # MAX_PUBLISH_DELAY: the longest a pending login waits before it is written anyway

    @classmethod
    def for_settings(cls, settings) -> Pace:
        return cls(settings.commit_interval, settings.oauth_rollout_grace, settings.unseen_rollout_interval,
                   settings.max_publish_delay)


@dataclasses.dataclass(frozen=True)
class Decision:
    """When the pending logins may be written (epoch seconds; at or before now: at once), and why then.

    `until_rollout` says that the time is only the latest bound: the write happens as soon as the rollout
    in progress completes, which the publisher checks again and again.
    """

    at: float
    why: str
    until_rollout: bool = False


def rollout_in_progress(now: float, last: LastWrite, oauth: OAuthServer, pace: Pace) -> bool:
    """True while the OAuth server is rolling out, or may be about to because of our last write."""
    if oauth.rolling:
        return True
    if not oauth.seen or last.at is None or last.generation is None:
        return False
    return oauth.generation <= last.generation and now < last.at + pace.grace


def next_write(now: float, oldest_pending: float, last: LastWrite, oauth: OAuthServer, pace: Pace) -> Decision:
    """When pending logins, the oldest registered at `oldest_pending`, may be written (never before now)."""
    floor = now if last.at is None else max(now, last.at + pace.interval)
    overdue = max(floor, oldest_pending + pace.max_delay)
    if not oauth.seen:
        spaced = floor if last.at is None else max(floor, last.at + pace.unseen_interval)
        at = min(spaced, overdue)
        return Decision(at, "now" if at <= now else "spacing: the OAuth rollout cannot be seen")
    if oauth.rolling:
        wait, why = overdue, "an OAuth rollout is in progress"
    elif rollout_in_progress(now, last, oauth, pace):
        wait, why = min(max(floor, last.at + pace.grace), overdue), "waiting for the OAuth rollout to start"
    else:
        return Decision(floor, "now" if floor <= now else "the minimum gap between writes (COMMIT_INTERVAL)")
    if wait <= now:
        return Decision(now, "overdue: a login waited MAX_PUBLISH_DELAY")
    return Decision(wait, why, until_rollout=True)
