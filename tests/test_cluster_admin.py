"""Instructor tools against a real kube-apiserver: the command line in the app's pod, two replicas."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
from kubernetes import client

from app import htpasswd, ledger, roster
from tests.deploy import Deployment, set_oauth
from tests.helpers import API, person, published_in_secret, wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster


def create_user_objects(deployment, username: str, provider: str = "workshop") -> None:
    """The User that OpenShift creates at a first login, on the STAND-IN CRD.

    Its Identity, named `<provider>:<username>`, cannot be created here: a CRD's object names must be
    RFC 1123 subdomains, while OpenShift's aggregated user API accepts the colon. The tests therefore
    check that the app was permitted to delete exactly that Identity name (answered "not found", not 403).
    """
    client.CustomObjectsApi(deployment.kube.admin()).create_cluster_custom_object(
        "user.openshift.io", "v1", "users", {
            "apiVersion": "user.openshift.io/v1", "kind": "User", "metadata": {"name": username},
            "identities": [f"{provider}:{username}"]})


def exists(deployment, plural: str, name: str) -> bool:
    try:
        client.CustomObjectsApi(deployment.kube.admin()).get_cluster_custom_object(
            "user.openshift.io", "v1", plural, name)
        return True
    except client.ApiException as error:
        assert error.status == 404
        return False


@pytest.fixture
def granted(kube, tmp_path):
    """openshift/ with the optional remove-users component enabled."""
    return Deployment.apply(kube, tmp_path, ("remove-users",))


def test_reset_and_remove_with_user_objects_deleted(granted, tmp_path):
    deployment = granted
    deployment.create_htpasswd(b"# by hand\nteacher:{SHA}x\n")
    data = tmp_path / "data"
    with gunicorn(deployment.app_env(data), workers=2) as base:
        for i in range(3):
            assert requests.post(base + API, json=person(i), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-0", "attendee-1", "attendee-2")
        create_user_objects(deployment, "attendee-1")

        reset = deployment.cli(tmp_path / "cli", "reset", "attendee-2")
        assert reset.returncode == 0, reset.stderr
        password = reset.stdout.strip().rsplit(": ", 1)[1]
        line = htpasswd.entries(deployment.htpasswd())["attendee-2"]
        assert htpasswd.verify(line, password) and not htpasswd.verify(line, person(2)["password"])
        wait_until(lambda: htpasswd.entries((data / "htpasswd").read_bytes()).get("attendee-2") == line)
        if shutil.which("htpasswd"):
            check = subprocess.run(["htpasswd", "-vb", str(data / "htpasswd"), "attendee-2", password],
                                   capture_output=True)
            assert check.returncode == 0, check.stderr

        removed = deployment.cli(tmp_path / "cli", "remove", "attendee-1")
        assert removed.returncode == 0, removed.stderr
        # Nothing left for a cluster admin but the tokens (without openshift/extras/revoke-tokens):
        assert removed.stdout == "oc delete oauthaccesstokens --field-selector=userName=attendee-1\n"
        assert "User deleted, Identity not found" in removed.stderr  # permitted (a 403 prints commands)
        assert "attendee-1" not in htpasswd.entries(deployment.htpasswd())
        assert "attendee-1" not in {r.username for r in roster.parse_store(deployment.registrations())}
        assert not exists(deployment, "users", "attendee-1")
        assert deployment.htpasswd().startswith(b"# by hand\nteacher:{SHA}x\n")
        again = requests.post(base + API, json=person(1), timeout=60)  # the name is free again
        assert again.status_code == 201, again.text


def test_without_the_grant_remove_prints_the_commands_for_an_admin(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        assert requests.post(base + API, json=person(5), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-5")
    create_user_objects(deployment, "attendee-5")
    removed = deployment.cli(tmp_path / "cli", "remove", "attendee-5")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines() == ["oc delete user attendee-5 --ignore-not-found && oc delete identity "
                                           "workshop:attendee-5 --ignore-not-found",
                                           "oc delete oauthaccesstokens --field-selector=userName=attendee-5"]
    assert "attendee-5" not in htpasswd.entries(deployment.htpasswd())
    assert exists(deployment, "users", "attendee-5")  # the app may not: least privilege
    assert "stays refused until its User and Identity are gone" in removed.stderr
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        again = requests.post(base + API, json=person(5, "someone-else-as"), timeout=60)
        newcomer = dict(person(9), username="attendee-5")  # someone else takes the removed name
        refused = requests.post(base + API, json=newcomer, timeout=60)  # they would log in as the old User
        assert refused.status_code == 409 and refused.json()["errors"] == {"username": ledger.USERNAME_TAKEN}
        assert again.status_code == 201
        status = deployment.cli(tmp_path / "cli", "status")
        assert "removed names refused until their User and Identity are gone: attendee-5" in status.stdout
        client.CustomObjectsApi(deployment.kube.admin()).delete_cluster_custom_object(
            "user.openshift.io", "v1", "users", "attendee-5")  # the admin ran the printed commands
        unblocked = deployment.cli(tmp_path / "cli", "unblock", "attendee-5")
        assert unblocked.returncode == 0 and "attendee-5: free again" in unblocked.stderr
        answer = requests.post(base + API, json=newcomer, timeout=60)
        assert answer.status_code == 201, answer.text


def test_with_users_readable_a_removed_name_is_free_again_once_its_user_is_seen_gone(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("existing-users",))  # get on Users, not delete
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        assert requests.post(base + API, json=person(6), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-6")
        create_user_objects(deployment, "attendee-6")
        assert deployment.cli(tmp_path / "cli", "remove", "attendee-6").returncode == 0
        newcomer = dict(person(8), username="attendee-6")
        assert requests.post(base + API, json=newcomer, timeout=60).status_code == 409  # its User is there
        client.CustomObjectsApi(deployment.kube.admin()).delete_cluster_custom_object(
            "user.openshift.io", "v1", "users", "attendee-6")
        answer = requests.post(base + API, json=newcomer, timeout=60)  # seen gone: no unblock needed
        assert answer.status_code == 201, answer.text


def test_closing_on_one_replica_is_seen_by_the_other(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "a"), workers=2) as a, \
            gunicorn(deployment.app_env(tmp_path / "b"), workers=2) as b:
        closed = deployment.cli(tmp_path / "cli", "close")
        assert closed.returncode == 0, closed.stderr
        probe = person(0, password="x")  # invalid: 400 while open, 503 once closed, never registers anyone
        wait_until(lambda: all(requests.post(b + API, json=probe, timeout=30).status_code == 503
                               for _ in range(4)))
        wait_until(lambda: all("Registration is closed" in requests.get(b + "/_dash-layout", timeout=10).text
                               for _ in range(4)))  # every worker of b, within REFRESH_INTERVAL
        status = deployment.cli(tmp_path / "cli", "status")
        assert status.stdout.splitlines()[0] == "registration closed; 0 registered"
        assert deployment.cli(tmp_path / "cli", "open").returncode == 0
        wait_until(lambda: requests.post(a + API, json=person(7), timeout=30).status_code == 201)
        assert "attendee-7" in htpasswd.entries(published_in_secret(deployment, "attendee-7"))


def test_cleanup_removes_the_apps_attendees_and_leaves_everyone_else(deployment, tmp_path):
    deployment.create_htpasswd(b"# by hand\nteacher:{SHA}x\nadmin:$apr1$y\n")
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=2) as base:
        for i in range(4):
            assert requests.post(base + API, json=person(i), timeout=60).status_code == 201
        before = published_in_secret(deployment, *(f"attendee-{i}" for i in range(4)))
    dry = deployment.cli(tmp_path / "cli", "cleanup")  # a dry run first, always
    assert dry.returncode == 2 and "remove all 4 attendees and seats of this app" in dry.stderr
    assert "print the oc commands that revoke their OAuth tokens" in dry.stderr and dry.stdout == ""
    assert deployment.htpasswd() == before and len(roster.parse_store(deployment.registrations())) == 4
    cleanup = deployment.cli(tmp_path / "cli", "cleanup", "--yes")
    assert cleanup.returncode == 0, cleanup.stderr
    assert deployment.htpasswd() == b"# by hand\nteacher:{SHA}x\nadmin:$apr1$y\n"
    assert roster.parse_store(deployment.registrations()) == []
    lines = cleanup.stdout.strip().splitlines()  # for a cluster admin: each attendee's User, Identity, tokens
    assert sorted(lines) == sorted([f"oc delete user attendee-{i} --ignore-not-found && oc delete identity "
                                    f"workshop:attendee-{i} --ignore-not-found" for i in range(4)]
                                   + [f"oc delete oauthaccesstokens --field-selector=userName=attendee-{i}"
                                      for i in range(4)])
    assert "sh openshift/setup.sh --remove && oc delete -k openshift/" in cleanup.stderr
    export = deployment.cli(tmp_path / "cli", "export")
    assert export.stdout.strip() == "username,full_name,email,registered_at,seat,claimed_at"


def test_identities_are_named_after_the_provider_that_really_reads_the_secret(deployment, tmp_path):
    """Reusing a cluster's existing htpasswd provider (the README's advice): its name, not
    IDENTITY_PROVIDER_NAME, is what OpenShift puts in the attendees' Identity names."""
    set_oauth(deployment.kube, [{"name": "demo-users", "mappingMethod": "claim", "type": "HTPasswd",
                                 "htpasswd": {"fileData": {"name": deployment.secret_name}}}])
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        assert requests.post(base + API, json=person(6), timeout=60).status_code == 201
        published_in_secret(deployment, "attendee-6")
    removed = deployment.cli(tmp_path / "cli", "remove", "attendee-6")
    assert removed.returncode == 0, removed.stderr
    assert "oc delete identity demo-users:attendee-6 --ignore-not-found" in removed.stdout


def create_user(deployment, name: str, identities: list[str]) -> None:
    """A User as OpenShift keeps it (stand-in CRD): its name and the identities mapped to it."""
    client.CustomObjectsApi(deployment.kube.admin()).create_cluster_custom_object(
        "user.openshift.io", "v1", "users", {"apiVersion": "user.openshift.io/v1", "kind": "User",
                                             "metadata": {"name": name}, "identities": identities})


def test_with_existing_users_readable_a_name_another_provider_holds_is_taken(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("existing-users",))
    deployment.create_htpasswd(b"")
    create_user(deployment, "corp-1", ["corp-ldap:corp-1"])  # an LDAP user: claim would refuse our login
    create_user(deployment, "back-2", ["workshop:back-2"])  # ours: an attendee removed, the User left behind
    create_user(deployment, "bare-3", [])  # `oc create user`, no identity yet: claim takes it
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        for form in (person(1, "corp"), person(2, "back")):  # the newcomer would be refused, or inherit it
            held = requests.post(base + API, json=form, timeout=60)
            assert held.status_code == 409 and held.json()["errors"] == {"username": ledger.USERNAME_TAKEN}
        for form in (person(3, "bare"), person(4, "free")):
            answer = requests.post(base + API, json=form, timeout=60)
            assert answer.status_code == 201, answer.text
    assert {"corp-1", "back-2"}.isdisjoint(htpasswd.entries(published_in_secret(deployment, "bare-3", "free-4")))


def test_without_the_users_right_nothing_is_refused(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    create_user(deployment, "held-1", ["corp-ldap:held-1"])
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1) as base:
        answer = requests.post(base + API, json=person(1, "held"), timeout=60)
        assert answer.status_code == 201, answer.text  # nothing known, nothing refused (docs/deploy.md: the component)
