"""The attendees' Group (ATTENDEE_GROUP, openshift/extras/attendee-group) on the real API server: the
component's rights as the app's own account, openshift/setup.sh making and removing the Group in both modes,
and app.cluster.AttendeeGroup writing it as the app does.

Group is a STAND-IN CRD here (tests/crds/standins.yaml): on OpenShift openshift-apiserver serves it, with no
published CRD, so the server checks only apiVersion, kind and metadata; what the tests read back is `users`.
Groups are cluster-wide: each test names its own, and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from app import cluster
from app.cluster import AttendeeGroup, Connection
from app.errors import PermissionDenied
from app.settings import Settings
from tests import certs
from tests.deploy import LDAP, SETUP, SHIPPED_GROUP, app_kubeconfig, can_i, deploy, set_oauth
from tests.kube import KUBECTL

pytestmark = pytest.mark.cluster
GROUPS = ("user.openshift.io", "v1", "groups")
MODES = {"htpasswd": (), "basic-auth": ("basic-auth",)}


def run_setup(deployment, *args: str) -> subprocess.CompletedProcess:
    """`sh openshift/setup.sh` as the admin who applied (kubectl standing in for oc)."""
    env = dict(os.environ, KUBECONFIG=str(deployment.kube.kubeconfig), OC=str(KUBECTL), NAMESPACE=deployment.namespace)
    return subprocess.run(["sh", str(SETUP), *args], env=env, capture_output=True, text=True, timeout=180)


def prepare_setup(deployment, mode: str) -> None:
    """What the setup finds on the cluster: another provider; with BasicAuth, the service CA injected into
    the app's ConfigMap (a STAND-IN for OpenShift's service-ca operator, none runs here)."""
    set_oauth(deployment.kube, [LDAP])
    if mode == "basic-auth":
        pem = certs.ca(deployment.folder / "pki", "service-ca").cert.read_text()
        client.CoreV1Api(deployment.kube.admin()).patch_namespaced_config_map(
            "workshop-registration-service-ca", deployment.namespace, {"data": {"service-ca.crt": pem}})


def objects(kube) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube.admin())


def read_group(kube, name: str) -> dict | None:
    try:
        return objects(kube).get_cluster_custom_object(*GROUPS, name)
    except ApiException as error:
        assert error.status == 404
        return None


def make_group(kube, name: str, users: list[str], labels: dict | None = None) -> dict:
    """A Group made by someone else (an admin's `oc adm groups new`, another event's setup)."""
    return objects(kube).create_cluster_custom_object(*GROUPS, {
        "apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": name, "labels": labels or {}},
        "users": users})


def as_app(deployment) -> Connection:
    """The connection the app builds in its pod, from its service-account folder."""
    env = deployment.kube.pod_env(deployment.sa_dir())
    return cluster.connect(Settings.from_env({**env, "REGISTRATIONS_SECRET_NAMESPACE": deployment.namespace}))


class Interleaved(Connection):
    """The app's connection, with someone else's change of the Group made just before the app's next
    write (once); the answers to the app's writes are recorded."""

    def __init__(self, connection: Connection, change):
        super().__init__(connection.api)
        self.change = change
        self.writes: list[int] = []

    def call(self, method, *args, **kwargs):
        if method.__name__ != "replace_cluster_custom_object":
            return super().call(method, *args, **kwargs)
        if self.change:
            change, self.change = self.change, None
            change()
        try:
            result = super().call(method, *args, **kwargs)
        except ApiException as error:
            self.writes.append(error.status)
            raise
        self.writes.append(200)
        return result


@pytest.fixture
def group_name(kube):
    """A Group name of this test's own, deleted after the test."""
    name = f"attendees-{secrets.token_hex(3)}"
    yield name
    with contextlib.suppress(ApiException):
        objects(kube).delete_cluster_custom_object(*GROUPS, name)


def test_the_app_may_get_update_and_patch_its_group_and_nothing_else(kube, tmp_path):
    deployment = deploy(kube, tmp_path)  # as shipped
    app = app_kubeconfig(deployment)
    groups = "groups.user.openshift.io"
    ours, other = f"{groups}/{SHIPPED_GROUP}", f"{groups}/admins"
    rights = [("get", ours), ("update", ours), ("patch", ours), ("get", other), ("update", other),
              ("patch", other), ("create", groups), ("delete", ours), ("delete", groups), ("list", groups),
              ("watch", groups), ("deletecollection", groups)]
    assert {right: can_i(kube, app, *right) for right in rights} == {
        right: "yes" if right[1] == ours and right[0] in ("get", "update", "patch") else "no" for right in rights}
    settings = next(o for o in deployment.objects if o["kind"] == "ConfigMap"
                    and o["metadata"]["name"] == "workshop-registration-settings")
    assert settings["data"]["ATTENDEE_GROUP"] == SHIPPED_GROUP


def test_changing_attendee_group_in_its_one_place_changes_the_right(kube, tmp_path, group_name):
    deployment = deploy(kube, tmp_path, group_name)
    app = app_kubeconfig(deployment)
    assert can_i(kube, app, "update", f"groups.user.openshift.io/{group_name}") == "yes"
    assert can_i(kube, app, "update", f"groups.user.openshift.io/{SHIPPED_GROUP}") == "no"
    role = next(o for o in deployment.objects
                if o["kind"] == "ClusterRole" and "attendee-group" in o["metadata"]["name"])
    assert role["metadata"]["name"] == f"workshop-registration-attendee-group.{deployment.namespace}"
    assert role["rules"] == [{"apiGroups": ["user.openshift.io"], "resources": ["groups"],
                              "resourceNames": [group_name], "verbs": ["get", "update", "patch"]}]
    assert SHIPPED_GROUP not in (tmp_path / "rendered.yaml").read_text()


@pytest.mark.parametrize("mode", MODES)
def test_setup_makes_the_group_once_as_the_events_own_and_remove_deletes_it(kube, tmp_path, group_name, mode):
    deployment = deploy(kube, tmp_path, group_name, ("attendee-group", *MODES[mode]))
    prepare_setup(deployment, mode)
    first = run_setup(deployment)
    assert first.returncode == 0, first.stderr
    assert f"group {group_name} created (empty), this event's own" in first.stdout
    made = read_group(kube, group_name)
    assert made["users"] == []
    assert made["metadata"]["labels"] == {"app.kubernetes.io/part-of": "workshop-registration",
                                          "workshop-registration/event": deployment.namespace}

    AttendeeGroup(as_app(deployment), group_name).set_members({"alice"})  # the app keeps it, then a re-run
    written = read_group(kube, group_name)
    again = run_setup(deployment)
    assert again.returncode == 0, again.stderr
    assert f"group {group_name} exists, this event's: left as it is" in again.stdout
    assert read_group(kube, group_name) == written

    removed = run_setup(deployment, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert f"group {group_name} deleted" in removed.stdout
    assert read_group(kube, group_name) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("labels", [{}, {"workshop-registration/event": "workshop-other"}],
                         ids=["a-persons", "another-events"])
def test_setup_refuses_a_group_of_that_name_that_is_not_the_events_and_changes_nothing(kube, tmp_path, group_name,
                                                                                      mode, labels):
    """Someone else's Group (a person's, another workshop's): the app would rewrite its users."""
    deployment = deploy(kube, tmp_path, group_name, ("attendee-group", *MODES[mode]))
    prepare_setup(deployment, mode)
    theirs = make_group(kube, group_name, ["ldap-admin"], labels)
    refused = run_setup(deployment)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"the Group {group_name} exists and is not this event's" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert read_group(kube, group_name) == theirs
    assert objects(kube).get_cluster_custom_object("config.openshift.io", "v1", "oauths", "cluster")["spec"][
        "identityProviders"] == [LDAP]
    assert kube.kubectl("get", "secrets", "-n", "openshift-config", "-l",
                        f"workshop-registration/event={deployment.namespace}", "-o", "name").stdout == ""

    removed = run_setup(deployment, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert f"group {group_name} is not this event's: left as it is" in removed.stdout
    assert read_group(kube, group_name) == theirs


def test_the_app_writes_its_group_once_sorted_and_on_top_of_a_concurrent_change(kube, tmp_path, group_name):
    deployment = deploy(kube, tmp_path, group_name)
    set_oauth(kube, [LDAP])
    assert run_setup(deployment).returncode == 0
    group = AttendeeGroup(as_app(deployment), group_name)
    assert group.name == group_name
    assert group.members() == set()

    assert group.set_members({"b", "a"}) is True
    written = read_group(kube, group_name)
    assert written["users"] == ["a", "b"]
    assert written["metadata"]["labels"]["workshop-registration/event"] == deployment.namespace  # still the event's
    assert group.members() == {"a", "b"}
    assert group.set_members({"a", "b"}) is False
    assert read_group(kube, group_name)["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]

    def someone_adds_zed():  # between the app's read and its write: `oc adm groups add-users`
        current = read_group(kube, group_name)
        current["users"] = current["users"] + ["zed"]
        objects(kube).replace_cluster_custom_object(*GROUPS, group_name, current)

    interleaved = Interleaved(as_app(deployment), someone_adds_zed)
    assert AttendeeGroup(interleaved, group_name).set_members({"a", "b", "c"}) is True
    assert interleaved.writes == [409, 200]  # the stale write was refused, never applied blind
    assert read_group(kube, group_name)["users"] == ["a", "b", "c"]


def test_without_the_components_rights_the_app_is_told_to_enable_it(kube, tmp_path, group_name):
    deployment = deploy(kube, tmp_path, components=())
    theirs = make_group(kube, group_name, ["ldap-admin"], {"workshop-registration/event": deployment.namespace})
    assert can_i(kube, app_kubeconfig(deployment), "get", f"groups.user.openshift.io/{group_name}") == "no"
    group = AttendeeGroup(as_app(deployment), group_name)
    for attempt in (group.members, lambda: group.set_members({"alice"})):
        with pytest.raises(PermissionDenied, match="enable openshift/extras/attendee-group"):
            attempt()
    assert read_group(kube, group_name) == theirs


def test_with_the_component_another_group_is_refused_and_a_missing_one_names_the_setup(kube, tmp_path, group_name):
    deployment = deploy(kube, tmp_path, group_name)  # the setup has not run: no Group yet
    app = as_app(deployment)
    for attempt in (AttendeeGroup(app, group_name).members, lambda: AttendeeGroup(app, group_name).set_members({"a"})):
        with pytest.raises(PermissionDenied, match=f"the Group {group_name} does not exist: run openshift/setup.sh"):
            attempt()
    assert read_group(kube, group_name) is None
    other = f"{group_name}-other"
    theirs = make_group(kube, other, ["ldap-admin"])
    try:
        with pytest.raises(PermissionDenied, match="HTTP 403"):
            AttendeeGroup(app, other).set_members({"a"})
        assert read_group(kube, other) == theirs
    finally:
        objects(kube).delete_cluster_custom_object(*GROUPS, other)
