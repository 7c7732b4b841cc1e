"""openshift/preflight.sh against the test API server, one case per thing it detects.

The cluster-wide objects it reads are set up as OpenShift has them: the image registry's Config (its
CRD from openshift/api), the `python` ImageStream in `openshift` (stand-in CRD: only the fields the script
reads), OAuth/cluster, control-plane Nodes (plain Node objects; no kubelet runs). Cases about the app's
namespace run on a copy of openshift/ with a namespace of their own.
kubectl stands in for oc: the script uses only verbs both have (get, auth can-i).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from tests.deploy import render
from tests.kube import KUBECTL, ROOT

pytestmark = pytest.mark.cluster

PREFLIGHT = ROOT / "openshift" / "preflight.sh"
SECRET, PROVIDER = "workshop-registration-htpasswd.workshop-registration", "workshop"
LDAP = {"name": "corp", "mappingMethod": "claim", "type": "LDAP", "ldap": {"url": "ldap://ldap.example.com/ou=u"}}


def htpasswd_provider(name: str, secret: str, method: str = "claim") -> dict:
    return {"name": name, "mappingMethod": method, "type": "HTPasswd", "htpasswd": {"fileData": {"name": secret}}}


class Cluster:
    """The cluster-wide state the preflight reads, set per test and put back afterwards."""

    def __init__(self, kube):
        self.kube = kube
        self.custom = client.CustomObjectsApi(kube.admin())
        self.core = client.CoreV1Api(kube.admin())
        self.nodes: list[str] = []

    def _put_cluster(self, group: str, plural: str, body: dict) -> None:
        body = {"metadata": {"name": "cluster"}, **body}
        try:
            current = self.custom.get_cluster_custom_object(group, "v1", plural, "cluster")
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.custom.replace_cluster_custom_object(group, "v1", plural, "cluster", body)
        except client.ApiException as error:
            if error.status != 404:
                raise
            self.custom.create_cluster_custom_object(group, "v1", plural, body)

    def registry(self, state: str | None) -> None:
        group, plural = "imageregistry.operator.openshift.io", "configs"
        if state is None:
            with contextlib.suppress(client.ApiException):
                self.custom.delete_cluster_custom_object(group, "v1", plural, "cluster")
            return
        self._put_cluster(group, plural, {"apiVersion": f"{group}/v1", "kind": "Config",
                                          "spec": {"managementState": state, "replicas": 1}})

    def providers(self, providers: list[dict]) -> None:
        self._put_cluster("config.openshift.io", "oauths", {"apiVersion": "config.openshift.io/v1", "kind": "OAuth",
                                                            "spec": {"identityProviders": providers}})

    def image_stream(self, name: str, tag: str, imported: bool = True) -> None:
        self.kube.ensure_namespace("openshift")
        body = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {"name": name},
                "spec": {"tags": [{"name": tag, "from": {"kind": "DockerImage", "name": f"example.com/{name}:{tag}"}}]},
                "status": {"tags": [{"tag": tag, "items": [
                    {"dockerImageReference": f"example.com/{name}@sha256:{'1' * 64}", "image": f"sha256:{'1' * 64}"}]}]
                           if imported else []}}
        self.remove_image_stream(name)
        self.custom.create_namespaced_custom_object("image.openshift.io", "v1", "openshift", "imagestreams", body)

    def remove_image_stream(self, name: str) -> None:
        with contextlib.suppress(client.ApiException):
            self.custom.delete_namespaced_custom_object("image.openshift.io", "v1", "openshift", "imagestreams", name)

    def control_plane(self, count: int) -> None:
        for name in self.nodes:
            self.core.delete_node(name)
        self.nodes = [f"master-{i}" for i in range(count)]
        for name in self.nodes:
            self.core.create_node({"metadata": {"name": name, "labels": {
                "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": ""}}})

    def ready(self) -> None:
        """A standard connected cluster with three control-plane nodes."""
        self.registry("Managed")
        self.image_stream("python", "3.12-ubi9")
        self.providers([LDAP])
        self.control_plane(3)


@pytest.fixture
def cluster(kube):
    state = Cluster(kube)
    state.ready()
    yield state
    state.control_plane(0)
    state.registry(None)
    state.remove_image_stream("python")


def preflight(kube, kubeconfig: Path | None = None, script: Path = PREFLIGHT,
              **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, OC=str(KUBECTL), KUBECONFIG=str(kubeconfig or kube.kubeconfig), **env)
    return subprocess.run(["sh", str(script)], env=environment, capture_output=True, text=True, timeout=120)


def copy(tmp_path, components: tuple[str, ...] = ()) -> tuple[str, Path]:
    """openshift/ for a namespace of its own (as an admin would edit it); its preflight.sh."""
    namespace = f"workshop-{secrets.token_hex(3)}"
    render(namespace, tmp_path, components)
    return namespace, tmp_path / "openshift" / "preflight.sh"


def blocked_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("BLOCKED")]


def test_a_standard_cluster_is_ready(kube, cluster):
    result = preflight(kube)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 control-plane nodes" in result.stdout
    assert f"will add the identity provider {PROVIDER} reading openshift-config/{SECRET}" in result.stdout
    assert result.stdout.rstrip().endswith(f"ready: oc apply -k {PREFLIGHT.parent}/ && sh {PREFLIGHT.parent}/setup.sh")


def test_a_single_node_cluster_is_ready_with_a_warning_about_logins_during_rollouts(kube, cluster):
    cluster.control_plane(1)
    result = preflight(kube)
    assert result.returncode == 2, result.stdout
    assert "WARNING  a single control-plane node" in result.stdout and "nobody can log in" in result.stdout


@pytest.mark.parametrize("state,code,words", [
    ("Removed", 1, "BLOCKED  the internal image registry is Removed"),
    (None, 1, "BLOCKED  the internal image registry is not installed"),
    ("Unmanaged", 2, "WARNING  the internal image registry is Unmanaged"),
])
def test_the_image_registry(kube, cluster, state, code, words):
    cluster.registry(state)
    result = preflight(kube)
    assert result.returncode == code and words in result.stdout, result.stdout
    if state == "Removed":  # the fix, spelled out: the registry on emptyDir storage
        assert '"managementState":"Managed","storage":{"emptyDir":{}}' in result.stdout


def test_a_missing_or_unimported_builder_tag_blocks(kube, cluster):
    cluster.remove_image_stream("python")
    missing = preflight(kube)
    assert missing.returncode == 1 and "python:3.12-ubi9 is missing" in missing.stdout
    assert "oc import-image python:3.12-ubi9" in missing.stdout
    cluster.image_stream("python", "3.12-ubi9", imported=False)  # a disconnected cluster: the import failed
    failed = preflight(kube)
    assert failed.returncode == 1 and "has no image" in failed.stdout


@pytest.mark.parametrize("method", ["add", "lookup", "generate"])
def test_a_provider_reading_our_secret_that_does_not_claim_blocks(kube, cluster, method):
    cluster.providers([LDAP, htpasswd_provider("demo", SECRET, method)])
    result = preflight(kube)
    assert result.returncode == 1, result.stdout
    assert f"demo (mappingMethod {method}) reads {SECRET}" in result.stdout


def test_a_claiming_provider_reading_our_secret_is_reused(kube, cluster):
    cluster.providers([LDAP, htpasswd_provider("demo", SECRET)])
    result = preflight(kube)
    assert result.returncode == 0 and f"demo already reads {SECRET}" in result.stdout, result.stdout


def test_a_provider_of_our_name_reading_another_secret_blocks(kube, cluster):
    cluster.providers([htpasswd_provider(PROVIDER, "someone-elses")])
    result = preflight(kube)
    assert result.returncode == 1
    assert f"named {PROVIDER} already exists (HTPasswd reading someone-elses)" in result.stdout


def test_another_htpasswd_provider_is_pointed_out_and_the_settings_file_is_read(kube, cluster, tmp_path):
    cluster.providers([htpasswd_provider("demo", "demo-users")])
    noted = preflight(kube)
    assert noted.returncode == 0 and "other htpasswd providers exist (demo reads demo-users)" in noted.stdout
    # The names come from openshift/app/settings.yaml (here, as an admin would edit it) or the environment.
    reused = preflight(kube, HTPASSWD_SECRET_NAME="demo-users")
    assert reused.returncode == 0 and "demo already reads demo-users" in reused.stdout


def test_without_cluster_admin_rights_it_blocks_and_checks_nothing_else(kube, cluster, tmp_path):
    kube.ensure_namespace("preflight-someone")
    sa_dir = kube.service_account_dir("preflight-someone", "someone", tmp_path / "sa")
    result = preflight(kube, kube.kubeconfig_for(sa_dir, tmp_path / "kubeconfig"))
    assert result.returncode == 1 and "without cluster-admin rights" in result.stdout
    assert "registry" not in result.stdout


def test_an_unreachable_cluster_blocks(kube, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(kube.kubeconfig.read_text().replace(kube.url, "https://127.0.0.1:1"))
    result = preflight(kube, config)
    assert result.returncode == 1 and "cannot reach the cluster" in result.stdout


def test_a_namespace_a_person_requested_first_blocks(kube, cluster, tmp_path):
    namespace, script = copy(tmp_path)
    squatter = kube.user_kubeconfig("squatter", tmp_path / "squatter", projects=True)
    made = kube.kubectl("create", "--raw", "/apis/project.openshift.io/v1/projectrequests", "-f", "-",
                        kubeconfig=squatter, check=False,
                        input=f'{{"kind":"ProjectRequest","apiVersion":"project.openshift.io/v1","metadata":{{"name":"{namespace}"}}}}')
    assert made.returncode == 0, made.stderr
    result = preflight(kube, script=script)
    assert result.returncode == 1, result.stdout
    assert f"BLOCKED  the namespace {namespace} was made by a project request of squatter" in result.stdout
    assert f"oc delete project {namespace}" in result.stdout


def test_a_namespace_made_otherwise_blocks_and_one_of_an_earlier_apply_is_fine(kube, cluster, tmp_path):
    namespace, script = copy(tmp_path)
    kube.ensure_namespace(namespace)  # made by hand, not by this deploy
    result = preflight(kube, script=script)
    assert result.returncode == 1 and f"the namespace {namespace} exists and was not made by oc apply" in result.stdout
    applied = kube.kubectl("apply", "-f", str(tmp_path / "rendered.yaml"), check=False)
    assert applied.returncode == 0, applied.stderr
    client.RbacAuthorizationV1Api(kube.admin()).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "instructor"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "instructor"}]})
    again = preflight(kube, script=script)
    assert again.returncode == 0, again.stdout
    assert f"the namespace {namespace} was made by an earlier apply" in again.stdout
    assert "User/instructor (admin)" in again.stdout  # who holds the app's token, said before the event


def test_the_setup_namespace_of_an_earlier_version_is_pointed_out(kube, cluster, tmp_path):
    namespace, script = copy(tmp_path)
    kube.ensure_namespace(f"{namespace}-setup")
    result = preflight(kube, script=script)
    assert result.returncode == 2 and f"oc delete namespace {namespace}-setup" in result.stdout


def test_a_secret_of_that_name_that_is_not_the_events_blocks_unless_shared(kube, cluster, tmp_path):
    namespace, script = copy(tmp_path / "own")
    name = f"workshop-registration-htpasswd.{namespace}"
    client.CoreV1Api(kube.admin()).create_namespaced_secret("openshift-config", {
        "metadata": {"name": name}, "data": {"htpasswd": ""}})
    result = preflight(kube, script=script)
    assert result.returncode == 1 and f"openshift-config/{name} exists and is not this event's own" in result.stdout
    _, shared = copy(tmp_path / "shared", ("shared-htpasswd",))
    reused = preflight(kube, script=shared)
    assert reused.returncode == 0 and "htpass-secret" in reused.stdout, reused.stdout


def test_remove_users_needs_validating_admission_policy(kube, cluster, tmp_path):
    _, script = copy(tmp_path, ("remove-users",))
    result = preflight(kube, script=script)
    assert result.returncode == 0 and "ValidatingAdmissionPolicy is served" in result.stdout, result.stdout


def test_instant_logins_are_recommended_on_a_single_node_and_checked_when_chosen(kube, cluster, tmp_path):
    cluster.control_plane(1)
    htpasswd_mode = preflight(kube)
    assert htpasswd_mode.returncode == 2 and "enable extras/basic-auth" in htpasswd_mode.stdout
    namespace, script = copy(tmp_path, ("basic-auth",))
    chosen = preflight(kube, script=script)
    assert chosen.returncode == 0, chosen.stdout
    assert "no registration rolls the OAuth server out" in chosen.stdout
    assert f"asking https://workshop-registration.{namespace}.svc:8080/api/v1/basic-auth" in chosen.stdout
    cluster.providers([{"name": PROVIDER, "mappingMethod": "claim", "type": "BasicAuth", "basicAuth": {
        "url": "https://elsewhere.example.com/auth", "ca": {"name": ""}, "tlsClientCert": {"name": ""},
        "tlsClientKey": {"name": ""}}}])
    clash = preflight(kube, script=script)
    assert clash.returncode == 1 and "not this event's BasicAuth remote" in clash.stdout
