"""A project per attendee (PROJECT_TEMPLATE, openshift/extras/projects) on the real API server, with the
component's RBAC rendered from openshift/, the app running as its own ServiceAccount, and OpenShift's
project API served by its stand-in (tests/projects_standin.py) in front of the server."""

from __future__ import annotations

import json
import secrets

import pytest
import requests
from kubernetes import client

from tests.deploy import Deployment
from tests.helpers import API, person, published_in_secret, wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster
TEMPLATE = "{username}-lab"


def namespace(kube, name: str):
    try:
        return client.CoreV1Api(kube.admin()).read_namespace(name)
    except client.ApiException as error:
        assert error.status == 404
        return None


def can_i(kube, kubeconfig, *args) -> str:
    return kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


def request_project(kube, who: str, name: str, folder) -> None:
    """A person's `oc new-project` (any person may)."""
    kubeconfig = kube.user_kubeconfig(who, folder / f"{who}-kubeconfig", projects=True)
    body = {"apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest", "metadata": {"name": name}}
    made = kube.kubectl("create", "--raw", "/apis/project.openshift.io/v1/projectrequests", "-f", "-",
                        kubeconfig=kubeconfig, check=False, input=json.dumps(body))
    assert made.returncode == 0, made.stderr


def test_the_app_requests_each_project_and_is_admin_of_those_only(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("projects",))
    deployment.create_htpasswd(b"")
    app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "app-kubeconfig", projects=True)
    rights = {right: can_i(kube, app, *right) for right in [
        ("create", "projectrequests.project.openshift.io"), ("create", "namespaces"), ("delete", "namespaces"),
        ("bind", "clusterroles/admin"), ("bind", "clusterroles/cluster-admin"),
        ("bind", f"clusterroles/workshop-registration-project-quota.{deployment.namespace}"),
        ("create", "rolebindings", "-n", "default"), ("create", "resourcequotas", "-n", "default"),
        ("create", "clusterrolebindings"), ("update", "namespaces"),
        ("get", "configmaps/workshop-registration-project", "-n", deployment.namespace)]}
    assert rights == {
        ("create", "projectrequests.project.openshift.io"): "yes", ("create", "namespaces"): "no",
        ("delete", "namespaces"): "no", ("bind", "clusterroles/admin"): "no",
        ("bind", "clusterroles/cluster-admin"): "no",
        ("bind", f"clusterroles/workshop-registration-project-quota.{deployment.namespace}"): "yes",
        ("create", "rolebindings", "-n", "default"): "no", ("create", "resourcequotas", "-n", "default"): "no",
        ("create", "clusterrolebindings"): "no", ("update", "namespaces"): "no",
        ("get", "configmaps/workshop-registration-project", "-n", deployment.namespace): "yes"}

    core, rbac = client.CoreV1Api(kube.admin()), client.RbacAuthorizationV1Api(kube.admin())
    tag = f"p{secrets.token_hex(3)}"
    request_project(kube, "attendee", f"{tag}-2-lab", tmp_path)  # a person took an attendee's project name first
    env = deployment.app_env(tmp_path / "data", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    with gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        for number in (1, 2):
            assert requests.post(base + API, json=person(number, tag), timeout=60).status_code == 201
        published_in_secret(deployment, f"{tag}-1", f"{tag}-2")
        made = f"{tag}-1-lab"
        wait_until(lambda: any(b.metadata.name == "workshop-admin"
                               for b in rbac.list_namespaced_role_binding(made).items))
    ours = namespace(kube, made)
    app_user = f"system:serviceaccount:{deployment.namespace}:workshop-registration"
    assert ours.metadata.annotations["openshift.io/requester"] == app_user
    found = {b.metadata.name: b for b in rbac.list_namespaced_role_binding(made).items}
    assert {name: (b.role_ref.name, [(s.kind, s.name) for s in b.subjects]) for name, b in found.items()} == {
        "admin": ("admin", [("User", f"system:serviceaccount:{deployment.namespace}:workshop-registration")]),
        "workshop-quota": (f"workshop-registration-project-quota.{deployment.namespace}",
                           [("ServiceAccount", "workshop-registration")]),
        "workshop-admin": ("admin", [("User", f"{tag}-1")])}
    [quota] = core.list_namespaced_resource_quota(made).items
    [limits] = core.list_namespaced_limit_range(made).items
    assert quota.spec.hard["pods"] == "20" and quota.spec.hard["services.nodeports"] == "0"
    assert quota.spec.hard["requests.storage"] and quota.spec.hard["limits.ephemeral-storage"]
    # The quota and limits were there before the attendee was made admin, and the attendee cannot lift them.
    assert int(quota.metadata.resource_version) < int(found["workshop-admin"].metadata.resource_version)
    assert int(limits.metadata.resource_version) < int(found["workshop-admin"].metadata.resource_version)
    for verb in ("delete", "update", "create"):
        assert can_i(kube, kube.kubeconfig, verb, "resourcequotas", "-n", made, "--as", f"{tag}-1") == "no", verb
    assert can_i(kube, kube.kubeconfig, "create", "pods", "-n", made, "--as", f"{tag}-1") == "yes"

    again = deployment.cli(tmp_path / "cli", "projects", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    assert again.returncode == 0, again.stderr  # idempotent: nothing duplicated, nothing clobbered
    assert f"{tag}-1-lab: exists" in again.stderr and f"{tag}-2-lab: foreign" in again.stderr
    assert f"deletes it (oc delete project {tag}-2-lab), and runs projects again" in again.stderr  # what to do
    assert len(rbac.list_namespaced_role_binding(made).items) == 3
    assert [b.metadata.name for b in rbac.list_namespaced_role_binding(f"{tag}-2-lab").items] == ["admin"]

    removed = deployment.cli(tmp_path / "cli", "remove", f"{tag}-1", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    assert removed.returncode == 0 and "project deleted" in removed.stderr, removed.stderr
    assert namespace(kube, made).metadata.deletion_timestamp is not None  # terminating (no controller)
    kept = deployment.cli(tmp_path / "cli", "remove", f"{tag}-2", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    assert kept.returncode == 0 and namespace(kube, f"{tag}-2-lab").metadata.deletion_timestamp is None
    assert "project" not in kept.stdout and f"oc delete project {tag}-2-lab" in kept.stderr  # a note, no command


def test_a_project_whose_quota_cannot_be_set_is_taken_back(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("projects",))
    deployment.create_htpasswd(b"")
    client.CoreV1Api(kube.admin()).patch_namespaced_config_map(
        "workshop-registration-project", deployment.namespace, {"data": {"resourcequota": "hard:\n  pods: many\n"}})
    tag = f"r{secrets.token_hex(3)}"
    log = tmp_path / "gunicorn.log"
    env = deployment.app_env(tmp_path / "data", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    with gunicorn(env, workers=1, log_path=log) as base:
        assert requests.post(base + API, json=person(1, tag), timeout=60).status_code == 201
        wait_until(lambda: "event=project_failed" in log.read_text())
    made = namespace(kube, f"{tag}-1-lab")
    assert made is None or made.metadata.deletion_timestamp is not None
    assert ("DELETE", f"projects/{tag}-1-lab") in kube.project_api().requests


def test_without_the_component_no_project_is_made_and_the_commands_are_given(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    tag = f"q{secrets.token_hex(3)}"
    log = tmp_path / "gunicorn.log"
    env = deployment.app_env(tmp_path / "data", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    with gunicorn(env, workers=1, log_path=log) as base:
        assert requests.post(base + API, json=person(1, tag), timeout=60).status_code == 201
        published_in_secret(deployment, f"{tag}-1")
        wait_until(lambda: "event=project_denied" in log.read_text())
    assert namespace(kube=deployment.kube, name=f"{tag}-1-lab") is None
    assert f"oc new-project {tag}-1-lab" in log.read_text()
    projects = deployment.cli(tmp_path / "cli", "projects", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    assert projects.stdout.strip() == (f"oc new-project {tag}-1-lab --skip-config-write && "
                                       f"oc adm policy add-role-to-user admin {tag}-1 -n {tag}-1-lab")
    removed = deployment.cli(tmp_path / "cli", "remove", f"{tag}-1", projects=True, PROJECT_TEMPLATE=TEMPLATE)
    assert removed.returncode == 0 and f"oc delete project {tag}-1-lab --ignore-not-found" in removed.stderr


def test_seats_made_from_the_command_line_get_their_projects_before_it_ends(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("projects",))
    deployment.create_htpasswd(b"")
    tag = f"s{secrets.token_hex(3)}x"
    made = deployment.cli(tmp_path / "cli", "seats", "create", "--count", "2", "--prefix", tag, projects=True,
                          SEATS="true", PROJECT_TEMPLATE=TEMPLATE)
    assert made.returncode == 0, made.stderr
    assert f"{tag}1-lab: created" in made.stderr and f"{tag}2-lab: created" in made.stderr
    for number in (1, 2):
        bindings = client.RbacAuthorizationV1Api(kube.admin()).list_namespaced_role_binding(f"{tag}{number}-lab")
        assert ("admin", f"{tag}{number}") in {(b.role_ref.name, b.subjects[0].name) for b in bindings.items}
