"""Instant logins on the real API server: openshift/ with extras/basic-auth (the app's rights, its TLS),
openshift/setup.sh making the provider, its client certificate and CA copies in openshift-config, and the
app in cluster mode answering the stand-in of the OAuth server's client, through an API server outage."""

from __future__ import annotations

import base64
import os
import signal
import subprocess

import pytest
import requests
from kubernetes import client

from tests import certs
from tests.basicauth_standin import BasicAuthClient
from tests.deploy import LDAP, SETUP, Deployment, set_oauth
from tests.helpers import degraded, person, wait_until
from tests.kube import KUBECTL
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster


def can_i(kube, kubeconfig, *args) -> str:
    return kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


def oauth(kube) -> dict:
    return client.CustomObjectsApi(kube.admin()).get_cluster_custom_object("config.openshift.io", "v1", "oauths",
                                                                           "cluster")


def inject_service_ca(deployment, pem: str) -> None:
    """What OpenShift's service-ca operator does (a STAND-IN: no such operator here) for a ConfigMap
    annotated service.beta.openshift.io/inject-cabundle: its data becomes the CA under service-ca.crt."""
    client.CoreV1Api(deployment.kube.admin()).patch_namespaced_config_map(
        "workshop-registration-service-ca", deployment.namespace, {"data": {"service-ca.crt": pem}})


def run_setup(deployment, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KUBECONFIG=str(deployment.kube.kubeconfig), OC=str(KUBECTL), NAMESPACE=deployment.namespace)
    return subprocess.run(["sh", str(SETUP), *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def basic(kube, tmp_path):
    return Deployment.apply(kube, tmp_path, ("basic-auth",))


def test_the_app_needs_no_right_in_openshift_config_nor_on_the_oauth_server(basic, tmp_path):
    kube = basic.kube
    app = kube.kubeconfig_for(basic.sa_dir(), tmp_path / "app")
    for right in [("get", "secrets", "-n", "openshift-config"), ("update", "secrets", "-n", "openshift-config"),
                  ("get", f"secrets/workshop-registration-htpasswd.{basic.namespace}", "-n", "openshift-config"),
                  ("get", "deployments.apps/oauth-openshift", "-n", "openshift-authentication"),
                  ("patch", "oauths.config.openshift.io/cluster")]:
        assert can_i(kube, app, *right) == "no", right
    for right in [("get", "secrets/workshop-registration-logins", "-n", basic.namespace),
                  ("update", "secrets/workshop-registration-logins", "-n", basic.namespace)]:
        assert can_i(kube, app, *right) == "yes", right
    kinds = {(o["kind"], o["metadata"]["name"]) for o in basic.objects}
    assert ("PodDisruptionBudget", "workshop-registration") in kinds
    route = next(o for o in basic.objects if o["kind"] == "Route")
    assert route["spec"]["tls"]["termination"] == "reencrypt" and route["spec"]["port"]["targetPort"] == "https"
    container = next(o for o in basic.objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    policy = next(o for o in basic.objects if o["kind"] == "NetworkPolicy")
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-authentication"}},
            "podSelector": {"matchLabels": {"app": "oauth-openshift"}}} in policy["spec"]["ingress"][0]["from"]


def test_setup_adds_the_provider_with_its_client_certificate_and_ca_once(basic, tmp_path):
    kube, core = basic.kube, client.CoreV1Api(basic.kube.admin())
    set_oauth(kube, [LDAP])
    service_ca = certs.ca(tmp_path / "pki", "service-ca")
    inject_service_ca(basic, service_ca.cert.read_text())
    first = run_setup(basic)
    assert first.returncode == 0, first.stderr
    ns = basic.namespace
    client_secret, ca_map = f"workshop-registration-oauth-client.{ns}", f"workshop-registration-service-ca.{ns}"
    assert oauth(kube)["spec"]["identityProviders"] == [LDAP, {
        "name": "workshop", "mappingMethod": "claim", "type": "BasicAuth", "basicAuth": {
            "url": f"https://workshop-registration.{ns}.svc:8080/api/v1/basic-auth", "ca": {"name": ca_map},
            "tlsClientCert": {"name": client_secret}, "tlsClientKey": {"name": client_secret}}}]
    assert core.read_namespaced_config_map(ca_map, "openshift-config").data == {"ca.crt": service_ca.cert.read_text()}
    secret = core.read_namespaced_secret(client_secret, "openshift-config")
    assert secret.type == "kubernetes.io/tls" and secret.metadata.labels["workshop-registration/event"] == ns
    (tmp_path / "tls.crt").write_bytes(base64.b64decode(secret.data["tls.crt"]))
    (tmp_path / "tls.key").write_bytes(base64.b64decode(secret.data["tls.key"]))
    (tmp_path / "ca.crt").write_text(core.read_namespaced_config_map("workshop-registration-oauth-client-ca", ns)
                                     .data["ca.crt"])
    # What the authentication operator demands (datasync/validation.go): one certificate, ClientAuth, a key.
    assert (tmp_path / "tls.crt").read_text().count("BEGIN CERTIFICATE") == 1
    usage = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "tls.crt"), "-noout", "-ext", "extendedKeyUsage"],
                           capture_output=True, text=True, check=True).stdout
    assert "TLS Web Client Authentication" in usage
    subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "tls.key"), "-noout"], check=True)
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "tls.crt")],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr  # the app trusts exactly that client
    apps = client.AppsV1Api(kube.admin())
    restarted = apps.read_namespaced_deployment("workshop-registration", ns).spec.template.metadata.annotations
    assert "kubectl.kubernetes.io/restartedAt" in (restarted or {})  # gunicorn loads the new CA

    versions = (oauth(kube)["metadata"]["resourceVersion"], secret.metadata.resource_version,
                core.read_namespaced_config_map(ca_map, "openshift-config").metadata.resource_version)
    again = run_setup(basic)
    assert again.returncode == 0, again.stderr
    assert (oauth(kube)["metadata"]["resourceVersion"], core.read_namespaced_secret(client_secret, "openshift-config")
            .metadata.resource_version, core.read_namespaced_config_map(ca_map, "openshift-config").metadata
            .resource_version) == versions  # each change of these rolls the OAuth server out: none
    rotated = certs.ca(tmp_path / "pki2", "service-ca-2")  # the service CA rotated: only its copy changes
    inject_service_ca(basic, rotated.cert.read_text())
    assert run_setup(basic).returncode == 0
    assert core.read_namespaced_config_map(ca_map, "openshift-config").data["ca.crt"] == rotated.cert.read_text()
    assert oauth(kube)["metadata"]["resourceVersion"] == versions[0]

    removed = run_setup(basic, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert oauth(kube)["spec"]["identityProviders"] == [LDAP]
    for read in (lambda: core.read_namespaced_secret(client_secret, "openshift-config"),
                 lambda: core.read_namespaced_config_map(ca_map, "openshift-config")):
        with pytest.raises(client.ApiException):
            read()


def test_setup_refuses_a_provider_of_our_name_that_is_not_ours(basic, tmp_path):
    other = {"name": "workshop", "mappingMethod": "claim", "type": "BasicAuth",
             "basicAuth": {"url": "https://somewhere.example.com/auth", "ca": {"name": ""},
                           "tlsClientCert": {"name": ""}, "tlsClientKey": {"name": ""}}}
    set_oauth(basic.kube, [other])
    before = oauth(basic.kube)
    inject_service_ca(basic, certs.ca(tmp_path, "service-ca").cert.read_text())
    result = run_setup(basic)
    assert result.returncode == 3 and "not this event's BasicAuth remote" in result.stderr
    assert oauth(basic.kube) == before


def test_the_app_logs_in_at_once_and_answers_from_its_last_copy_through_an_api_outage(basic, tmp_path):
    kube = basic.kube
    folder = tmp_path / "pki"
    service_ca, oauth_ca = certs.ca(folder, "service-ca"), certs.ca(folder, "oauth-ca")
    server, oauth_client = certs.signed(service_ca, folder, "server", "server"), \
        certs.signed(oauth_ca, folder, "oauth-client", "client")
    env = basic.app_env(tmp_path / "data", IDENTITY_PROVIDER_TYPE="BasicAuth", HTPASSWD_SECRET_NAME="",
                        TLS_CERT_FILE=str(server.cert),
                        TLS_KEY_FILE=str(server.key), TLS_CLIENT_CA_FILE=str(oauth_ca.cert), REFRESH_INTERVAL="1")
    ca = str(service_ca.cert)
    with gunicorn(env, workers=2, scheme="https", verify=ca, log_path=tmp_path / "gunicorn.log") as base:
        remote = BasicAuthClient(base + "/api/v1/basic-auth", ca_file=ca,
                                 cert=(str(oauth_client.cert), str(oauth_client.key)))
        forms = [person(i, "instant") for i in range(4)]
        for form in forms:
            assert requests.post(base + "/api/v1/registrations", json=form, verify=ca, timeout=30).status_code == 201
            identity, error = remote.authenticate(form["username"], form["password"])
            assert error is None and identity["sub"] == form["username"]  # at once, whichever worker is asked
        logins = wait_until(lambda: client.CoreV1Api(kube.admin()).read_namespaced_secret(
            "workshop-registration-logins", basic.namespace).data)
        assert base64.b64decode(logins["htpasswd"]).count(b"instant-") >= 1  # written in the app's own namespace
        with pytest.raises(client.ApiException):  # and nothing in openshift-config
            client.CoreV1Api(kube.admin()).read_namespaced_secret(basic.secret_name, "openshift-config")
        kube.stop_apiserver(signal.SIGKILL)
        try:
            wait_until(lambda: degraded(base, verify=ca), timeout=15)
            for form in forms:  # what it last read stands: logins go on, a wrong password is still wrong
                assert remote.authenticate(form["username"], form["password"])[0]["sub"] == form["username"]
            assert remote.authenticate(forms[0]["username"], "wrong horse battery") == (None, None)
        finally:
            kube.start_apiserver()
