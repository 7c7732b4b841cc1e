"""Instant logins in Debian's Chromium: the page over HTTPS says "Ready" the moment the registration is
stored, with nothing to poll; the OAuth server's login (its client's stand-in) works at once, and /admin
shows who has really logged in, and when."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests import certs
from tests.basicauth_standin import BasicAuthClient
from tests.browser import axe_violations, fill, watched
from tests.helpers import person
from tests.servers import gunicorn

pytestmark = pytest.mark.browser
TOKEN = "instructor-token-123"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    service_ca, oauth_ca = certs.ca(folder, "service-ca"), certs.ca(folder, "oauth-ca")
    server, oauth_client = certs.signed(service_ca, folder, "server", "server"), \
        certs.signed(oauth_ca, folder, "oauth-client", "client")
    env = {"DATA_DIR": str(tmp_path_factory.mktemp("data")), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4",
           "IDENTITY_PROVIDER_TYPE": "BasicAuth", "ADMIN_TOKEN": TOKEN, "REFRESH_INTERVAL": "1",
           "CONSOLE_URL": "https://console-openshift-console.apps.example.com", "API_URL": "https://api.example.com:6443",
           "TLS_CERT_FILE": str(server.cert), "TLS_KEY_FILE": str(server.key), "TLS_CLIENT_CA_FILE": str(oauth_ca.cert)}
    with gunicorn(env, workers=2, scheme="https", verify=str(service_ca.cert)) as base:
        yield base, BasicAuthClient(base + "/api/v1/basic-auth", ca_file=str(service_ca.cert),
                                    cert=(str(oauth_client.cert), str(oauth_client.key))), str(service_ca.cert)


@pytest.mark.parametrize("width,height", [(375, 740), (1280, 720), (1920, 1080)])
def test_the_page_says_ready_at_once_and_the_login_works_at_once(browser: Browser, site, width, height, tmp_path):
    base, oauth_server, _ = site
    context = browser.new_context(ignore_https_errors=True, viewport={"width": width, "height": height})
    page = context.new_page()
    with watched(page, base) as checked:
        checked.goto(base)
        form = person(width, "instant")
        fill(checked, form)
        checked.click("#register")
        expect(checked.locator("#login-status-ready")).to_have_text("Ready: you can log in now.", timeout=15_000)
        assert "being activated" not in checked.locator("#register-success").inner_text()
        identity, error = oauth_server.authenticate(form["username"], form["password"])
        assert error is None and identity["sub"] == form["username"]  # what the page said, OpenShift finds
        assert axe_violations(checked) == []
        shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # make screenshots: the README's picture
        checked.screenshot(path=str(shots / f"instant-login-{width}.png"), full_page=True)
    context.close()


def test_admin_shows_who_really_logged_in(browser: Browser, site):
    base, oauth_server, ca = site
    form = person(1, "seen")
    assert requests.post(base + "/api/v1/registrations", json=form, verify=ca, timeout=30).status_code == 201
    assert requests.post(base + "/api/v1/registrations", json=person(2, "seen"), verify=ca,
                         timeout=30).status_code == 201
    assert oauth_server.authenticate(form["username"], form["password"])[0]
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/admin/")
    page.fill("#admin-token", TOKEN)
    page.click("#sign-in")
    expect(page.locator("#admin-logged-in")).to_contain_text("of", timeout=15_000)
    page.locator("#streamer-mode").uncheck()
    row = page.locator("#attendees tr", has_text="seen-1")
    expect(row.locator("td[data-dash-column=logged_in]")).to_contain_text("· just now", timeout=20_000)
    assert page.locator("#attendees th", has_text="Last logged in (UTC)").count() == 1
    never = page.locator("#attendees tr", has_text="seen-2").locator("td[data-dash-column=logged_in]")
    expect(never).to_have_text("")  # registered, never logged in
    context.close()
