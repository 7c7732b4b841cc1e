"""Console and API addresses discovered in the cluster (real API server, RBAC from openshift/).

On OpenShift, openshift-config-managed/console-public and Infrastructure/cluster are maintained by the
cluster's operators; here the test creates them as those operators would.
"""

from __future__ import annotations

import pytest
import requests
from kubernetes import client

from tests.helpers import person
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster
CONSOLE = "https://console-openshift-console.apps.workshop.example.com"
API_SERVER = "https://api.workshop.example.com:6443"


@pytest.fixture
def cluster_addresses(kube):
    core = client.CoreV1Api(kube.admin())
    objects = client.CustomObjectsApi(kube.admin())
    core.create_namespaced_config_map("openshift-config-managed", {
        "metadata": {"name": "console-public"}, "data": {"consoleURL": CONSOLE}})
    objects.create_cluster_custom_object("config.openshift.io", "v1", "infrastructures", {
        "apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"},
        "spec": {"cloudConfig": {"name": ""}, "platformSpec": {"type": "None"}}})
    objects.patch_cluster_custom_object_status("config.openshift.io", "v1", "infrastructures", "cluster", {
        "status": {"apiServerURL": API_SERVER, "apiServerInternalURI": API_SERVER,
                   "infrastructureName": "workshop", "platform": "None", "etcdDiscoveryDomain": "",
                   "controlPlaneTopology": "SingleReplica", "infrastructureTopology": "SingleReplica"}})
    yield
    core.delete_namespaced_config_map("console-public", "openshift-config-managed")
    objects.delete_cluster_custom_object("config.openshift.io", "v1", "infrastructures", "cluster")


def test_console_and_api_addresses_are_discovered(deployment, cluster_addresses, tmp_path):
    deployment.create_htpasswd(b"")
    with gunicorn(deployment.app_env(tmp_path / "data", LOGIN_CHECK="off"), workers=1) as base:
        body = requests.post(base + "/api/v1/registrations", json=person(1), timeout=60).json()
    assert body["console_url"] == CONSOLE and body["api_url"] == API_SERVER
    assert body["login_command"] == f"oc login --username=attendee-1 {API_SERVER}"


def test_configured_addresses_win_and_missing_ones_are_left_out(deployment, tmp_path):
    deployment.create_htpasswd(b"")
    env = deployment.app_env(tmp_path / "data", LOGIN_CHECK="off", API_URL="https://api.configured:6443")
    with gunicorn(env, workers=1) as base:
        body = requests.post(base + "/api/v1/registrations", json=person(2), timeout=60).json()
    assert body["api_url"] == "https://api.configured:6443" and body["console_url"] is None


def test_the_join_link_comes_from_the_apps_own_route(deployment, tmp_path):
    """The room screen's address: the Route openshift/ created (read by name, with the app's account), https
    since it has TLS — and PUBLIC_URL when set."""
    from app.discovery import Discovery
    from app.settings import Settings
    from app.store import make_store

    client.CustomObjectsApi(deployment.kube.admin()).patch_namespaced_custom_object(
        "route.openshift.io", "v1", deployment.namespace, "routes", "workshop-registration",
        {"spec": {"host": "register.apps.workshop.example.com"}})  # what the router would set
    deployment.create_htpasswd(b"")
    settings = Settings.from_env(deployment.app_env(tmp_path / "data"))
    assert Discovery(settings, make_store(settings).info).public_url() == "https://register.apps.workshop.example.com"
    configured = Settings.from_env(deployment.app_env(tmp_path / "other", PUBLIC_URL="https://join.example.com/"))
    assert Discovery(configured, make_store(configured).info).public_url() == "https://join.example.com"
