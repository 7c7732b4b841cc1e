"""The attendee's experience in Debian's Chromium: the live login status (against a STAND-IN for the
OAuth server, tests/oauth_standin.py), copy buttons, accessibility (axe-core), a phone, page weight."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests import browser
from tests.browser import axe_violations
from tests.browser import fill as fill_form  # the `browser` fixture hides the module in some tests
from tests.helpers import person
from tests.oauth_standin import OAuthStandIn
from tests.servers import gunicorn

pytestmark = pytest.mark.browser
CONSOLE = "https://console-openshift-console.apps.example.com"
PAGE_BUDGET = 400 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    standin = OAuthStandIn(ready_after=1, htpasswd_file=data / "htpasswd")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "EVENT_NAME": "Kubernetes 101",
           "CONSOLE_URL": CONSOLE, "API_URL": standin.url, "LOGIN_CHECK": "on"}
    with gunicorn(env, workers=2) as base:
        yield base, data, standin
    standin.stop()


def test_the_status_turns_ready_and_the_copy_buttons_work(page: Page, site):
    base, _, standin = site
    page.goto(base)
    form = person(1)
    browser.fill(page, form)
    page.click("#register")
    expect(page.locator("#register-success")).to_contain_text("attendee-1", timeout=20_000)
    expect(page.locator("#login-status")).to_contain_text("Activating your account")
    expect(page.locator("#login-status")).to_contain_text("Ready: you can log in now.", timeout=30_000)
    # the login's state leads, above the card that says how to log in
    assert page.locator("#login-status").bounding_box()["y"] < page.locator("#register-success").bounding_box()["y"]
    assert standin.checks["attendee-1"] >= 2  # really asked: "not yet", then accepted
    assert form["password"] not in page.content()
    expect(page.locator("#login-command")).to_have_text(f"oc login --username=attendee-1 {standin.url}")
    page.get_by_role("button", name="Copy the oc login command").click()
    assert browser.clipboard(page) == f"oc login --username=attendee-1 {standin.url}"
    page.evaluate("navigator.clipboard.writeText('')")
    page.get_by_role("button", name="Copy address of the web console").click()
    assert browser.clipboard(page) == CONSOLE
    assert browser.axe_violations(page) == []  # the success view too


def test_accessibility_of_the_form_and_its_errors(page: Page, site):
    base, _, _ = site
    page.goto(base)
    page.wait_for_selector("#register")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert browser.axe_violations(page) == []
    for field in ("username", "password", "password-confirm", "full-name", "email"):
        assert page.locator(f"label[for={field}]").count() == 1  # every input has its label
    browser.fill(page, {"username": "-xy-", "password": "short", "password_confirm": "", "full_name": "",
                        "email": "no"})
    page.keyboard.press("Enter")
    expect(page.locator("#username-feedback")).to_contain_text("Start and end", timeout=20_000)
    username = page.locator("#username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_attribute("aria-describedby", re.compile(r"\busername-feedback\b"))
    expect(page.locator("#register-result")).to_have_attribute("aria-live", "polite")
    assert browser.axe_violations(page) == []


def test_a_phone_shows_the_form_without_horizontal_scrolling(browser, site, tmp_path):
    base, _, _ = site
    phone = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    page.goto(base)
    page.wait_for_selector("#register")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate("document.getElementById('register').getBoundingClientRect().right") <= 375
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # make screenshots: next to the desktop one
    page.screenshot(path=str(shots / "registration-phone.png"), full_page=True)
    phone.close()


def test_the_first_load_is_light_and_asks_no_other_host(browser, site):
    base, _, _ = site
    context = browser.new_context()  # empty cache: a first visit
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(base)
    page.wait_for_selector("#register")
    page.wait_for_load_state("networkidle")
    transferred = sum(request.sizes()["responseBodySize"] for request in finished)
    hosts = {urlsplit(request.url).netloc for request in finished}
    context.close()
    print(f"\nfirst load: {len(finished)} requests, {transferred / 1024:.0f} KiB transferred")
    assert hosts == {urlsplit(base).netloc}
    assert transferred <= PAGE_BUDGET, f"{transferred / 1024:.0f} KiB"


@pytest.fixture(scope="module")
def seated_site(tmp_path_factory):
    """Seats and self-registration together, with the join link's access code and the live check."""
    data = tmp_path_factory.mktemp("seats")
    standin = OAuthStandIn(ready_after=1, htpasswd_file=data / "htpasswd")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "SEATS": "true",
           "ACCESS_CODE": "velvet-otter", "API_URL": standin.url, "LOGIN_CHECK": "on", "CONSOLE_URL": CONSOLE}
    made = subprocess.run([sys.executable, "-m", "app", "seats", "create", "--count", "2"], capture_output=True,
                          text=True, env={**os.environ, **env}, check=True)
    passwords = dict(line.split(",") for line in made.stdout.splitlines()[1:])
    with gunicorn(env, workers=2) as base:
        yield base, passwords, standin
    standin.stop()


def test_claiming_a_seat_shows_its_login_once_and_when_it_works(page: Page, seated_site, tmp_path):
    base, passwords, standin = seated_site
    page.goto(base + "/?code=velvet-otter")
    expect(page.locator("#way-in-group label")).to_have_text(["Claim a seat", "Choose my own login", "Sign back in"])
    expect(page.locator("#register-section")).to_be_hidden()  # one way at a time: the first, a seat
    expect(page.locator("#access-code")).to_be_hidden()
    expect(page.locator("#code-from-link")).to_be_visible()
    assert browser.axe_violations(page) == []
    page.fill("#claim-email", "not an email")
    page.keyboard.press("Enter")
    expect(page.locator("#claim-email-feedback")).to_contain_text("does not look like an email", timeout=20_000)
    page.fill("#claim-email", "ann@example.com")
    page.click("#claim")
    expect(page.locator("#claim-success")).to_contain_text("Seat user1 is yours.", timeout=20_000)
    expect(page.locator("#result-password")).to_have_text(passwords["user1"])
    expect(page.locator("#claim-form")).to_be_hidden()
    expect(page.locator("#register-section")).to_be_hidden()
    expect(page.locator("#login-status")).to_contain_text("Ready: you can log in now.", timeout=30_000)
    assert page.locator("#login-status").bounding_box()["y"] < page.locator("#claim-success").bounding_box()["y"]
    assert standin.checks["user1"] >= 1  # the stand-in accepted exactly the password shown
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # `make screenshots`: the README's picture
    page.set_viewport_size({"width": 900, "height": 700})
    page.screenshot(path=str(shots / "claim-seat.png"), full_page=True)
    page.get_by_role("button", name="Copy the password").click()
    assert browser.clipboard(page) == passwords["user1"]
    assert browser.axe_violations(page) == []

    page.reload()  # shown once: a new page knows nothing of it
    expect(page.locator("#claim-form")).to_be_visible()
    assert passwords["user1"] not in page.content()
    page.fill("#claim-email", "ann@example.com")  # the same email, within the window: the same seat again
    page.click("#claim")
    expect(page.locator("#claim-success")).to_contain_text("Your seat again: user1.", timeout=20_000)
    expect(page.locator("#result-password")).to_have_text(passwords["user1"])

    elsewhere = page.context.browser.new_context().new_page()  # someone else who knows her email and the code
    elsewhere.goto(base + "/?code=velvet-otter")
    elsewhere.fill("#claim-email", "ann@example.com")
    elsewhere.click("#claim")
    expect(elsewhere.locator("#claim-email-feedback")).to_contain_text("holds the seat user1", timeout=20_000)
    assert passwords["user1"] not in elsewhere.content()
    elsewhere.context.close()


def test_seats_only_the_page_says_when_none_is_left(page: Page, tmp_path):
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "SEATS": "true",
           "SELF_REGISTRATION": "false"}
    with gunicorn(env, workers=1) as base:
        page.goto(base)
        expect(page.locator("#seats-taken")).to_have_text("All seats are taken. Please tell your instructor.")
        expect(page.locator("#claim-form")).to_be_hidden()
        assert page.locator("#registration-form").count() == 0 and page.locator("#register-section").count() == 0
        assert browser.axe_violations(page) == []
        subprocess.run([sys.executable, "-m", "app", "seats", "create", "--count", "1"], capture_output=True,
                       env={**os.environ, **env}, check=True)
        page.reload()
        expect(page.locator("#claim-form")).to_be_visible()
        page.fill("#claim-email", "ann@example.com")
        page.keyboard.press("Enter")
        expect(page.locator("#claim-success")).to_contain_text("Seat user1 is yours.", timeout=20_000)
        page.reload()
        expect(page.locator("#seats-taken")).to_be_visible()


def test_the_success_view_leads_and_its_copy_buttons_take_the_keyboard(page: Page, site, tmp_path):
    """The state first, one primary action, the provider to choose, the command in a code block; the rest
    of the page put away; the focus on the result; every copy control a button the keyboard reaches."""
    base, _, _ = site
    page.goto(base)
    expect(page.locator("#username")).to_have_attribute("autocapitalize", "none")  # phones: typed as is
    expect(page.locator("#username")).to_have_attribute("spellcheck", "false")
    expect(page.locator("#email")).to_have_attribute("autocorrect", "off")
    browser.fill(page, person(7))
    page.click("#register")
    card = page.locator("#register-success")
    expect(card).to_be_visible(timeout=20_000)
    expect(page.locator("#page-intro")).to_be_hidden()
    expect(page.locator("#ways")).to_be_hidden()  # the form, the choice, the other ways in
    expect(card).to_be_focused()
    expect(page.locator("a.btn-primary")).to_have_text(["Open the web console"])  # the one primary action
    expect(page.locator("#result-provider")).to_have_text("workshop")
    expect(page.locator("pre.command #login-command")).to_be_visible()
    page.keyboard.press("Tab")  # from the card: the console, then its copy button
    expect(page.locator("#console-url")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Copy address of the web console")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("button[data-copy=console-url]")).to_contain_text("Copied ✓")  # said, for two seconds
    assert browser.clipboard(page) == CONSOLE
    expect(page.locator("#login-status .login-steps li[aria-current=step]")).to_have_text("Ready", timeout=30_000)
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # `make screenshots`: the README's picture
    page.screenshot(path=str(shots / "registration-success.png"), full_page=True)
    assert browser.axe_violations(page) == []


@pytest.mark.parametrize("width", [375, 1280])
def test_a_returning_attendee_signs_back_in_on_another_device(browser, site, width):
    """The same username and password bring the details and the live state back, any time later; a wrong
    password or an unknown name gets one answer that says neither."""
    base, _, _ = site
    form = person(20 + width % 7)
    first = browser.new_context()
    page = first.new_page()
    page.goto(base)
    fill_form(page, form)
    page.click("#register")
    expect(page.locator("#register-success")).to_be_visible(timeout=20_000)
    first.close()  # the tab is gone, and the page with it

    other = browser.new_context(viewport={"width": width, "height": 800})
    page = other.new_page()
    page.goto(base)
    page.locator("#way-in label", has_text="Sign back in").click()
    expect(page.locator("#registration-form")).to_be_hidden()
    page.fill("#signin-username", form["username"])
    page.fill("#signin-password", "not my password at all")
    page.click("#signin")
    expect(page.locator("#signin-error")).to_contain_text("do not match a login of this event", timeout=20_000)
    page.fill("#signin-username", "nobody-by-that-name")
    page.click("#signin")
    expect(page.locator("#signin-error")).to_contain_text("do not match a login of this event", timeout=20_000)
    page.fill("#signin-username", form["username"].upper())  # as a phone's keyboard might type it
    page.fill("#signin-password", form["password"])
    page.click("#signin")
    expect(page.locator("#register-success")).to_contain_text(f"Welcome back, {form['username']}.", timeout=20_000)
    expect(page.locator("#console-url")).to_have_attribute("href", CONSOLE)
    expect(page.locator("#login-status")).to_contain_text("Ready: you can log in now.", timeout=30_000)
    assert form["password"] not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    other.close()
