"""When pending logins may be written (app.rollout), as tables: the OAuth Deployment as seen, our last
write, the settings, and the time."""

from __future__ import annotations

import pytest

from app.rollout import LastWrite, OAuthServer, Pace, next_write, rollout_in_progress

PACE = Pace(interval=1.0, grace=30.0, unseen_interval=120.0, max_delay=300.0)
NOW = 10_000.0
IDLE = OAuthServer(7)  # generation 7, rollout complete
ROLLING = OAuthServer(8, rolling=True)


def deployment(generation=3, observed=3, wanted=3, updated=3, available=3, replicas=3, spec_replicas=True):
    spec = {"replicas": wanted} if spec_replicas else {}
    return {"metadata": {"generation": generation}, "spec": spec,
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "availableReplicas": available,
                       "replicas": replicas}}


@pytest.mark.parametrize("shape, rolling", [
    (deployment(), False),
    (deployment(generation=4), True),  # the controller has not seen the new template yet
    (deployment(updated=2, replicas=4), True),  # surging: one new pod, old ones remain
    (deployment(available=2), True),  # one of three unavailable (three control-plane nodes: one may go)
    (deployment(replicas=4), True),  # an old pod still running beside the updated ones
    (deployment(wanted=1, updated=1, available=1, replicas=1), False),  # single node, done
    (deployment(wanted=1, updated=0, available=0, replicas=1), True),  # single node: the only pod replaced
    (deployment(wanted=1, updated=1, available=1, replicas=1, spec_replicas=False), False),  # replicas default 1
])
def test_a_deployment_is_read_as_kubectl_rollout_status_reads_it(shape, rolling):
    seen = OAuthServer.from_deployment(shape)
    assert seen.seen and seen.rolling is rolling and seen.generation == shape["metadata"]["generation"]


def test_an_empty_status_is_rolling():
    assert OAuthServer.from_deployment({"metadata": {"generation": 1}, "spec": {"replicas": 1}}).rolling


def test_the_generation_is_read_from_the_notes_of_the_last_write():
    assert LastWrite.from_notes(5.0, {"oauth-generation": "12"}) == LastWrite(5.0, 12)
    assert LastWrite.from_notes(5.0, {"oauth-generation": "x"}) == LastWrite(5.0, None)
    assert LastWrite.from_notes(None, {}) == LastWrite(None, None)


@pytest.mark.parametrize("last, oauth, oldest, at, why_part, until_rollout", [
    # A quiet cluster: a lone registration is written at once.
    (LastWrite(None, None), IDLE, NOW, NOW, "now", False),
    (LastWrite(NOW - 600, 6), IDLE, NOW, NOW, "now", False),
    # COMMIT_INTERVAL always separates two writes.
    (LastWrite(NOW - 0.4, 6), IDLE, NOW, NOW + 0.6, "the minimum gap between writes (COMMIT_INTERVAL)", False),
    # A rollout in progress: wait for it, at the latest until the oldest has waited MAX_PUBLISH_DELAY.
    (LastWrite(NOW - 60, 7), ROLLING, NOW - 10, NOW + 290, "in progress", True),
    # Our write is 5 s old and the generation has not moved: the operator has not started yet.
    (LastWrite(NOW - 5, 7), IDLE, NOW - 3, NOW + 25, "to start", True),
    # ...30 s later it still has not moved: the operator is slow or absent; write.
    (LastWrite(NOW - 31, 7), IDLE, NOW - 3, NOW, "now", False),
    # The generation moved past the one seen at our write and that rollout completed: write.
    (LastWrite(NOW - 5, 6), IDLE, NOW - 3, NOW, "now", False),
    # Overdue: the oldest pending login waited MAX_PUBLISH_DELAY, so even a rollout does not hold it.
    (LastWrite(NOW - 100, 7), ROLLING, NOW - 300, NOW, "overdue", False),
    (LastWrite(NOW - 100, 7), ROLLING, NOW - 500, NOW, "overdue", False),
    (LastWrite(NOW - 5, 7), IDLE, NOW - 301, NOW, "overdue", False),
    # ...but COMMIT_INTERVAL still holds.
    (LastWrite(NOW - 0.5, 7), ROLLING, NOW - 500, NOW + 0.5, "in progress", True),
    # The Deployment cannot be seen: writes are spaced by UNSEEN_ROLLOUT_INTERVAL.
    (LastWrite(NOW - 30, None), OAuthServer.unseen("forbidden"), NOW, NOW + 90, "cannot be seen", False),
    (LastWrite(NOW - 130, None), OAuthServer.unseen("forbidden"), NOW, NOW, "now", False),
    (LastWrite(None, None), OAuthServer.unseen("forbidden"), NOW, NOW, "now", False),
    (LastWrite(NOW - 30, None), OAuthServer.unseen("forbidden"), NOW - 295, NOW + 5, "cannot be seen", False),
])
def test_when_the_next_write_may_happen(last, oauth, oldest, at, why_part, until_rollout):
    decision = next_write(NOW, oldest, last, oauth, PACE)
    assert decision.at == pytest.approx(at) and why_part in decision.why
    assert decision.until_rollout is until_rollout


def test_a_rollout_is_in_progress_while_rolling_or_until_our_write_starts_one():
    assert rollout_in_progress(NOW, LastWrite(NOW - 600, 6), ROLLING, PACE)
    assert rollout_in_progress(NOW, LastWrite(NOW - 1, 7), IDLE, PACE)
    assert not rollout_in_progress(NOW, LastWrite(NOW - 1, 6), IDLE, PACE)
    assert not rollout_in_progress(NOW, LastWrite(NOW - 1, None), IDLE, PACE)  # a write of an older version
    assert not rollout_in_progress(NOW, LastWrite(NOW - 1, 7), OAuthServer.unseen("404"), PACE)
