"""openshift/setup.sh, run as a cluster admin with their own session after the apply, on the real API server."""

from __future__ import annotations

import os
import subprocess

import pytest
from kubernetes import client

from tests.deploy import LDAP, SETUP, Deployment, set_oauth
from tests.kube import KUBECTL

pytestmark = pytest.mark.cluster
GITHUB = {"name": "github", "mappingMethod": "claim", "type": "GitHub",
          "github": {"clientID": "abc", "clientSecret": {"name": "github-secret"}, "organizations": ["example"],
                     "hostname": "", "ca": {"name": ""}, "teams": []}}


def oauth(kube) -> dict:
    return client.CustomObjectsApi(kube.admin()).get_cluster_custom_object(
        "config.openshift.io", "v1", "oauths", "cluster")


def run_setup(deployment, *args: str, kubeconfig=None, namespace: str | None = None) -> subprocess.CompletedProcess:
    """`sh openshift/setup.sh` as the admin who applied (kubectl standing in for oc)."""
    env = dict(os.environ, KUBECONFIG=str(kubeconfig or deployment.kube.kubeconfig), OC=str(KUBECTL),
               NAMESPACE=namespace or deployment.namespace)
    return subprocess.run(["sh", str(SETUP), *args], env=env, capture_output=True, text=True, timeout=120)


def set_settings(deployment, **data: str) -> None:
    """An admin's edit of openshift/app/settings.yaml, applied."""
    client.CoreV1Api(deployment.kube.admin()).patch_namespaced_config_map(
        "workshop-registration-settings", deployment.namespace, {"data": data})


def ours(deployment, provider="workshop") -> dict:
    return {"name": provider, "mappingMethod": "claim", "type": "HTPasswd",
            "htpasswd": {"fileData": {"name": deployment.secret_name}}}


def bindings(kube) -> set[tuple[str, str]]:
    rbac = client.RbacAuthorizationV1Api(kube.admin())
    return ({("ClusterRoleBinding", b.metadata.name) for b in rbac.list_cluster_role_binding().items}
            | {(b.metadata.namespace, b.metadata.name) for b in rbac.list_role_binding_for_all_namespaces().items})


def secret_labels(deployment) -> dict:
    return client.CoreV1Api(deployment.kube.admin()).read_namespaced_secret(
        deployment.secret_name, "openshift-config").metadata.labels or {}


def test_setup_keeps_two_providers_adds_ours_once_and_changes_nothing_when_run_again(deployment):
    set_oauth(deployment.kube, [LDAP, GITHUB])
    granted = bindings(deployment.kube)
    first = run_setup(deployment)
    assert first.returncode == 0, first.stderr
    assert "created (empty), this event's own" in first.stdout and "added" in first.stdout
    after = oauth(deployment.kube)
    assert after["spec"]["identityProviders"] == [LDAP, GITHUB, ours(deployment)]
    assert deployment.htpasswd() == b""
    assert secret_labels(deployment)["workshop-registration/event"] == deployment.namespace
    assert bindings(deployment.kube) == granted  # it granted nobody anything: it ran as the admin
    secret_version = deployment.htpasswd_version()

    second = run_setup(deployment)
    assert second.returncode == 0, second.stderr
    assert "left as it is" in second.stdout
    again = oauth(deployment.kube)
    assert again["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
    assert deployment.htpasswd_version() == secret_version


def test_setup_on_a_cluster_without_providers_with_another_provider_name(deployment):
    set_oauth(deployment.kube, None)
    set_settings(deployment, IDENTITY_PROVIDER_NAME="event")
    result = run_setup(deployment)
    assert result.returncode == 0, result.stderr
    assert oauth(deployment.kube)["spec"]["identityProviders"] == [ours(deployment, "event")]


def test_a_secret_that_is_not_the_events_own_is_used_only_when_shared(deployment):
    """A Secret full of other users' logins: refused, untouched; with HTPASSWD_SECRET_SHARED, reused as it is."""
    content = b"".join(b"user%04d:$2y$10$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS\n" % i
                       for i in range(2000))
    deployment.create_htpasswd(content)
    version = deployment.htpasswd_version()
    set_oauth(deployment.kube, [LDAP])
    refused = run_setup(deployment)
    assert refused.returncode == 3 and "is not this event's own" in refused.stderr, refused.stderr
    assert "extras/shared-htpasswd" in refused.stderr and "rewrite every line" in refused.stderr
    assert oauth(deployment.kube)["spec"]["identityProviders"] == [LDAP]

    set_settings(deployment, HTPASSWD_SECRET_SHARED="true")
    shared = run_setup(deployment)
    assert shared.returncode == 0, shared.stderr
    assert deployment.htpasswd() == content and deployment.htpasswd_version() == version
    assert oauth(deployment.kube)["spec"]["identityProviders"] == [LDAP, ours(deployment)]


def test_a_shared_secret_with_a_provider_reading_it_changes_nothing(deployment):
    deployment.create_htpasswd(b"existing:$apr1$x\n")
    set_settings(deployment, HTPASSWD_SECRET_SHARED="true")
    existing = {"name": "htpasswd_provider", "mappingMethod": "claim", "type": "HTPasswd",
                "htpasswd": {"fileData": {"name": deployment.secret_name}}}
    set_oauth(deployment.kube, [existing, GITHUB])
    before = oauth(deployment.kube)
    result = run_setup(deployment)
    assert result.returncode == 0, result.stderr
    assert oauth(deployment.kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


@pytest.mark.parametrize("method", ["add", "lookup", "generate"])
def test_setup_refuses_to_reuse_a_provider_that_does_not_claim(deployment, method):
    """With `add`, an attendee registering an LDAP admin's name would become that user."""
    deployment.create_htpasswd(b"")
    set_settings(deployment, HTPASSWD_SECRET_SHARED="true")
    existing = {"name": "demo-users", "mappingMethod": method, "type": "HTPasswd",
                "htpasswd": {"fileData": {"name": deployment.secret_name}}}
    set_oauth(deployment.kube, [LDAP, existing])
    before = oauth(deployment.kube)
    result = run_setup(deployment)
    assert result.returncode == 3
    assert f"mappingMethod {method}" in result.stderr and "nothing was changed" in result.stderr
    assert oauth(deployment.kube) == before


def test_setup_refuses_a_provider_of_our_name_reading_another_secret(deployment):
    other = {"name": "workshop", "mappingMethod": "claim", "type": "HTPasswd",
             "htpasswd": {"fileData": {"name": "someone-elses-secret"}}}
    set_oauth(deployment.kube, [other])
    before = oauth(deployment.kube)
    result = run_setup(deployment)
    assert result.returncode == 3 and "someone-elses-secret" in result.stderr
    assert oauth(deployment.kube) == before
    assert deployment.kube.kubectl("get", "secret", deployment.secret_name, "-n", "openshift-config",
                                   check=False).returncode != 0  # not even the Secret was created


def test_a_namespace_a_person_requested_first_is_refused_before_anything_changes(kube, tmp_path):
    """A squatter requested the app's namespace before the admin applied openshift/ (any person may): the
    apply goes through, but the setup names the namespace and the requester and changes nothing."""
    deployment = Deployment.prepare(kube, tmp_path)
    squatter = kube.user_kubeconfig("squatter", tmp_path / "squatter", projects=True)
    made = kube.kubectl("create", "--raw", "/apis/project.openshift.io/v1/projectrequests", "-f", "-",
                        kubeconfig=squatter, check=False,
                        input='{"kind":"ProjectRequest","apiVersion":"project.openshift.io/v1",'
                              f'"metadata":{{"name":"{deployment.namespace}"}}}}')
    assert made.returncode == 0, made.stderr
    deployment.create()
    set_oauth(kube, [LDAP])
    result = run_setup(deployment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the namespace {deployment.namespace} was made by a project request of squatter" in result.stderr
    assert f"oc delete project {deployment.namespace}" in result.stderr
    assert oauth(kube)["spec"]["identityProviders"] == [LDAP]
    assert kube.kubectl("get", "secret", deployment.secret_name, "-n", "openshift-config", check=False).returncode != 0


def test_only_a_cluster_admin_can_run_it_and_only_after_the_apply(deployment, tmp_path):
    kube = deployment.kube
    client.RbacAuthorizationV1Api(kube.admin()).create_namespaced_role_binding(deployment.namespace, {
        "metadata": {"name": "instructor-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "instructor"}]})
    set_oauth(kube, [LDAP])
    for who in (kube.user_kubeconfig("instructor", tmp_path / "instructor"),
                kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "app")):
        result = run_setup(deployment, kubeconfig=who)
        assert result.returncode == 1 and "log in as a cluster admin" in result.stderr, result.stderr
    missing = run_setup(deployment, namespace="workshop-never-applied")
    assert missing.returncode == 1 and "oc apply -k" in missing.stderr
    assert oauth(kube)["spec"]["identityProviders"] == [LDAP]
    done = run_setup(deployment)  # and it names who holds the app's token besides the app
    assert done.returncode == 0, done.stderr
    assert "User/instructor (admin)" in done.stdout


def test_remove_takes_out_only_what_it_added(deployment):
    set_oauth(deployment.kube, [LDAP, GITHUB])
    assert run_setup(deployment).returncode == 0
    set_oauth(deployment.kube, oauth(deployment.kube)["spec"]["identityProviders"] + [
        {"name": "later", "mappingMethod": "claim", "type": "HTPasswd", "htpasswd": {"fileData": {"name": "later"}}}])
    removed = run_setup(deployment, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert [p["name"] for p in oauth(deployment.kube)["spec"]["identityProviders"]] == ["corp-ldap", "github", "later"]
    assert deployment.kube.kubectl("get", "secret", deployment.secret_name, "-n", "openshift-config",
                                   check=False).returncode != 0
    again = run_setup(deployment, "--remove")
    assert again.returncode == 0 and "left as it is" in again.stdout, again.stdout + again.stderr


def test_remove_leaves_a_shared_secret_and_its_provider(deployment):
    deployment.create_htpasswd(b"admin:$2y$05$x\n")
    set_settings(deployment, HTPASSWD_SECRET_SHARED="true")
    set_oauth(deployment.kube, [LDAP])
    assert run_setup(deployment).returncode == 0
    before = oauth(deployment.kube)
    removed = run_setup(deployment, "--remove")
    assert removed.returncode == 0 and "not this event's own" in removed.stdout
    assert oauth(deployment.kube) == before and deployment.htpasswd() == b"admin:$2y$05$x\n"
