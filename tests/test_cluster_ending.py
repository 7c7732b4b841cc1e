"""The event's end on the real API server: the instructor's end seen by two replicas, a replica that was
down at EVENT_ENDS_AT acting when it comes back (an injected clock), and, with the optional components, the
attendees' Group kept and emptied and their OAuth tokens revoked, no one else's.

Group and OAuthAccessToken are STAND-IN CRDs here (tests/crds/standins.yaml); OpenShift serves them itself.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timezone

import pytest
import requests
from kubernetes import client

from app import htpasswd, roster
from app.factory import create_app
from app.runtime import runtime_of
from app.settings import Settings
from tests import certs
from tests.basicauth_standin import BasicAuthClient
from tests.deploy import Deployment, app_kubeconfig, can_i, deploy, issue_tokens, token_names
from tests.fakes import FakeClock
from tests.helpers import API, person, published_in_secret, register_together, wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster
FOREIGN = b"# by hand\nteacher:{SHA}x\r\nTrainer:$apr1$y$z\n"
GROUPS = ("user.openshift.io", "v1", "groups")


def test_the_instructors_end_holds_on_both_replicas_and_keeps_the_records(deployment, tmp_path):
    deployment.create_htpasswd(FOREIGN)
    with gunicorn(deployment.app_env(tmp_path / "a"), workers=2) as a, \
            gunicorn(deployment.app_env(tmp_path / "b"), workers=2) as b:
        for i in range(3):
            assert requests.post(a + API, json=person(i), timeout=60).status_code == 201
        before = published_in_secret(deployment, "attendee-0", "attendee-1", "attendee-2")

        dry = deployment.cli(tmp_path / "cli", "end")
        assert dry.returncode == 2 and "take 3 attendees' logins out of" in dry.stderr
        assert deployment.htpasswd() == before and "ended_at" not in deployment.state_json()

        ended = deployment.cli(tmp_path / "cli", "end", "--yes")
        assert ended.returncode == 0, ended.stderr
        assert deployment.htpasswd() == FOREIGN  # one write; the lines the app did not add, byte for byte
        assert ended.stdout.splitlines() == [  # without openshift/extras/revoke-tokens: for a cluster admin
            f"oc delete oauthaccesstokens --field-selector=userName=attendee-{i}" for i in range(3)]
        stored = roster.parse_store(deployment.registrations())
        assert [r.username for r in stored] == ["attendee-0", "attendee-1", "attendee-2"]
        assert all(r.ended for r in stored)

        for base in (a, b):  # every worker of either replica, within REFRESH_INTERVAL
            wait_until(lambda base=base: all(requests.post(base + API, json=person(7), timeout=30).status_code == 410
                                             for _ in range(4)))
            wait_until(lambda base=base: all("This event has ended" in requests.get(base + "/_dash-layout",
                                                                                    timeout=10).text
                                             for _ in range(4)))
        assert deployment.htpasswd() == FOREIGN  # no replica wrote a login back
    export = deployment.cli(tmp_path / "cli", "export")
    assert [u.username for u in roster.parse(export.stdout)] == ["attendee-0", "attendee-1", "attendee-2"]
    kept = deployment.cli(tmp_path / "cli", "attendance")
    rows = kept.stdout.strip().splitlines()
    assert len(rows) == 4 and all(row.endswith(rows[1].rsplit(",", 1)[1]) for row in rows[1:])  # when it ended


def test_a_replica_down_at_event_ends_at_ends_it_when_it_comes_back(deployment, tmp_path):
    deployment.create_htpasswd(FOREIGN)
    clock = FakeClock()
    ends = datetime.fromtimestamp(clock.at + 3600, timezone.utc)

    def replica(folder: str):
        env = dict(deployment.app_env(tmp_path / folder), EVENT_ENDS_AT=ends.isoformat())
        app = create_app(Settings.from_env(env), clock)
        runtime_of(app.server).start()
        return app

    first = replica("a")
    try:
        for i in range(2):
            assert first.server.test_client().post(API, json=person(i)).status_code == 201

        def written() -> bool:
            clock.at += 1  # the publisher spaces its writes on this clock
            return {"attendee-0", "attendee-1"} <= set(htpasswd.entries(deployment.htpasswd()))
        wait_until(written)
    finally:
        runtime_of(first.server).stop()  # down: nothing of it runs any more

    clock.at = ends.timestamp() + 60  # the end passes while no replica runs
    assert {"attendee-0", "attendee-1"} <= set(htpasswd.entries(deployment.htpasswd()))
    second = replica("b")
    try:
        wait_until(lambda: deployment.htpasswd() == FOREIGN)  # its own loop, at its start
        assert all(r.ended for r in roster.parse_store(deployment.registrations()))
        assert '"ended_at"' not in deployment.state_json()  # the scheduled end: no instructor's end recorded
        assert second.server.test_client().post(API, json=person(5)).status_code == 410
    finally:
        runtime_of(second.server).stop()


def test_with_instant_logins_both_replicas_refuse_every_login_from_the_instructors_end(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("basic-auth",))
    folder = tmp_path / "pki"
    service_ca, oauth_ca = certs.ca(folder, "service-ca"), certs.ca(folder, "oauth-ca")
    server = certs.signed(service_ca, folder, "server", "server")
    oauth_client = certs.signed(oauth_ca, folder, "oauth-client", "client")
    tls = dict(IDENTITY_PROVIDER_TYPE="BasicAuth", HTPASSWD_SECRET_NAME="", TLS_CERT_FILE=str(server.cert),
               TLS_KEY_FILE=str(server.key), TLS_CLIENT_CA_FILE=str(oauth_ca.cert))
    ca = str(service_ca.cert)
    with gunicorn(deployment.app_env(tmp_path / "a", **tls), workers=2, scheme="https", verify=ca) as a, \
            gunicorn(deployment.app_env(tmp_path / "b", **tls), workers=2, scheme="https", verify=ca) as b:
        remotes = [BasicAuthClient(base + "/api/v1/basic-auth", ca_file=ca,
                                   cert=(str(oauth_client.cert), str(oauth_client.key))) for base in (a, b)]
        forms = [person(i, "instant") for i in range(2)]
        for form in forms:
            assert requests.post(a + API, json=form, verify=ca, timeout=30).status_code == 201
        for remote in remotes:
            for form in forms * 2:  # each worker, accepted then remembered
                assert remote.authenticate(form["username"], form["password"])[0]["sub"] == form["username"]

        ended = deployment.cli(tmp_path / "cli", "end", "--yes", **tls)
        assert ended.returncode == 0, ended.stderr
        assert "every login is refused" in ended.stderr
        for remote in remotes:  # within PROBE_SECONDS on every worker, a login it remembered included
            wait_until(lambda remote=remote: all(remote.authenticate(f["username"], f["password"]) == (None, None)
                                                 for f in forms * 3), timeout=5, interval=0.05)
        for base in (a, b):
            wait_until(lambda base=base: requests.post(base + API, json=person(5, "instant"), verify=ca,
                                                       timeout=30).status_code == 410)
        logins = client.CoreV1Api(kube.admin()).read_namespaced_secret("workshop-registration-logins",
                                                                       deployment.namespace).data or {}
        assert b"instant-" not in base64.b64decode(logins.get("htpasswd", ""))
    assert all(r.ended for r in roster.parse_store(deployment.registrations()))


def holders(api) -> list[str]:
    return sorted(token_names(api).values())


def test_the_group_follows_the_room_and_the_end_revokes_only_the_attendees_tokens(kube, tmp_path, oauth_tokens):
    group = f"attendees-{secrets.token_hex(3)}"
    deployment = deploy(kube, tmp_path, group=group, components=("attendee-group", "revoke-tokens"))
    app = app_kubeconfig(deployment)
    wait_until(lambda: can_i(kube, app, "list", "oauthaccesstokens.oauth.openshift.io") == "yes")
    objects = client.CustomObjectsApi(kube.admin())
    objects.create_cluster_custom_object(*GROUPS, {  # as openshift/setup.sh makes it
        "apiVersion": "user.openshift.io/v1", "kind": "Group", "users": [],
        "metadata": {"name": group, "labels": {"workshop-registration/event": deployment.namespace}}})
    deployment.create_htpasswd(b"")

    def members() -> list[str]:
        return objects.get_cluster_custom_object(*GROUPS, group).get("users") or []

    def writes() -> int:  # the stand-in counts every change of the Group's users as a new generation
        return objects.get_cluster_custom_object(*GROUPS, group)["metadata"]["generation"]

    env = deployment.app_env(tmp_path / "data", ATTENDEE_GROUP=group)
    try:
        with gunicorn(env, workers=2) as base:
            before = writes()
            answers = register_together([base], [person(i) for i in range(12)])
            assert [answer.status_code for answer in answers] == [201] * 12
            expected = sorted(f"attendee-{i}" for i in range(12))
            wait_until(lambda: sorted(members()) == expected, timeout=40)
            assert writes() - before <= 3  # batched: not one write per attendee

            issue_tokens(oauth_tokens, "attendee-0", "attendee-0", "attendee-1", "kube:admin", "attendee-10x")
            removed = deployment.cli(tmp_path / "cli", "remove", "attendee-1", ATTENDEE_GROUP=group)
            assert removed.returncode == 0, removed.stderr
            assert "oauthaccesstokens" not in removed.stdout  # revoked by the app, nothing left for an admin
            assert holders(oauth_tokens) == ["attendee-0", "attendee-0", "attendee-10x", "kube:admin"]
            assert "attendee-1" not in members()

            ended = deployment.cli(tmp_path / "cli", "end", "--yes", ATTENDEE_GROUP=group)
            assert ended.returncode == 0, ended.stderr
            assert ended.stdout == "" and "their OAuth tokens are revoked" in ended.stderr
            assert holders(oauth_tokens) == ["attendee-10x", "kube:admin"]
            assert members() == []
            # A login the OAuth server accepted just before it served the end issues a token after the
            # instructor's first pass: the replicas' loop revokes it too, until the end is served.
            issue_tokens(oauth_tokens, "attendee-2")
            wait_until(lambda: holders(oauth_tokens) == ["attendee-10x", "kube:admin"], timeout=60)
            assert members() == []
    finally:
        objects.delete_cluster_custom_object(*GROUPS, group)
