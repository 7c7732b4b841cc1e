"""Hostile attendees, third round (issue #22): what a hostile attendee on the same network tried and was
not refused, each shown refused now. The forged login-check polls are in test_page_callback.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import time

import pytest

from app.errors import SettingsError
from app.settings import Settings, digest
from app.web.bundles import COMPRESSED

TOKEN = "instructor-token-123"
SCRIPT = "</title><script>alert(1)</script>"


def _inline_script_hashes(page: str) -> set[str]:
    """The CSP hashes of the executable inline scripts of a page, as a browser computes them."""
    found = set()
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # Dash's warning for Internet Explorer only
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S):
        if "src=" in attributes or "application/json" in attributes:
            continue
        found.add("'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'")
    return found


def test_the_event_name_is_text_in_the_title_and_only_dashs_own_inline_script_runs(make_app):
    client = make_app(event_name="R&D " + SCRIPT, admin_token_digest=digest(TOKEN)).server.test_client()
    for path in ("/", "/admin/"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page, path
        assert "R&amp;D &lt;/title&gt;&lt;script&gt;" in page.split("</title>")[0], path
        policy = response.headers["Content-Security-Policy"]
        script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src")).split()
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert _inline_script_hashes(page) <= set(script_src), path  # Dash's own inline script still runs


def test_the_page_says_nothing_of_the_software_versions_it_runs(make_app):
    page = make_app().server.test_client().get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page,
                                  flags=re.S).group(1))
    assert "requests_pathname_prefix" in config  # what the renderer needs is there
    assert not {"dash_version", "python_version", "plotly_version", "dash_version_url"} & set(config)
    assert sys.version.split()[0] not in page


def _signed_in(client) -> None:
    with client.session_transaction() as session:
        session.update(since=time.time(), sid="a-session")


def test_admins_callbacks_and_bundles_wait_for_the_sign_in(make_app):
    client = make_app(admin_token_digest=digest(TOKEN)).server.test_client()
    client.get("/admin/")
    listed = client.get("/admin/_dash-dependencies").json
    assert [d["inputs"][0]["id"] for d in listed] == ["sign-in"]  # the sign-in form's, nothing of the dashboard
    plotly = "_dash-component-suites/plotly/package_data/plotly.min.js"
    assert client.get("/" + plotly).status_code == 404  # never at the public root
    assert client.get("/admin/" + plotly).status_code == 404  # nor for someone not signed in
    assert client.get("/admin/room/" + plotly).status_code == 404  # nor by the room screen's app
    _signed_in(client)
    assert len(client.get("/admin/_dash-dependencies").json) > 5
    assert client.get("/admin/" + plotly).status_code == 200


@pytest.mark.parametrize("body", [b'{"output": "room-body.children", "inputs": [], "state": []}', b"[1]",
                                  b'{"output": 5}'])
def test_a_forged_room_screen_callback_gets_a_4xx_never_a_500(make_app, body, caplog):
    client = make_app(admin_token_digest=digest(TOKEN)).server.test_client()
    _signed_in(client)
    client.get("/admin/room/")  # the session's CSRF cookie

    def post(data: bytes):
        return client.post("/admin/room/_dash-update-component", data=data, content_type="application/json",
                           headers={"X-CSRFToken": client.get_cookie("_csrf_token", path="/admin/").value})
    good = (b'{"output": "room-body.children", "outputs": {"id": "room-body", "property": "children"}, '
            b'"inputs": [{"id": "room-tick", "property": "n_intervals", "value": 1}, {"id": "room-code", '
            b'"property": "data", "value": {"code": 5, "show": true}}], "changedPropIds": ["room-tick.n_intervals"]}')
    assert post(good).status_code == 200  # the page's own request gets through (the CSRF check passes)
    answer = post(body)
    assert answer.status_code == 400, answer.status_code
    assert "Traceback" not in caplog.text


def test_a_bundle_is_compressed_once_in_the_process_whatever_its_fingerprint(make_app):
    app = make_app()
    client = app.server.test_client()
    paths = [f"/_dash-component-suites/dash/dcc/async-mathjax.v{n}_0_0m{n}.js?x={n}" for n in range(5)]
    answers = [client.get(path, headers={"Accept-Encoding": "gzip"}) for path in paths]
    assert all(a.status_code == 200 and a.headers["Content-Encoding"] == "gzip" for a in answers)
    assert len({a.data for a in answers}) == 1
    cache = app.server.extensions[COMPRESSED]
    assert cache.kept() == ["gzip;/_dash-component-suites/dash/dcc/async-mathjax.js"]  # one entry, kept
    client.post("/api/v1/registrations", json={"username": "x" * 600})  # an API answer: never kept
    assert len(cache.kept()) == 1


def _sign_in(client, token: str) -> str:
    """One press of Sign in, as the page sends it."""
    dependency = client.get("/admin/_dash-dependencies").json[0]
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]
    body = {"output": dependency["output"], "outputs": [{"id": i, "property": p} for i, p in specs],
            "inputs": [{"id": "sign-in", "property": "n_clicks", "value": 1},
                       {"id": "admin-token", "property": "n_submit", "value": None}],
            "changedPropIds": ["sign-in.n_clicks"],
            "state": [{"id": "admin-token", "property": "value", "value": token}]}
    csrf = client.get_cookie("_csrf_token", path="/admin/").value
    response = client.post("/admin/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_right_admin_token_signs_in_whatever_the_rooms_address_sent_before(make_app):
    app = make_app(admin_token_digest=digest(TOKEN))
    attacker, instructor = app.server.test_client(), app.server.test_client()  # one address, the room's
    attacker.get("/admin/")
    answers = [_sign_in(attacker, f"guess-{n}") for n in range(30)]
    assert all("That is not the admin token." in a for a in answers)
    assert "the right one still signs you in" in answers[-1]  # counted, and said
    instructor.get("/admin/")
    assert json.loads(_sign_in(instructor, TOKEN))["response"]["admin-location"]["href"] == "/admin/"  # signed in
    assert "Instructor sign-in" not in instructor.get("/admin/_dash-layout").get_data(as_text=True)


@pytest.mark.parametrize("weak", ["workshop2026!", "adminadmin123", "openshift-workshop"])
def test_an_admin_token_easy_to_guess_stops_start_up_with_how_to_make_one(tmp_path, weak):
    with pytest.raises(SettingsError, match="ADMIN_TOKEN.*too easy to guess.*secrets.token_urlsafe"):
        Settings.from_env({"ADMIN_TOKEN": weak, "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert Settings.from_env({"ADMIN_TOKEN": "velvet-otter-marmalade-42",
                              "SERVICE_ACCOUNT_DIR": str(tmp_path)}).admin_token_digest
