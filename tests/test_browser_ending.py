"""The event's end in Debian's Chromium: the instructor ends it from /admin (asked first, told what it did),
and the attendees' page and the room screen say so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from app import htpasswd
from tests import browser
from tests.helpers import person
from tests.servers import gunicorn

pytestmark = pytest.mark.browser
TOKEN = "instructor-token-123"
SIZES = {"phone": (375, 740), "laptop": (1280, 720), "desktop": (1920, 1080)}


def test_ending_the_event_from_admin_and_what_everyone_then_sees(page: Page, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "htpasswd").write_bytes(b"teacher:{SHA}x\n")
    env = {"DATA_DIR": str(data), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "ADMIN_TOKEN": TOKEN,
           "PUBLIC_URL": "https://workshop.apps.example.com"}
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    with gunicorn(env, workers=2) as base, browser.watched(page, base) as admin:
        for i in range(3):
            assert requests.post(base + "/api/v1/registrations", json=person(i), timeout=30).status_code == 201
        admin.goto(base + "/admin/")
        admin.fill("#admin-token", TOKEN)
        admin.click("#sign-in")
        expect(admin.locator("#end-state")).to_contain_text("The event ends when you end it", timeout=15_000)
        expect(admin.locator("#download-attendance")).to_be_visible()

        asked = []  # dismissed first: nothing changes
        admin.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
        admin.click("#end-event")
        for _ in range(100):
            if asked:
                break
            admin.wait_for_timeout(100)
        assert asked and asked[0].startswith("End the event now? This cannot be undone.")
        assert "take 3 attendees' logins out of htpasswd in one write" in asked[0]
        assert set(htpasswd.entries((data / "htpasswd").read_bytes())) >= {"attendee-0", "attendee-1", "attendee-2"}

        admin.once("dialog", lambda dialog: dialog.accept())
        admin.click("#end-event")
        done = admin.locator("#action-dialog #end-done")
        expect(done).to_contain_text("all 3 records are kept", timeout=15_000)
        expect(admin.locator("#action-title")).to_have_text("The event has ended")
        admin.set_viewport_size({"width": 1280, "height": 720})
        admin.screenshot(path=str(shots / "admin-end-done.png"))
        assert (data / "htpasswd").read_bytes() == b"teacher:{SHA}x\n"
        admin.get_by_role("button", name="Close").click()
        expect(admin.locator("#admin-headline")).to_contain_text("The event ended at", timeout=15_000)
        expect(admin.locator("#attendees")).to_contain_text("attendee-2")  # the records stay
        attendance = admin.request.get(base + "/admin/attendance.csv")
        assert attendance.status == 200 and attendance.text().count("\r\n") == 4
        admin.reload()
        expect(admin.locator("#end-event")).to_be_disabled(timeout=15_000)
        expect(admin.locator("#registration-open")).to_be_disabled()
        for name, (width, height) in SIZES.items():
            admin.set_viewport_size({"width": width, "height": height})
            admin.locator("#end-state").scroll_into_view_if_needed()
            admin.screenshot(path=str(shots / f"admin-ended-{name}.png"))
        assert browser.axe_violations(admin) == []

        attendee = admin.context.new_page()
        for name, (width, height) in SIZES.items():
            attendee.set_viewport_size({"width": width, "height": height})
            attendee.goto(base)
            expect(attendee.locator("#register-closed")).to_contain_text("This event has ended", timeout=15_000)
            expect(attendee.locator("#register-ended-at")).to_contain_text("It ended at")
            expect(attendee.locator("#ways")).to_be_hidden()  # no form, no sign-in: nothing works any more
            attendee.screenshot(path=str(shots / f"ended-{name}.png"))
        assert browser.axe_violations(attendee) == []

        room = admin.context.new_page()
        room.set_viewport_size({"width": 1920, "height": 1080})
        room.goto(base + "/admin/room/")
        expect(room.locator("#present-state")).to_have_text("The event has ended. Thank you!", timeout=15_000)
        expect(room.locator("#present-qr")).to_have_count(0)
        room.screenshot(path=str(shots / "room-ended.png"))
