"""The /admin page in Debian's Chromium: sign-in, the table, streamer mode, closing, resetting, removing."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from app import htpasswd
from tests import browser
from tests.helpers import person, wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.browser
TOKEN = "instructor-token-123"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "ADMIN_TOKEN": TOKEN,
           "MAX_USERS": "300"}
    with gunicorn(env, workers=2) as base:
        for i in range(3):
            assert requests.post(base + "/api/v1/registrations", json=person(i), timeout=30).status_code == 201
        yield base, data


@pytest.fixture
def admin(page: Page, site):
    """The page, with console errors and foreign hosts recorded and checked at the end."""
    with browser.watched(page, site[0]) as checked:
        yield checked


def sign_in(page: Page, base: str, token: str | None) -> None:
    page.goto(base + "/admin/")
    if token is not None:
        page.fill("#admin-token", token)
    page.click("#sign-in")


def test_sign_in_is_refused_without_or_with_a_wrong_token(admin: Page, site):
    base, _ = site
    sign_in(admin, base, None)
    expect(admin.locator("#sign-in-error")).to_contain_text("not the admin token", timeout=15_000)
    admin.fill("#admin-token", "instructor-token-124")
    admin.click("#sign-in")
    expect(admin.locator("#sign-in-error")).to_be_visible()
    expect(admin.locator("#attendees")).to_have_count(0)
    assert requests.get(base + "/admin/users.csv", timeout=10).status_code == 403


def test_the_table_streamer_mode_and_the_download(admin: Page, site, tmp_path):
    base, data = site
    sign_in(admin, base, TOKEN)
    table = admin.locator("#attendees")
    expect(table).to_contain_text("attendee-1", timeout=15_000)
    expect(admin.locator("#streamer-mode")).to_be_checked()  # on until the instructor turns it off
    expect(table).not_to_contain_text("Attendee 1")
    assert "attendee1@example.com" not in admin.content()  # not hidden by CSS: not sent at all
    expect(admin.locator("#admin-count")).to_have_text("3 of 300")
    admin.set_viewport_size({"width": 1280, "height": 720})
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # `make screenshots`: the README's picture
    admin.screenshot(path=str(shots / "admin.png"))
    admin.locator("#streamer-mode").uncheck()
    expect(table).to_contain_text("attendee1@example.com", timeout=10_000)
    second = admin.context.new_page()  # another tab of the same session follows the session's choice
    second.goto(base + "/admin/")
    expect(second.locator("#streamer-mode")).not_to_be_checked(timeout=15_000)
    admin.locator("#streamer-mode").check()
    expect(table).not_to_contain_text("attendee1@example.com", timeout=10_000)
    second.reload()
    expect(second.locator("#streamer-mode")).to_be_checked(timeout=15_000)
    expect(second.locator("#attendees")).to_contain_text("attendee-1")
    assert "attendee1@example.com" not in second.content()
    second.close()
    with admin.expect_download() as download:
        admin.click("#download-csv")
    assert open(download.value.path(), "rb").read() == (data / "users.csv").read_bytes()


def test_closing_and_reopening(admin: Page, site, browser):
    base, _ = site
    sign_in(admin, base, TOKEN)
    switch = admin.locator("#registration-open")
    expect(switch).to_be_checked(timeout=15_000)
    switch.uncheck()
    expect(admin.locator("#admin-result")).to_contain_text("Registration is now closed")
    public = browser.new_page()
    public.goto(base)
    expect(public.locator("#register-closed")).to_contain_text("Registration is closed")
    expect(public.locator("#registration-form")).to_be_hidden()
    closed = requests.post(base + "/api/v1/registrations", json=person(50), timeout=30)
    assert closed.status_code == 503
    switch.check()
    expect(admin.locator("#admin-result")).to_contain_text("Registration is now open")
    public.goto(base)
    expect(public.locator("#registration-form")).to_be_visible()
    assert requests.post(base + "/api/v1/registrations", json=person(51), timeout=30).status_code == 201
    public.close()


def test_reset_a_password_and_remove_an_attendee(admin: Page, site):
    base, data = site
    sign_in(admin, base, TOKEN)
    table = admin.locator("#attendees")
    expect(table).to_contain_text("attendee-2", timeout=15_000)
    row = admin.locator("#attendees tr", has_text="attendee-2")
    row.locator("input[type=radio]").check()
    # A refresh of the table (as every 10 s, or after any action) keeps the selection: trigger two, and
    # see the second by an attendee who registered meanwhile.
    assert requests.post(base + "/api/v1/registrations", json=person(60), timeout=30).status_code == 201
    admin.locator("#streamer-mode").uncheck()
    expect(table).to_contain_text("attendee2@example.com")
    admin.locator("#streamer-mode").check()
    expect(table).to_contain_text("attendee-60")
    expect(row.locator("input[type=radio]")).to_be_checked()
    expect(admin.locator("#reset-password")).to_have_text("Reset attendee-2's password")  # says whom
    asked = []  # a handler answers the confirmation: a dialog nobody answers would hold the click forever
    admin.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
    admin.click("#reset-password")  # asked first; dismissed: nothing changes
    for _ in range(100):  # Playwright's own wait, so that the page's events reach the handler meanwhile
        if asked:
            break
        admin.wait_for_timeout(100)
    assert asked == ["Give attendee-2 a new password? Their old one stops working; the new one is shown once."]
    before = htpasswd.entries((data / "htpasswd").read_bytes())["attendee-2"]
    assert htpasswd.verify(before, person(2)["password"])
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click("#reset-password")
    dialog = admin.locator("#action-dialog")
    expect(dialog.locator("#reset-result")).to_contain_text("New password for attendee-2", timeout=10_000)
    expect(dialog).to_be_in_viewport()
    password = admin.locator("#new-password").inner_text()
    line = htpasswd.entries((data / "htpasswd").read_bytes())["attendee-2"]
    assert htpasswd.verify(line, password) and not htpasswd.verify(line, person(2)["password"])
    admin.get_by_role("button", name="Close").click()
    expect(row.locator("input[type=radio]")).not_to_be_checked()  # cleared: the next action names its attendee
    expect(admin.locator("#remove-attendee")).to_be_disabled()

    admin.locator("#attendees tr", has_text="attendee-0").locator("input[type=radio]").check()
    expect(admin.locator("#remove-attendee")).to_have_text("Remove attendee-0")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click("#remove-attendee")
    expect(admin.locator("#action-dialog #remove-result")).to_contain_text("Removed attendee-0", timeout=10_000)
    admin.get_by_role("button", name="Close").click()
    expect(table).not_to_contain_text("attendee-0", timeout=10_000)
    assert b"attendee-0:" not in (data / "htpasswd").read_bytes()
    expect(admin.locator("#remove-attendee")).to_be_disabled()  # nobody chosen: it cannot act on a neighbour
    expect(admin.locator("#remove-attendee")).to_have_text("Remove attendee")
    labels = admin.locator("#attendees input[type=radio]").evaluate_all("rs => rs.map(r => r.ariaLabel)")
    names = admin.locator("#attendees td[data-dash-column=username]").all_inner_texts()
    assert labels == [f"Select {name}" for name in names]  # row labels follow the rows
    assert requests.post(base + "/api/v1/registrations", json=person(0), timeout=30).status_code == 201


def test_a_new_browser_starts_in_streamer_mode_and_a_signed_out_cookie_is_refused(browser, site):
    base, _ = site
    first = browser.new_context()
    page = first.new_page()
    sign_in(page, base, TOKEN)
    expect(page.locator("#streamer-mode")).to_be_checked(timeout=15_000)
    page.locator("#streamer-mode").uncheck()
    expect(page.locator("#attendees")).to_contain_text("attendee1@example.com", timeout=10_000)
    cookies = first.cookies()
    second = browser.new_context()  # another browser signing in: streamer mode on again
    other = second.new_page()
    sign_in(other, base, TOKEN)
    expect(other.locator("#streamer-mode")).to_be_checked(timeout=15_000)
    assert "attendee1@example.com" not in other.content()
    page.click("#sign-out")
    expect(page.locator("#admin-token")).to_be_visible(timeout=15_000)
    copied = browser.new_context()  # the signed-out session's cookie, taken elsewhere before sign-out
    copied.add_cookies(cookies)
    assert copied.request.get(base + "/admin/users.csv").status == 403
    assert second.request.get(base + "/admin/users.csv").status == 200  # the other session still works
    for context in (first, second, copied):
        context.close()


def test_a_scheduled_opening_is_announced_and_the_instructor_can_open_early(page: Page, tmp_path):
    """Before REGISTRATION_OPENS_AT the page says when it opens and shows no form; /admin shows the
    schedule; the instructor's switch opens it at once (the latest event decides)."""
    zone = timezone(timedelta(hours=2))
    opens = datetime.now(zone).replace(second=0, microsecond=0) + timedelta(hours=3)
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "ADMIN_TOKEN": TOKEN,
           "REGISTRATION_OPENS_AT": opens.isoformat(),
           "REGISTRATION_CLOSES_AT": (opens + timedelta(hours=2)).isoformat()}
    with gunicorn(env, workers=1) as base, browser.watched(page, base) as watched:
        watched.goto(base)
        expect(watched.locator("#register-closed-message")).to_have_text(
            f"Registration opens at {opens:%Y-%m-%d %H:%M} (UTC+02:00). Please come back then.")
        expect(watched.locator("#register-closed")).to_contain_text(re.compile(r"That is in (3 h|2 h 59 min)\."))
        expect(watched.locator("#registration-form")).to_be_hidden()
        expect(watched.locator("#signin-form")).to_be_visible()  # who registered can still come back

        sign_in(watched, base, TOKEN)
        expect(watched.locator("#admin-schedule")).to_have_text(
            f"scheduled: opens {opens:%Y-%m-%d %H:%M} (UTC+02:00), closes {opens + timedelta(hours=2):%Y-%m-%d %H:%M} "
            "(UTC+02:00)", timeout=15_000)
        expect(watched.locator("#registration-open")).not_to_be_checked()
        watched.locator("#registration-open").click()  # open early
        expect(watched.locator("#admin-result")).to_contain_text("Registration is now open")

        watched.goto(base)
        expect(watched.locator("#registration-form")).to_be_visible()
        assert requests.post(base + "/api/v1/registrations", json=person(1), timeout=30).status_code == 201


def test_after_the_scheduled_close_the_page_is_closed(page: Page, tmp_path):
    closes = datetime.now(timezone.utc) - timedelta(minutes=1)
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4",
           "REGISTRATION_CLOSES_AT": closes.isoformat()}
    with gunicorn(env, workers=1) as base, browser.watched(page, base) as watched:
        watched.goto(base)
        expect(watched.locator("#register-closed")).to_contain_text("Registration is closed")
        expect(watched.locator("#registration-form")).to_be_hidden()
        expect(watched.locator("#signin-section h2")).to_have_text("Already registered? Sign back in")
        assert browser.axe_violations(watched) == []


def test_who_can_log_in_the_filter_and_the_chart(admin: Page, site):
    """The table's login column and filter, the counts, and the chart of registrations and activations
    (Dash's graph; plotly's script loads on /admin only) — with no console error."""
    base, _ = site
    sign_in(admin, base, TOKEN)
    table = admin.locator("#attendees")
    expect(table).to_contain_text("attendee-1", timeout=15_000)
    expect(admin.locator("#admin-login-counts")).to_have_text(re.compile(r"^0 pending · \d+ active · 0 refused$"))
    expect(table.locator("th", has_text="Login")).to_have_count(1)
    expect(table.locator("td[data-dash-column=login]").first).to_have_text("active")
    admin.select_option("#login-filter", "pending")
    expect(table).not_to_contain_text("attendee-1", timeout=10_000)  # locally, every written login is active
    admin.select_option("#login-filter", "active")
    expect(table).to_contain_text("attendee-1", timeout=10_000)
    chart = admin.locator("#admin-chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=20_000)
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)
    plotted = admin.evaluate("Array.from(document.querySelector('#admin-chart .js-plotly-plot').data,"
                             " trace => [trace.name, trace.y.length ? trace.y[trace.y.length - 1] : 0])")
    assert plotted[0][0] == "registered" and plotted[0][1] >= 3  # a step per registration (the site may hold more)
    assert plotted[1] == ["can log in", plotted[0][1]]  # locally a login is active once written
    violations = browser.axe_violations(admin)
    assert violations == [], "\n".join(f"{v['id']} {v['impact']} {v['nodes']}" for v in violations)


def test_the_room_screen_shows_a_qr_code_that_reads_back_as_the_join_link(page: Page, tmp_path):
    """/admin/room/, a second window for the projector: the join link (PUBLIC_URL, never the request's Host)
    in large type and as a QR code made on the server, read back here from the browser's pixels by a QR
    decoder; the access code goes into the link only once the instructor typed the right one on /admin,
    and onto the screen only when asked; no name or email, no control; all of it on one screen at 1280×720
    and at 1920×1080; signed out, nothing."""
    public = "https://workshop.apps.example.com"
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "ADMIN_TOKEN": TOKEN,
           "ACCESS_CODE": "velvet-otter", "PUBLIC_URL": public, "EVENT_NAME": "Kubernetes 101"}
    with gunicorn(env, workers=1) as base, browser.watched(page, base) as watched:
        answer = requests.post(base + "/api/v1/registrations", json=dict(person(1), access_code="velvet-otter"),
                               timeout=30, headers={"Host": "evil.example.com"})
        assert answer.status_code == 201
        sign_in(watched, base, TOKEN)
        expect(watched.locator("#present-open")).to_have_attribute("href", "/admin/room/", timeout=15_000)
        room = watched.context.new_page()  # the projector's window
        room.set_viewport_size({"width": 1280, "height": 720})
        room.goto(base + "/admin/room")
        expect(room.locator("#present-address")).to_have_text(f"{public}/", timeout=15_000)
        expect(room.locator("#present-counts")).to_have_text("1 of 1 can log in")
        expect(room.locator("#present-state")).to_have_count(0)  # open: nothing to say
        wait_until(lambda: read_qr(room.locator("#present-qr")) == f"{public}/", timeout=10)
        assert room.locator("input, button, select").count() == 0  # the controls stay on /admin

        watched.fill("#present-code", "velvet-otters")
        watched.press("#present-code", "Enter")
        expect(watched.locator("#present-code-wrong")).to_be_visible(timeout=10_000)
        wait_until(lambda: read_qr(room.locator("#present-qr")) == f"{public}/", timeout=10)  # no code in it
        watched.fill("#present-code", "velvet-otter")
        watched.press("#present-code", "Enter")
        expect(watched.locator("#present-code-result")).to_have_text("Included in the join link on the room screen.",
                                                                     timeout=10_000)
        wait_until(lambda: read_qr(room.locator("#present-qr")) == f"{public}/?code=velvet-otter", timeout=15)
        expect(room.locator("#present-code-shown")).to_have_count(0)  # in the link, not on screen
        watched.locator("#present-show-code").check()
        expect(room.locator("#present-code-shown")).to_have_text("velvet-otter", timeout=15_000)
        for width, height in ((1280, 720), (1920, 1080)):
            room.set_viewport_size({"width": width, "height": height})
            for ident in ("#present-qr", "#present-address", "#present-code-shown", "#present-counts"):
                box = room.locator(ident).bounding_box()
                assert box["y"] >= 0 and box["y"] + box["height"] <= height, (width, ident, box)  # no fold
            qr = room.locator("#present-qr").bounding_box()["height"]
            assert 0.4 * height <= qr <= 0.5 * height
            shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)  # `make screenshots`: the README's
            room.screenshot(path=str(shots / f"room-screen-{width}.png"))
        text = room.inner_text("body")
        assert "Attendee 1" not in text and "attendee1@example.com" not in text and "attendee-1" not in text
        assert "evil.example.com" not in room.content()
        violations = browser.axe_violations(room)
        assert violations == [], "\n".join(f"{v['id']} {v['impact']} {v['nodes']}" for v in violations)

        watched.click("#sign-out")
        expect(watched.locator("#admin-token")).to_be_visible(timeout=15_000)
        room.reload()
        expect(room.locator("body")).to_contain_text("Sign in on the instructor page first")
        assert room.locator("#present-qr").count() == 0
        room.close()


def read_qr(image) -> str | None:
    """Decode the QR code in what the browser shows for this element (a screenshot, not the SVG source)."""
    import io

    import zxingcpp
    from PIL import Image
    from playwright.sync_api import Error

    try:
        shot = image.screenshot()
    except Error:  # replaced by the screen's refresh meanwhile: look again
        return None
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    return found[0].text if found else None


def test_the_room_screen_without_an_address_says_how_to_get_one(admin: Page, site):
    base, _ = site  # no PUBLIC_URL, no cluster, no access code
    sign_in(admin, base, TOKEN)
    expect(admin.locator("#present-open")).to_be_visible(timeout=15_000)
    admin.goto(base + "/admin/room/")
    expect(admin.locator("#present-no-address")).to_contain_text("Set PUBLIC_URL", timeout=15_000)
    expect(admin.locator("#present-qr")).to_have_count(0)
    expect(admin.locator("#present-counts")).to_contain_text("can log in")


def test_seats_are_made_from_the_page_and_their_passwords_only_downloaded(admin: Page, site):
    base, data = site
    sign_in(admin, base, TOKEN)
    expect(admin.locator("#attendees")).to_contain_text("attendee-1", timeout=15_000)
    admin.fill("#seat-count", "3")
    admin.fill("#seat-prefix", "desk")
    with admin.expect_download() as download:
        admin.click("#make-seats")
    rows = download.value.path().read_text().splitlines()
    assert download.value.suggested_filename == "seats.csv" and rows[0] == "username,password"
    made = dict(row.split(",") for row in rows[1:])
    assert list(made) == ["desk1", "desk2", "desk3"]
    expect(admin.locator("#seats-result")).to_contain_text("Made 3 seats, desk1 to desk3")
    assert not any(password in admin.content() for password in made.values())
    expect(admin.locator("#admin-seats")).to_have_text("0 of 3 claimed", timeout=15_000)
    expect(admin.locator("#attendees")).to_contain_text("unclaimed")
    lines = wait_until(lambda: (entries := htpasswd.entries((data / "htpasswd").read_bytes())) and
                       set(made) <= set(entries) and entries)
    assert all(htpasswd.verify(lines[name], password) for name, password in made.items())
    expect(admin.locator("#seat-start")).to_have_value("4")  # more seats start after these
    admin.fill("#seat-start", "2")
    admin.click("#make-seats")  # overlapping: taken, nothing made, said in the page's words
    expect(admin.locator("#seats-refused")).to_contain_text("taken: desk2, desk3; the next free numbers "
                                                            "start at 4 (First number)")
    assert browser.axe_violations(admin) == []
