"""The registration page in a real browser: Debian's Chromium driven by Playwright, against gunicorn."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.web import forms
from tests import browser
from tests.helpers import person
from tests.servers import gunicorn

pytestmark = pytest.mark.browser
CONSOLE = "https://console-openshift-console.apps.example.com"
API = "https://api.example.com:6443"
LABS = "Lab guide|https://guides.example.com/start?user={username};Terminal|https://terminal.example.com/{username}/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "EVENT_NAME": "Kubernetes 101",
           "CONSOLE_URL": CONSOLE, "API_URL": API, "LAB_LINKS": LABS}
    with gunicorn(env, workers=2) as base:
        yield base, data


@pytest.fixture
def watched(page: Page, site):
    """The page, with every console error and every request's host recorded and checked at the end."""
    with browser.watched(page, site[0]) as checked:
        yield checked


def test_the_form_registers_a_user_and_shows_how_to_log_in(watched: Page, site):
    base, data = site
    watched.goto(base)
    expect(watched).to_have_title("Kubernetes 101")
    browser.fill(watched, person(1, username="Browser-User"))
    watched.click("#register")
    result = watched.locator("#register-result")
    expect(result).to_contain_text("browser-user", timeout=20_000)
    expect(watched.locator("#register-success")).to_be_visible()
    expect(watched.locator("#registration-form")).to_be_hidden()
    expect(watched.locator("#login-command")).to_have_text(f"oc login --username=browser-user {API}")
    expect(watched.locator("#console-url")).to_have_attribute("href", CONSOLE)
    labs = watched.locator("#lab-links a")
    expect(labs).to_have_text(["Lab guide", "Terminal"])
    assert [labs.nth(i).get_attribute("href") for i in range(2)] == [
        "https://guides.example.com/start?user=browser-user", "https://terminal.example.com/browser-user/"]
    assert (data / "htpasswd").read_text().startswith("browser-user:$2y$04$")
    assert "browser-user,Attendee 1," in (data / "users.csv").read_text()

    watched.locator("button[data-copy=login-command]").click()
    assert browser.clipboard(watched) == f"oc login --username=browser-user {API}"


def test_bad_input_shows_a_message_at_each_field_and_writes_nothing(watched: Page, site):
    base, data = site
    before = (data / "htpasswd").read_bytes() if (data / "htpasswd").exists() else b""
    watched.goto(base)
    browser.fill(watched, {"username": "-bad-", "password": "short", "password_confirm": "other",
                   "full_name": "", "email": "not-an-email"})
    watched.click("#register")
    expect(watched.locator("#register-error")).to_contain_text("Please correct the fields marked below",
                                                               timeout=20_000)
    for field_id, words in [("username", "Start and end with a letter"), ("password", "at least 8 characters"),
                            ("full-name", "Enter your name"), ("email", "does not look like an email")]:
        expect(watched.locator(f"#{field_id}")).to_have_class(re.compile(r"\bis-invalid\b"))
        expect(watched.locator(f"#{field_id}-feedback")).to_contain_text(words)
    expect(watched.locator("#registration-form")).to_be_visible()
    after = (data / "htpasswd").read_bytes() if (data / "htpasswd").exists() else b""
    assert after == before


def test_the_whole_form_works_from_the_keyboard(watched: Page, site):
    base, data = site
    watched.goto(base)
    watched.focus("#username")
    form = person(2)
    for value in [form["username"], form["password"], form["password_confirm"], form["full_name"]]:
        watched.keyboard.type(value)
        watched.keyboard.press("Tab")
        if watched.evaluate("document.activeElement.tagName") != "INPUT":
            watched.keyboard.press("Tab")  # skip past a hint or feedback if focusable
    watched.keyboard.type(form["email"])
    watched.keyboard.press("Enter")
    expect(watched.locator("#register-result")).to_contain_text(form["username"], timeout=20_000)


def test_the_page_is_styled_offline_and_its_screenshot_taken(watched: Page, site, tmp_path):
    base, _ = site
    watched.goto(base)
    watched.wait_for_selector("#register")
    colour = watched.eval_on_selector("#register", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(13, 110, 253)"  # Bootstrap's primary blue: the stylesheet loaded, offline
    # `make screenshots` sets SCREENSHOT_DIR=docs to refresh the picture in the README.
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    watched.screenshot(path=str(shots / "registration-form.png"), full_page=True)
    assert (shots / "registration-form.png").stat().st_size > 10_000


def test_the_rate_limit_message_shows_on_the_page(page: Page, tmp_path):
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "1/minute", "BCRYPT_ROUNDS": "4"}
    with gunicorn(env, workers=2) as base:
        page.goto(base)
        browser.fill(page, person(3, password="short"))
        page.click("#register")
        expect(page.locator("#register-error")).to_be_visible(timeout=20_000)
        page.click("#register")
        expect(page.locator("#register-error")).to_contain_text("Too many attempts", timeout=20_000)


def test_the_join_link_carries_the_access_code(page: Page, tmp_path):
    """/?code=…: the code field is filled in and put away ("✓ Code from your link"), and the code dropped
    from the address bar and the history; a wrong code in the link brings the field back, saying so, and a
    code typed there (in other capitals) works; the code never reaches the access log."""
    log = tmp_path / "gunicorn.log"
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "ACCESS_CODE": "velvet-otter"}
    with gunicorn(env, workers=1, log_path=log) as base, browser.watched(page, base) as watched:
        watched.goto(base + "/?code=velvet-otter")
        expect(watched.locator("#access-code")).to_be_hidden()
        expect(watched.locator("#code-from-link")).to_have_text("✓ Code from your link")
        expect(watched.locator("#access-code")).to_have_value("velvet-otter")
        assert "code=" not in watched.url  # read, then dropped from the address bar and the history
        assert watched.evaluate("location.search") == "" and watched.evaluate("history.length") == 2
        browser.fill(watched, person(1))
        watched.click("#register")
        expect(watched.locator("#register-success")).to_be_visible(timeout=20_000)

        watched.goto(base + "/?code=velvet-otters")
        expect(watched.locator("#access-code")).to_be_hidden()
        browser.fill(watched, person(2))
        watched.click("#register")
        expect(watched.locator("#register-error")).to_have_text(forms.LINK_CODE_WRONG, timeout=20_000)
        expect(watched.locator("#access-code")).to_be_visible()  # not a dead end: the field, to type it
        expect(watched.locator("#access-code-feedback")).to_have_text(forms.LINK_CODE_WRONG)
        expect(watched.locator("#code-from-link")).to_be_hidden()

        watched.reload()  # the same tab, reloaded: it still knows the link's code, not the address bar
        expect(watched.locator("#access-code")).to_have_value("velvet-otters")
        watched.goto(base + "/?code=velvet-otters")
        browser.fill(watched, person(3))
        watched.click("#register")
        expect(watched.locator("#access-code")).to_be_visible(timeout=20_000)
        watched.fill("#access-code", " Velvet-Otter ")  # as a phone's keyboard types it
        watched.press("#access-code", "Enter")  # Enter there submits the chosen form, as in its own fields
        expect(watched.locator("#register-success")).to_be_visible(timeout=20_000)
        expect(watched.locator("#access-code")).to_be_hidden()
        assert "code=" not in watched.url
        other = watched.context.new_page()  # another tab, without the link: the field is there to be typed in
        other.goto(base)
        expect(other.locator("#access-code")).to_be_visible()
        other.close()
    logged = log.read_text()
    assert 'GET / HTTP/1.1" 200' in logged and "velvet-otter" not in logged
