"""A project per attendee (PROJECT_TEMPLATE, openshift/extras/projects) on the real API server, with the
component's RBAC rendered from openshift/ and the app running as its own ServiceAccount."""

from __future__ import annotations

import secrets

import pytest
import requests
from kubernetes import client

from tests.deploy import Deployment
from tests.helpers import API, person, published_in_secret, wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster
EVENT, ATTENDEE = "workshop-registration/event", "workshop-registration/attendee"


def namespace(kube, name: str):
    try:
        return client.CoreV1Api(kube.admin()).read_namespace(name)
    except client.ApiException as error:
        assert error.status == 404
        return None


def test_each_written_attendee_gets_a_project_a_foreign_one_is_refused_and_remove_deletes_it(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("projects",))
    deployment.create_htpasswd(b"")
    as_app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "app-kubeconfig")
    rights = {right: kube.kubectl("auth", "can-i", *right, kubeconfig=as_app, check=False).stdout.strip()
              for right in [("create", "namespaces"), ("bind", "clusterroles/admin"),
                            ("bind", "clusterroles/cluster-admin"), ("create", "clusterrolebindings"),
                            ("get", "secrets", "-n", "kube-system"), ("update", "namespaces"),
                            ("get", "configmaps/workshop-registration-project", "-n", deployment.namespace)]}
    assert rights == {("create", "namespaces"): "yes", ("bind", "clusterroles/admin"): "yes",
                      ("bind", "clusterroles/cluster-admin"): "no", ("create", "clusterrolebindings"): "no",
                      ("get", "secrets", "-n", "kube-system"): "no", ("update", "namespaces"): "no",
                      ("get", "configmaps/workshop-registration-project", "-n", deployment.namespace): "yes"}
    core, rbac = client.CoreV1Api(kube.admin()), client.RbacAuthorizationV1Api(kube.admin())
    tag = f"p{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": f"{tag}-2-lab"}})  # someone else's, under an attendee's name
    env = deployment.app_env(tmp_path / "data", PROJECT_TEMPLATE="{username}-lab")
    with gunicorn(env, workers=1) as base:
        for number in (1, 2):
            assert requests.post(base + API, json=person(number, tag), timeout=60).status_code == 201
        published_in_secret(deployment, f"{tag}-1", f"{tag}-2")
        ours = wait_until(lambda: namespace(kube, f"{tag}-1-lab"))
        assert ours.metadata.labels[EVENT] == deployment.namespace and ours.metadata.labels[ATTENDEE] == f"{tag}-1"
        binding = wait_until(lambda: rbac.list_namespaced_role_binding(f"{tag}-1-lab").items)
        assert [(b.role_ref.kind, b.role_ref.name, [(s.kind, s.name) for s in b.subjects]) for b in binding] == [
            ("ClusterRole", "admin", [("User", f"{tag}-1")])]
        quota = wait_until(lambda: core.list_namespaced_resource_quota(f"{tag}-1-lab").items)
        assert quota[0].spec.hard["pods"] == "20"  # from the ConfigMap openshift/extras/projects ships
        wait_until(lambda: core.list_namespaced_limit_range(f"{tag}-1-lab").items)

    again = deployment.cli(tmp_path / "cli", "projects", PROJECT_TEMPLATE="{username}-lab")  # idempotent: nothing duplicated, nothing clobbered
    assert again.returncode == 0, again.stderr
    assert f"{tag}-1-lab: exists" in again.stderr and f"{tag}-2-lab: foreign" in again.stderr
    assert len(rbac.list_namespaced_role_binding(f"{tag}-1-lab").items) == 1
    assert rbac.list_namespaced_role_binding(f"{tag}-2-lab").items == []  # the foreign one is untouched
    assert (namespace(kube, f"{tag}-2-lab").metadata.labels or {}).get(EVENT) is None

    removed = deployment.cli(tmp_path / "cli", "remove", f"{tag}-1", PROJECT_TEMPLATE="{username}-lab")
    assert removed.returncode == 0 and "project deleted" in removed.stderr, removed.stderr
    assert namespace(kube, f"{tag}-1-lab").metadata.deletion_timestamp is not None  # terminating (no controller)
    cleanup = deployment.cli(tmp_path / "cli", "remove", f"{tag}-2", PROJECT_TEMPLATE="{username}-lab")
    assert cleanup.returncode == 0 and namespace(kube, f"{tag}-2-lab").metadata.deletion_timestamp is None


def test_without_the_component_no_namespace_is_made_and_the_commands_are_given(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    tag = f"q{secrets.token_hex(3)}"
    log = tmp_path / "gunicorn.log"
    env = deployment.app_env(tmp_path / "data", PROJECT_TEMPLATE="{username}-lab")
    with gunicorn(env, workers=1, log_path=log) as base:
        assert requests.post(base + API, json=person(1, tag), timeout=60).status_code == 201
        published_in_secret(deployment, f"{tag}-1")
        wait_until(lambda: "event=project_denied" in log.read_text())
    assert namespace(kube=deployment.kube, name=f"{tag}-1-lab") is None
    assert f"oc new-project {tag}-1-lab" in log.read_text()
    projects = deployment.cli(tmp_path / "cli", "projects", PROJECT_TEMPLATE="{username}-lab")
    assert projects.stdout.strip() == (f"oc new-project {tag}-1-lab --skip-config-write && "
                                       f"oc adm policy add-role-to-user admin {tag}-1 -n {tag}-1-lab")
    removed = deployment.cli(tmp_path / "cli", "remove", f"{tag}-1", PROJECT_TEMPLATE="{username}-lab")
    assert f"oc delete project {tag}-1-lab --ignore-not-found" in removed.stdout.splitlines()


def test_seats_made_from_the_command_line_get_their_projects_before_it_ends(kube, tmp_path):
    deployment = Deployment.apply(kube, tmp_path, ("projects",))
    deployment.create_htpasswd(b"")
    tag = f"s{secrets.token_hex(3)}x"
    made = deployment.cli(tmp_path / "cli", "seats", "create", "--count", "2", "--prefix", tag, SEATS="true",
                          PROJECT_TEMPLATE="{username}-lab")
    assert made.returncode == 0, made.stderr
    assert f"{tag}1-lab: created" in made.stderr and f"{tag}2-lab: created" in made.stderr
    for number in (1, 2):
        labels = namespace(kube, f"{tag}{number}-lab").metadata.labels
        assert labels[EVENT] == deployment.namespace and labels[ATTENDEE] == f"{tag}{number}"
