"""The BasicAuth remote over real TLS: gunicorn serving HTTPS with a server certificate and verifying client
certificates (config.py), asked by the stand-in of the OAuth server's client (tests/basicauth_standin.py),
in local mode: a registration logs in the moment it is answered, whichever worker is asked."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests import certs
from tests.basicauth_standin import BasicAuthClient
from tests.helpers import person
from tests.servers import gunicorn


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    service_ca, oauth_ca, stranger_ca = (certs.ca(folder, name) for name in ("service-ca", "oauth-ca", "stranger"))
    return {"service_ca": service_ca, "server": certs.signed(service_ca, folder, "server", "server"),
            "oauth_ca": oauth_ca, "client": certs.signed(oauth_ca, folder, "oauth-client", "client"),
            "stranger": certs.signed(stranger_ca, folder, "stranger-client", "client")}


@pytest.fixture(scope="module")
def site(tmp_path_factory, pki):
    data = tmp_path_factory.mktemp("data")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "IDENTITY_PROVIDER_TYPE": "BasicAuth",
           "TLS_CERT_FILE": str(pki["server"].cert), "TLS_KEY_FILE": str(pki["server"].key),
           "TLS_CLIENT_CA_FILE": str(pki["oauth_ca"].cert)}
    ca = str(pki["service_ca"].cert)
    with gunicorn(env, workers=2, scheme="https", verify=ca) as base:
        yield base, ca


def oauth_server(site, pki, cert: str = "client") -> BasicAuthClient:
    base, ca = site
    pair = pki[cert]
    return BasicAuthClient(base + "/api/v1/basic-auth", ca_file=ca, cert=(str(pair.cert), str(pair.key)))


def test_a_registration_logs_in_the_moment_it_is_answered(site, pki):
    base, ca = site
    client = oauth_server(site, pki)
    for number in range(6):  # two workers: the login is often asked of the one that did not store it
        form = person(number, "tls")
        registered = requests.post(base + "/api/v1/registrations", json=form, verify=ca, timeout=30)
        assert registered.status_code == 201 and registered.json()["login"] == "active"
        identity, error = client.authenticate(form["username"], form["password"])
        assert error is None and identity == {"sub": form["username"], "preferred_username": form["username"],
                                              "name": form["full_name"], "email": form["email"]}
    assert client.authenticate("tls-0", "not the password") == (None, None)
    assert client.authenticate("nobody", "velvet otter marmalade") == (None, None)
    assert client.authenticate("a:b", "x") == (None, "invalid username")  # refused before any call


def test_only_a_client_with_a_certificate_the_app_trusts_is_answered(site, pki):
    base, ca = site
    form = person(1, "cert")
    assert requests.post(base + "/api/v1/registrations", json=form, verify=ca, timeout=30).status_code == 201
    anonymous = BasicAuthClient(base + "/api/v1/basic-auth", ca_file=ca)
    identity, error = anonymous.authenticate(form["username"], form["password"])
    assert identity is None and "client certificate" in error  # answered, with nothing about the password
    stranger = oauth_server(site, pki, cert="stranger")
    identity, error = stranger.authenticate(form["username"], form["password"])
    assert identity is None and "could not be reached" in error  # another CA's: the handshake itself fails
    assert oauth_server(site, pki).authenticate(form["username"], form["password"])[0]["sub"] == "cert-1"


def test_everyone_else_is_served_over_https_without_a_certificate(site):
    base, ca = site
    assert requests.get(base + "/healthz", verify=ca, timeout=10).json() == {"status": "ok"}
    ready = requests.get(base + "/readyz", verify=ca, timeout=10).json()
    assert ready["status"] == "ready" and "degraded" not in ready  # TLS and the client CA are both there
    assert "<title>" in requests.get(base + "/", verify=ca, timeout=10).text
    with pytest.raises(requests.RequestException):
        requests.get(base.replace("https://", "http://") + "/healthz", timeout=5)


def answers(base: str, ca: str) -> dict[str, float]:
    """The remote's answers so far, by outcome, summed over the workers (/metrics)."""
    text = requests.get(base + "/metrics", verify=ca, timeout=10).text
    prefix = 'workshop_basic_auth_answers_total{outcome="'
    return {line[len(prefix):].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(prefix)}


def test_the_console_then_oc_login_cost_one_bcrypt_in_the_pod_whichever_worker_is_asked(site, pki):
    base, ca = site
    form = person(3, "again")
    assert requests.post(base + "/api/v1/registrations", json=form, verify=ca, timeout=30).status_code == 201
    before = answers(base, ca)
    assert oauth_server(site, pki).authenticate(form["username"], form["password"])[0]  # the console
    with ThreadPoolExecutor(24) as pool:  # then 24 more, each on a new connection: both workers are asked
        logins = list(pool.map(lambda _: oauth_server(site, pki).authenticate(form["username"], form["password"]),
                               range(24)))
    assert all(identity and identity["sub"] == "again-3" for identity, _ in logins)
    after = answers(base, ca)
    assert after["accepted"] - before.get("accepted", 0) == 1  # one bcrypt check in the pod
    assert after["remembered"] - before.get("remembered", 0) == 24  # the others: a lookup each


def test_the_key_of_what_the_workers_share_is_made_in_gunicorns_master():
    # gunicorn runs config.py in its master; the workers it forks inherit the modules imported there.
    probe = ("import runpy, sys; runpy.run_path('config.py'); made = 'app.loginguard' in sys.modules; "
             "import app.loginguard as g; print(made, len(g.POD_KEY))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent, env=dict(os.environ, DATA_DIR=tempfile.mkdtemp()))
    assert done.stdout.split() == ["True", "32"], done.stderr
