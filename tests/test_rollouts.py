"""Rollout-aware publishing against the real API server, with a STAND-IN for the authentication operator
(tests/operator_standin.py) rolling out `oauth-openshift` after every write of the htpasswd Secret, as the
real one does. What counts is what OpenShift does after our writes: every write starts a rollout, a write
during a rollout supersedes it (on a single node: the room cannot log in meanwhile).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import signal
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from app import roster
from tests import browser
from tests.helpers import API, person, published_in_secret, users_in_secret, wait_until
from tests.oauth_standin import OAuthStandIn
from tests.operator_standin import NAME, NAMESPACE, OperatorStandIn
from tests.servers import PROCESSES, children, gunicorn

pytestmark = pytest.mark.cluster
R = 1.5  # seconds per stand-in rollout (minutes on a real cluster)


@pytest.fixture
def operator(deployment):
    deployment.create_htpasswd(b"# by hand\nteacher:{SHA}x\n")
    standin = OperatorStandIn(deployment.kube, deployment.secret_name, rollout_seconds=R).start()
    yield standin
    standin.stop()


def trickle(bases: list[str], count: int, gap: tuple[float, float], tag: str = "attendee", during=None,
            seed: int = 7) -> tuple[list[str], float]:
    """Registrations one after another with random gaps, alternating between instances; the names told
    "registered" (201), and how long the trickle took. `during(number)` runs before each one."""
    rng = random.Random(seed)
    registered, started = [], time.monotonic()
    for number in range(count):
        if during:
            during(number)
        try:
            response = requests.post(bases[number % len(bases)] + API, json=person(number, tag), timeout=60)
        except requests.RequestException:
            response = None
        if response is not None and response.status_code == 201:
            assert response.json()["login"] in ("pending", "active")
            registered.append(f"{tag}-{number}")
        time.sleep(rng.uniform(*gap))
    return registered, time.monotonic() - started


def test_a_trickle_over_two_instances_never_writes_during_a_rollout(deployment, operator, tmp_path):
    env = lambda name: deployment.app_env(tmp_path / name, COMMIT_INTERVAL="1")
    with gunicorn(env("a"), workers=2) as a, gunicorn(env("b"), workers=2) as b:
        registered, took = trickle([a, b], 60, gap=(0.05, R * 0.8))
        assert len(registered) == 60
        published_in_secret(deployment, *registered)
        operator.wait_idle()
        status = requests.get(a + "/readyz", timeout=5).json()
    names = users_in_secret(deployment)
    assert sorted(n for n in names if n != "teacher") == sorted(registered) and len(names) == len(set(names))
    assert operator.superseded == 0, [(r.started, r.finished, r.superseded) for r in operator.rollouts]
    bound = math.ceil(took / R) + 1
    assert len(operator.rollouts) <= bound
    assert "degraded" not in status  # the Deployment was seen throughout
    print(f"\n60 registrations over {took:.0f}s, two instances x 2 workers, rollouts of {R}s: "
          f"{len(operator.rollouts)} rollouts (bound {bound}), 0 superseded")


def test_a_rollout_that_never_completes_holds_no_login_past_max_publish_delay(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    operator = OperatorStandIn(deployment.kube, deployment.secret_name, rollout_seconds=3600).start()
    try:
        log = tmp_path / "app.log"
        with gunicorn(deployment.app_env(tmp_path / "data", MAX_PUBLISH_DELAY="4"), workers=1, log_path=log) as base:
            assert requests.post(base + API, json=person(1), timeout=60).status_code == 201
            published_in_secret(deployment, "attendee-1")  # at once: no rollout yet
            wait_until(operator.in_progress)
            started = time.monotonic()
            assert requests.post(base + API, json=person(2), timeout=60).status_code == 201
            time.sleep(2)
            assert "attendee-2" not in users_in_secret(deployment)  # held while the rollout runs...
            published_in_secret(deployment, "attendee-2")  # ...until MAX_PUBLISH_DELAY
            assert time.monotonic() - started >= 2.5  # 4 s from registered_at, which users.csv keeps to the second
            wait_until(lambda: "overdue" in log.read_text())
    finally:
        operator.stop()
    assert operator.superseded == 1  # the one supersession is the overdue write, by design


def test_a_replica_killed_with_pending_logins_loses_none(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    operator = OperatorStandIn(deployment.kube, deployment.secret_name, rollout_seconds=8).start()
    try:
        env = lambda name: deployment.app_env(tmp_path / name, REFRESH_INTERVAL="0.5")
        with gunicorn(env("a"), workers=2) as a, gunicorn(env("b"), workers=2) as b:
            first, _ = trickle([a], 1, gap=(0, 0), tag="first")
            wait_until(operator.in_progress)  # its rollout runs: what comes next waits
            later, _ = trickle([a], 6, gap=(0.1, 0.2), tag="late")
            pending = [r.username for r in roster.parse_store(deployment.registrations()) if r.pending_login]
            assert set(later) <= set(pending) and len(later) == 6
            master = PROCESSES[a]
            for pid in children(master.pid) + [master.pid]:
                os.kill(pid, signal.SIGKILL)  # the whole replica that reserved them, mid-wait
            published_in_secret(deployment, *first, *later, timeout=30)  # replica b publishes them
            assert requests.get(b + "/readyz", timeout=5).status_code == 200
    finally:
        operator.stop()
    assert operator.superseded == 0


def test_the_api_server_killed_and_restarted_during_a_trickle(deployment, operator, kube, tmp_path):
    with gunicorn(deployment.app_env(tmp_path / "data", COMMIT_TIMEOUT="4"), workers=2) as base:
        def outage(number):
            if number == 6:
                kube.stop_apiserver(signal.SIGKILL)
            if number == 9:
                kube.start_apiserver()
        registered, _ = trickle([base], 14, gap=(0.2, 0.5), during=outage)
        assert len(registered) >= 10  # those during the outage were told "try again in a minute"
        published_in_secret(deployment, *registered)
        stored = {r.username for r in roster.parse_store(deployment.registrations())}
        assert set(registered) <= stored
    assert operator.superseded == 0


@pytest.mark.parametrize("fault", ["deleted", "forbidden"])
def test_without_sight_of_the_deployment_writes_are_spaced_and_nothing_is_lost(deployment, operator, tmp_path,
                                                                               fault):
    log = tmp_path / "app.log"
    env = deployment.app_env(tmp_path / "data", UNSEEN_ROLLOUT_INTERVAL="3")
    with gunicorn(env, workers=2, log_path=log) as base:
        first, _ = trickle([base], 4, gap=(0.1, 0.3), tag="seen")
        published_in_secret(deployment, *first)
        if fault == "deleted":
            deployment.kube.kubectl("delete", "deployment", NAME, "-n", NAMESPACE)
        else:
            binding = f"workshop-registration-oauth-rollout.{deployment.namespace}"
            deployment.kube.kubectl("delete", "rolebinding", binding, "-n", NAMESPACE)
        writes_before = len(operator.writes)
        later, _ = trickle([base], 10, gap=(0.2, 0.5), tag="unseen")
        published_in_secret(deployment, *later)
        body = wait_until(lambda: requests.get(base + "/readyz", timeout=5).json().get("degraded"))
        assert ("does not exist" if fault == "deleted" else "HTTP 403") in body
        lines = [line for line in log.read_text().splitlines() if "event=oauth_rollout_unseen" in line]
    assert len(lines) == 1  # said once in the pod's log (two worker processes noticed)
    spaced = operator.writes[writes_before - 1:]  # from the last write while it was seen
    assert len(spaced) >= 3 and all(b - a >= 2.5 for a, b in itertools.pairwise(spaced)), spaced


def test_the_app_reads_only_the_oauth_deployment(deployment, kube, tmp_path):
    as_app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "app-kubeconfig")

    def can_i(*args):
        return kube.kubectl("auth", "can-i", *args, "-n", NAMESPACE, kubeconfig=as_app, check=False).stdout.strip()

    assert can_i("get", f"deployments/{NAME}") == "yes"
    for denied in (("list", "deployments"), ("watch", "deployments"), ("get", "deployments/other"),
                   ("update", f"deployments/{NAME}"), ("patch", f"deployments/{NAME}"), ("get", "pods"),
                   ("get", "secrets"), ("delete", f"deployments/{NAME}")):
        assert can_i(*denied) == "no", denied


@pytest.mark.browser
def test_the_page_says_registered_then_activating_then_ready(deployment, tmp_path, page: Page):
    deployment.create_htpasswd(b"")
    operator = OperatorStandIn(deployment.kube, deployment.secret_name, rollout_seconds=6).start()
    oauth = OAuthStandIn(ready_after=0, served=operator.served)  # it serves what the last rollout brought
    try:
        env = deployment.app_env(tmp_path / "data", LOGIN_CHECK="on", API_URL=oauth.url)
        with gunicorn(env, workers=2) as base:
            assert requests.post(base + API, json=person(1, "early"), timeout=60).status_code == 201
            wait_until(operator.in_progress)  # a rollout runs: the next login waits for it
            page.goto(base)
            form = person(2)
            browser.fill(page, form)
            page.click("#register")
            expect(page.locator("#register-success")).to_contain_text("Account attendee-2 registered", timeout=30_000)
            expect(page.locator("#login-status")).to_contain_text("goes out with the next batch", timeout=10_000)
            expect(page.locator("#login-status")).to_contain_text("Activating your account", timeout=30_000)
            expect(page.locator("#login-status")).to_contain_text("Ready: you can log in now.", timeout=30_000)
            assert form["password"] not in page.content()
    finally:
        oauth.stop()
        operator.stop()
    assert operator.superseded == 0


def test_a_login_is_pending_until_its_rollout_completes_then_active_and_the_batch_recorded(deployment, tmp_path):
    """Who can log in, as /admin and `python -m app list --state` show it: pending through the write and
    the rollout it causes, active once that rollout completed."""
    deployment.create_htpasswd(b"")
    operator = OperatorStandIn(deployment.kube, deployment.secret_name, rollout_seconds=8).start()
    try:
        with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
            assert requests.post(base + API, json=person(1), timeout=60).status_code == 201
            published_in_secret(deployment, "attendee-1")
            wait_until(operator.in_progress)  # the write's rollout runs
            pending = deployment.cli(tmp_path / "cli", "list", "--state", "pending")
            assert [line.split()[0] for line in pending.stdout.splitlines()[1:]] == ["attendee-1"], pending.stderr
            operator.wait_idle()
            wait_until(lambda: deployment.cli(tmp_path / "cli", "list", "--state", "active").stdout.splitlines()[1:],
                       timeout=30)
            status = deployment.cli(tmp_path / "cli", "status").stdout
            assert "logins: 0 pending, 1 active, 0 refused" in status
            wait_until(lambda: '"batches"' in deployment.state_json())  # recorded for the chart
    finally:
        operator.stop()
    [batch] = json.loads(deployment.state_json())["batches"]
    assert batch["count"] == 1 and batch["active"] >= batch["written"] + 8 * 0.9
