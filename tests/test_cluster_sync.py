"""Cluster sync against a real kube-apiserver: the app under gunicorn, as its ServiceAccount, in-cluster.

The app gets a TokenRequest token bound by the Role and RoleBinding that openshift/ ships, and finds the
API server through KUBERNETES_SERVICE_HOST/PORT and the token folder, as in a pod.
"""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from app import htpasswd, roster
from tests import browser
from tests.deploy import set_oauth
from tests.helpers import (
    API,
    SecretWatch,
    degraded,
    person,
    published_in_secret,
    readyz,
    register_together,
    users_in_secret,
    wait_until,
)
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster


def test_a_registration_through_the_api_lands_in_the_secret_and_verifies(deployment, tmp_path):
    deployment.create_htpasswd(b"# managed by hand\nadmin:{SHA}x\n")
    data = tmp_path / "data"
    with gunicorn(deployment.app_env(data, BCRYPT_ROUNDS="10"), workers=2) as base:
        response = requests.post(base + API, json=person(1), timeout=60)
        assert response.status_code == 201, response.text
        assert response.json()["login"] == "pending"  # answered once the record is stored...
        content = published_in_secret(deployment, "attendee-1")  # ...and the login follows at once
        assert content.startswith(b"# managed by hand\nadmin:{SHA}x\nattendee-1:$2y$10$")
        records = roster.parse_store(deployment.registrations())
        assert [(r.username, r.email) for r in records] == [("attendee-1", "attendee1@example.com")]
        wait_until(lambda: (data / "htpasswd").exists() and (data / "htpasswd").read_bytes() == content)
        assert "attendee-1,Attendee 1," in (data / "users.csv").read_text()
    if shutil.which("htpasswd"):
        (tmp_path / "from-secret").write_bytes(content)
        check = subprocess.run(["htpasswd", "-vb", str(tmp_path / "from-secret"), "attendee-1",
                                person(1)["password"]], capture_output=True)
        assert check.returncode == 0, check.stderr


def test_a_registration_through_the_page_lands_in_the_secret(deployment, tmp_path, page: Page):
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=2) as base:
        page.goto(base)
        form = person(2)
        browser.fill(page, form)
        page.click("#register")
        expect(page.locator("#register-success")).to_contain_text("attendee-2", timeout=30_000)
        line = htpasswd.entries(published_in_secret(deployment, "attendee-2"))["attendee-2"]
    assert line.startswith(b"attendee-2:$2y$") and htpasswd.verify(line, form["password"])


def test_two_instances_and_a_hundred_simultaneous_registrations(deployment, tmp_path):
    hand_line = b"added-by-hand:$apr1$Vx8mJ0Qn$0v7cVZ5m6V0rQJc4Yq1P.1"
    deployment.create_htpasswd(b"# users made by hand stay\nadmin:{SHA}x\n")
    counter = SecretWatch(deployment)
    hand_writes = []

    def add_by_hand():  # a person with oc edit, in the middle of the burst
        time.sleep(1.0)
        while True:
            secret = deployment.core.read_namespaced_secret(deployment.secret_name, "openshift-config")
            content = htpasswd.append(deployment.htpasswd(), [hand_line])
            secret.data["htpasswd"] = base64.b64encode(content).decode()
            try:
                deployment.core.replace_namespaced_secret(deployment.secret_name, "openshift-config", secret)
                hand_writes.append(1)
                return
            except Exception:  # 409: someone wrote since; read again
                continue

    with gunicorn(deployment.app_env(tmp_path / "a"), workers=4) as a, \
            gunicorn(deployment.app_env(tmp_path / "b"), workers=4) as b:
        editor = threading.Thread(target=add_by_hand)
        editor.start()
        started = time.monotonic()
        responses = register_together([a, b], [person(i) for i in range(100)], stagger=0.02)
        took = time.monotonic() - started
        editor.join()
        writes = len(counter.stop()) - len(hand_writes)
        codes = [r.status_code if r is not None else None for r in responses]
        assert codes == [201] * 100, codes
        expected = sorted(f"attendee-{i}" for i in range(100))
        published_in_secret(deployment, *expected)
        took_all = time.monotonic() - started
        names = users_in_secret(deployment)
        assert sorted(n for n in names if n.startswith("attendee-")) == expected  # each exactly once
        assert deployment.htpasswd().startswith(b"# users made by hand stay\nadmin:{SHA}x\n")
        assert deployment.htpasswd().count(hand_line + b"\n") == 1
        records = roster.parse_store(deployment.registrations())
        assert sorted(r.username for r in records) == expected
        for data in (tmp_path / "a", tmp_path / "b"):  # oc rsync from either replica gets everyone
            wait_until(lambda d=data: len(roster.parse((d / "users.csv").read_text())) == 100)
    print(f"\n100 registrations from 2 instances x 4 workers answered in {took:.1f}s, all written in {took_all:.1f}s: "
          f"{writes} htpasswd Secret writes")
    assert writes <= 20


def test_the_api_server_killed_mid_burst_loses_no_one_and_sync_recovers(deployment, kube, tmp_path):
    deployment.create_htpasswd(b"")
    env = deployment.app_env(tmp_path / "data", COMMIT_TIMEOUT="12")
    with gunicorn(env, workers=4, log_path=tmp_path / "app.log") as base:
        outage = {}

        def outage_window():
            try:
                time.sleep(1.0)
                kube.stop_apiserver(signal.SIGKILL)
                outage["down"] = time.monotonic()
                outage["degraded_during"] = wait_until(lambda: degraded(base), timeout=10)
                time.sleep(max(0.0, 5.0 - (time.monotonic() - outage["down"])))
            except Exception as error:  # reported by the main thread below
                outage["error"] = error
            finally:
                kube.start_apiserver()
                outage["up"] = time.monotonic()

        breaker = threading.Thread(target=outage_window)
        breaker.start()
        responses = register_together([base], [person(i) for i in range(40)], stagger=0.1)
        breaker.join()
        assert "error" not in outage, outage.get("error")
        created = [f"attendee-{i}" for i, r in enumerate(responses) if r is not None and r.status_code == 201]
        refused = [r.status_code for r in responses if r is None or r.status_code != 201]
        records = {r.username for r in roster.parse_store(deployment.registrations())}
        assert set(created) <= records  # nobody was told "registered" without a stored record...
        published_in_secret(deployment, *created)  # ...and every one of them gets their login
        assert all(code == 503 for code in refused), refused
        # Every replica shares an API outage: it stays ready (the page answers "try again"), and says why.
        assert outage["degraded_during"]["status"] == "ready"
        wait_until(lambda: "unreachable" not in requests.get(base + "/readyz", timeout=5).json().get("degraded", ""))
        again = requests.post(base + API, json=person(99), timeout=60)  # no restart of the app
        assert again.status_code == 201, again.text
        published_in_secret(deployment, "attendee-99")
    print(f"\nAPI server down for {outage['up'] - outage['down']:.1f}s mid-burst: {len(created)} created, "
          f"{len(refused)} told to try again")


def test_least_privilege_with_the_apps_own_token(deployment, kube, tmp_path):
    deployment.create_htpasswd(b"")
    if not oauth_exists(kube):
        set_oauth(kube, [])  # the app may read OAuth/cluster (by name): the patch below must reach the PATCH
    as_app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "app-kubeconfig")

    def kubectl(*args):
        return kube.kubectl(*args, kubeconfig=as_app, check=False)

    allowed = kubectl("get", "secret", deployment.secret_name, "-n", "openshift-config", "-o", "name")
    assert allowed.returncode == 0, allowed.stderr
    allowed = kubectl("get", "secret", "workshop-registrations", "-n", deployment.namespace, "-o", "name")
    assert allowed.returncode == 0, allowed.stderr
    denied = [
        ("get", "secret", "some-other-secret", "-n", "openshift-config"),
        ("get", "secrets", "-n", "openshift-config"),
        ("get", "secrets", "-n", deployment.namespace),
        ("get", "secrets", "--all-namespaces"),
        ("create", "secret", "generic", "sneaky", "-n", "openshift-config"),
        ("delete", "secret", deployment.secret_name, "-n", "openshift-config"),
        ("patch", "oauth", "cluster", "--type=merge", "-p", '{"spec":{"identityProviders":[]}}'),
        ("get", "oauths"),
        ("get", "users"),
        ("create", "clusterrolebinding", "escalate", "--clusterrole=cluster-admin",
         f"--serviceaccount={deployment.namespace}:workshop-registration"),
    ]
    for args in denied:
        result = kubectl(*args)
        assert result.returncode != 0 and "forbidden" in result.stderr.lower(), (args, result.stderr)


def oauth_exists(kube) -> bool:
    return kube.kubectl("get", "oauth", "cluster", "-o", "name", check=False).returncode == 0


def test_a_restarted_pod_rebuilds_its_files_from_the_cluster(deployment, tmp_path):
    deployment.create_htpasswd(b"# by hand\nadmin:{SHA}x\n")
    with gunicorn(deployment.app_env(tmp_path / "first"), workers=2) as base:
        for i in range(3):
            assert requests.post(base + API, json=person(i), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-0", "attendee-1", "attendee-2")
    fresh = tmp_path / "after-restart"
    with gunicorn(deployment.app_env(fresh), workers=2):
        wait_until(lambda: (fresh / "users.csv").exists())
        assert (fresh / "htpasswd").read_bytes() == deployment.htpasswd()
        users = roster.parse((fresh / "users.csv").read_text())
        assert sorted(u.username for u in users) == ["attendee-0", "attendee-1", "attendee-2"]


def test_readiness_and_logs_name_a_missing_secret_and_a_missing_permission(deployment, tmp_path):
    """What every replica shares (a Secret missing, a right not granted) keeps it ready but degraded: the page
    keeps answering with the app's own words, and /readyz, the log and the metrics say what to fix."""
    log = tmp_path / "app.log"
    env = deployment.app_env(tmp_path / "data", COMMIT_TIMEOUT="3")
    with gunicorn(env, workers=1, log_path=log) as base:
        missing = wait_until(lambda: (r := degraded(base)) and "does not exist" in r["degraded"] and r)
        assert deployment.secret_name in missing["degraded"] and readyz(base) is None
        wait_until(lambda: "oc create secret generic" in log.read_text())
        refused = requests.post(base + API, json=person(1), timeout=60)
        assert refused.status_code == 503 and "try again" in refused.json()["errors"]["form"]
        assert "Get your OpenShift login" in requests.get(base + "/_dash-layout", timeout=10).text
        assert "workshop_store_available 0.0" in requests.get(base + "/metrics", timeout=10).text

        deployment.create_htpasswd(b"")
        wait_until(lambda: deployment.secret_name not in (degraded(base) or {}).get("degraded", ""))
        assert requests.post(base + API, json=person(2), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-2")

        binding = f"workshop-registration-htpasswd.{deployment.namespace}"
        deployment.kube.kubectl("delete", "rolebinding", binding, "-n", "openshift-config")
        forbidden = wait_until(lambda: (r := degraded(base)) and "may not get" in r["degraded"] and r)
        assert "HTTP 403" in forbidden["degraded"] and readyz(base) is None
        wait_until(lambda: "oc apply -k openshift/" in log.read_text())
        refused = requests.post(base + API, json=person(3), timeout=60)
        assert refused.status_code == 503
    assert users_in_secret(deployment) == ["attendee-2"]


def test_a_full_secret_refuses_the_next_registration_as_full(deployment, tmp_path):
    line = b"hand-made-user-%05d:$2y$10$abcdefghijklmnopqrstuuvwxyz0123456789ABCDEFGHIJKLMNOPQR\n"
    filler = b"".join(line % i for i in range(13_000))[: 1024 * 1024 - 200]
    filler = filler[: filler.rfind(b"\n") + 1]
    filler += b"#" + b"-" * (1024 * 1024 - 50 - len(filler) - 2) + b"\n"  # a comment line pads it
    assert len(filler) == 1024 * 1024 - 50  # less room than one more entry (about 70 bytes)
    deployment.create_htpasswd(filler)
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        response = requests.post(base + API, json=person(1), timeout=60)
        assert response.status_code == 503 and "full" in response.json()["errors"]["form"]
    assert deployment.htpasswd() == filler
    with pytest.raises(Exception, match="1048576"):  # the limit is Kubernetes' own, not a guess of ours
        deployment.core.create_namespaced_secret("openshift-config", {
            "metadata": {"name": "too-big"}, "data": {"x": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}})
