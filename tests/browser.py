"""Helpers shared by the browser tests."""

from __future__ import annotations

import contextlib
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.helpers import FORM_FIELDS
from tests.servers import ROOT

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"


def fill(page: Page, form: dict) -> None:
    """Type a registration form (API field names) into the page's inputs."""
    for field_id, key in FORM_FIELDS:
        page.fill(f"#{field_id}", form[key])


def clipboard(page: Page, timeout: float = 5.0) -> str:
    """What the page put on the clipboard (polled: copying happens asynchronously)."""
    deadline, text = time.monotonic() + timeout, ""
    while time.monotonic() < deadline and not text:
        text = page.evaluate("navigator.clipboard.readText()")
        if not text:
            page.wait_for_timeout(100)
    return text


@contextlib.contextmanager
def watched(page: Page, base: str):
    """Yield the page; afterwards, fail on any console error or any request to another host than base."""
    errors, hosts = [], set()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    yield page
    assert errors == [], errors
    assert hosts <= {urlsplit(base).netloc}, hosts


def axe_violations(page: Page) -> list[dict]:
    """Serious and critical violations found by axe-core (from the npm registry) injected into the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: make test installs axe-core (npm ci in tests/js)", pytrace=False)
    # Evaluated through the DevTools protocol, which the page's CSP does not govern: an injected inline
    # <script> would be refused (script-src allows only Dash's own inline script).
    page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"]]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]
