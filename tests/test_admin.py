"""Instructor tools in local mode: the service, the command line and the /admin routes."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import time

import pytest

from app import htpasswd, roster
from app.__main__ import main as cli
from app.admin import AdminService, NotRegistered
from app.passwords import ALPHABET as PASSWORD_ALPHABET
from app.passwords import generate as generate_password
from app.settings import Settings, digest
from app.store import make_store
from tests.helpers import FAST_ROUNDS, instructor, person, published

TOKEN = "instructor-token-123"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None,
                    admin_token_digest=digest(TOKEN))


@pytest.fixture
def app(settings, app_for):
    return app_for(settings)


@pytest.fixture
def registered(app, tmp_path):
    """Three attendees registered through the API, next to a line someone added by hand."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "htpasswd").write_bytes(b"# by hand\nteacher:{SHA}x\n")
    client = app.server.test_client()
    for i in range(3):
        assert client.post("/api/v1/registrations", json=person(i)).status_code == 201
    published(data, "attendee-0", "attendee-1", "attendee-2")
    return data


def admin_service(settings) -> AdminService:
    store = make_store(settings)
    return instructor(store)


def test_generated_passwords_are_strong_and_typeable():
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        groups = password.split("-")
        assert len(groups) == 4 and all(len(g) == 4 and set(g) <= set(PASSWORD_ALPHABET) for g in groups)


def test_overview_and_export(settings, registered):
    service = admin_service(settings)
    overview = service.overview()
    assert [a.username for a in overview.attendees] == ["attendee-0", "attendee-1", "attendee-2"]
    assert overview.registration_open and overview.last_registration == overview.attendees[-1].registered_at
    assert overview.sync["mode"] == "local files" and overview.sync["error"] is None
    assert service.export_csv() == (registered / "users.csv").read_bytes().decode()


def test_close_and_open_registration(settings, registered, app):
    client = app.server.test_client()
    admin_service(settings).set_open(False)
    response = client.post("/api/v1/registrations", json=person(9))
    assert response.status_code == 503 and "closed" in response.json["errors"]["form"]
    assert "Registration is closed" in client.get("/_dash-layout").get_data(as_text=True)
    admin_service(settings).set_open(True)
    assert client.post("/api/v1/registrations", json=person(9)).status_code == 201


@pytest.mark.skipif(shutil.which("htpasswd") is None, reason="needs apache2-utils (make test installs it)")
def test_reset_password(settings, registered):
    old = person(1)["password"]
    new = admin_service(settings).reset_password("attendee-1")
    path = str(registered / "htpasswd")
    assert subprocess.run(["htpasswd", "-vb", path, "attendee-1", old], capture_output=True).returncode != 0
    assert subprocess.run(["htpasswd", "-vb", path, "attendee-1", new], capture_output=True).returncode == 0
    content = (registered / "htpasswd").read_bytes()
    assert content.startswith(b"# by hand\nteacher:{SHA}x\n") and content.count(b"attendee-1:") == 1


def test_only_attendees_of_this_app_can_be_reset_or_removed(settings, registered):
    service = admin_service(settings)
    for action in (service.reset_password, service.remove):
        with pytest.raises(NotRegistered):
            action("teacher")
        with pytest.raises(NotRegistered):
            action("nobody")
    assert b"teacher:{SHA}x" in (registered / "htpasswd").read_bytes()


def test_remove_and_register_again(settings, registered, app):
    removal = admin_service(settings).remove("attendee-0")
    assert removal.username == "attendee-0" and removal.commands == ()
    assert b"attendee-0:" not in (registered / "htpasswd").read_bytes()
    assert "attendee-0" not in (registered / "users.csv").read_text()
    assert "attendee-0" not in (registered / "registrations.csv").read_text()
    again = app.server.test_client().post("/api/v1/registrations", json=person(0))
    assert again.status_code == 201


def test_cleanup_removes_every_attendee_and_nothing_else(settings, registered):
    removals = admin_service(settings).cleanup()
    assert sorted(r.username for r in removals) == ["attendee-0", "attendee-1", "attendee-2"]
    assert (registered / "htpasswd").read_bytes() == b"# by hand\nteacher:{SHA}x\n"
    assert roster.parse((registered / "users.csv").read_text()) == []


def test_admin_actions_are_logged_without_secrets(settings, registered, caplog):
    caplog.set_level(logging.INFO)
    service = admin_service(settings)
    password = service.reset_password("attendee-2")
    service.set_open(False)
    assert "who=admin action=reset_password username=attendee-2" in caplog.text
    assert "who=admin action=close" in caplog.text
    assert password not in caplog.text and TOKEN not in caplog.text


# --- The command line ------------------------------------------------------------------------------------

def run_cli(registered, *args, text=True) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATA_DIR=str(registered), BCRYPT_ROUNDS=str(FAST_ROUNDS), CLUSTER_SYNC="off")
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=text,
                          timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))


def test_cli_does_the_same_on_the_same_data(registered):
    listing = run_cli(registered, "list")
    assert listing.returncode == 0 and "attendee-1" in listing.stdout and "Attendee 1" in listing.stdout
    export = run_cli(registered, "export", text=False)
    assert export.stdout == (registered / "users.csv").read_bytes()  # byte for byte, CRLF included
    assert run_cli(registered, "close").returncode == 0
    status = run_cli(registered, "status").stdout.splitlines()
    assert status[0] == "registration closed; 3 registered"
    assert status[1] == "logins: 0 pending, 3 active, 0 refused"  # locally, a written login is active
    assert status[2:] == [f"last write of the logins: {status[2].rsplit(': ', 1)[1]}",
                          "OAuth server: none (local files)"]  # the pending count once, above
    active = run_cli(registered, "list", "--state", "active").stdout.splitlines()
    assert active[0].split() == ["USERNAME", "FULL", "NAME", "EMAIL", "REGISTERED", "AT", "LOGIN"]
    assert [line.split()[0] for line in active[1:]] == ["attendee-0", "attendee-1", "attendee-2"]
    assert all(line.endswith("active") for line in active[1:])
    pending = run_cli(registered, "list", "--state", "pending")
    assert pending.stdout.splitlines()[1:] == [] and "no attendee whose login is pending" in pending.stderr
    assert run_cli(registered, "list", "--state", "nonsense").returncode == 2
    assert run_cli(registered, "open").returncode == 0
    identities = run_cli(registered, "identities").stdout.splitlines()  # after a switch of provider type
    assert identities == [f"oc delete user attendee-{i} --ignore-not-found && oc delete identity "
                          f"workshop:attendee-{i} --ignore-not-found" for i in range(3)]
    assert "attendee-0" in (registered / "users.csv").read_text()  # everyone still registered
    reset = run_cli(registered, "reset", "attendee-2")
    new_password = reset.stdout.strip().rsplit(": ", 1)[1]
    line = htpasswd.entries((registered / "htpasswd").read_bytes())["attendee-2"]
    assert htpasswd.verify(line, new_password) and not htpasswd.verify(line, person(2)["password"])
    assert new_password not in reset.stderr
    assert run_cli(registered, "remove", "attendee-0").returncode == 0
    assert "attendee-0" not in (registered / "users.csv").read_text()
    assert run_cli(registered, "remove", "teacher").returncode == 1
    assert run_cli(registered, "cleanup").returncode == 2  # needs --yes
    assert run_cli(registered, "cleanup", "--yes").returncode == 0
    assert (registered / "htpasswd").read_bytes() == b"# by hand\nteacher:{SHA}x\n"


def test_cli_reports_bad_settings_and_usage(tmp_path):
    env = dict(os.environ, DATA_DIR=str(tmp_path), BCRYPT_ROUNDS="1", CLUSTER_SYNC="off")
    result = subprocess.run([sys.executable, "-m", "app", "list"], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "BCRYPT_ROUNDS" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(SystemExit) as caught:
        cli(["nonsense"])
    assert caught.value.code == 2


# --- The /admin routes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/users.csv", "/admin/_dash-layout"])
def test_admin_is_404_without_a_token(tmp_path, path, app_for):
    client = app_for(Settings(data_dir=tmp_path / "d", rate_limit=None)).server.test_client()
    assert client.get(path).status_code == 404


def test_download_needs_a_session(app, registered):
    client = app.server.test_client()
    assert client.get("/admin/users.csv").status_code == 403
    with client.session_transaction() as session:
        session.update(since=time.time(), sid="a-session")
    response = client.get("/admin/users.csv")
    assert response.status_code == 200 and response.headers["Content-Disposition"] == "attachment; filename=users.csv"
    assert response.get_data(as_text=True) == (registered / "users.csv").read_bytes().decode()


def test_admin_callbacks_need_the_csrf_token(app):
    client = app.server.test_client()
    client.get("/admin/")
    refused = client.post("/admin/_dash-update-component", json={"output": "x"})
    assert refused.status_code == 403
    refused = client.post("/admin/_dash-update-component", json={"output": "x"}, headers={"X-CSRFToken": "guess"})
    assert refused.status_code == 403


def test_session_cookie_flags(app):
    client = app.server.test_client()
    response = client.get("/admin/")
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("workshop_admin="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/admin/" in session
    secure = client.get("/admin/", base_url="https://localhost").headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in secure)


def test_short_admin_tokens_are_refused(tmp_path):
    from app.errors import SettingsError

    with pytest.raises(SettingsError, match="ADMIN_TOKEN must be at least 12 characters"):
        Settings.from_env({"ADMIN_TOKEN": "short", "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert "instructor-token" not in repr(dataclasses.replace(Settings(), admin_token_digest=digest(TOKEN)))


@pytest.mark.parametrize("body", [b"{}", b'{"output": 5}', b'{"output": "admin-summary.children", "inputs": []}'])
def test_a_malformed_admin_callback_is_a_400_without_traceback(app, body, caplog):
    client = app.server.test_client()
    client.get("/admin/")
    token = client.get_cookie("_csrf_token", path="/admin/").value
    response = client.post("/admin/_dash-update-component", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400 and "Traceback" not in caplog.text


def test_every_admin_response_is_no_store(app):
    client = app.server.test_client()
    for path in ("/admin", "/admin/", "/admin/users.csv", "/admin/_dash-layout"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path


def test_signing_out_ends_the_session_everywhere_it_was_used(app, settings, app_for):
    from app.web import sessions

    client = app.server.test_client()
    with client.session_transaction() as session:
        session.update(since=time.time(), sid="copied-session")
    copied = client.get_cookie("workshop_admin", path="/admin/").value  # the same cookie, in another browser
    assert client.get("/admin/users.csv").status_code == 200
    with app.server.test_request_context("/admin/", headers={"Cookie": f"workshop_admin={copied}"}):
        sessions.of(app.server).sign_out()  # what the Sign out button does
    other = app.server.test_client()
    other.set_cookie("workshop_admin", copied, path="/admin/")
    assert other.get("/admin/users.csv").status_code == 403
    replica = app_for(settings).server.test_client()  # another replica of the same deployment
    replica.set_cookie("workshop_admin", copied, path="/admin/")
    assert replica.get("/admin/users.csv").status_code == 403


def test_two_apps_in_one_process_keep_their_own_signed_out_sessions(settings, app_for, tmp_path):
    """Per-app state lives on the app: signing out of one event's /admin is recorded in that event's state,
    never in another app's that happens to share the process (and the token)."""
    from app.web import sessions

    first, second = app_for(settings), app_for(dataclasses.replace(settings, data_dir=tmp_path / "other"))
    clients = [first.server.test_client(), second.server.test_client()]
    for client in clients:
        with client.session_transaction() as session:
            session.update(since=time.time(), sid="same-id")
    cookie = clients[0].get_cookie("workshop_admin", path="/admin/").value
    with first.server.test_request_context("/admin/", headers={"Cookie": f"workshop_admin={cookie}"}):
        sessions.of(first.server).sign_out()
    assert clients[0].get("/admin/users.csv").status_code == 403
    assert clients[1].get("/admin/users.csv").status_code == 200


def test_the_instructor_reads_the_room_at_a_glance(registered, settings):
    """One headline in words and colour, newest arrivals first, times as a person reads them, no chart of
    the year 2000 before anyone registered, and the seats' next free number."""
    import json
    from datetime import timedelta

    from app.web import admin_views as views

    overview = instructor(make_store(settings)).overview()
    text = json.dumps(views.summary(overview).to_plotly_json(), default=str)
    assert "3 of 3 can log in" in text and "0 pending" in text and "0 refused" in text
    assert "Sync" not in text and "OAuth server" not in text.split("How logins reach OpenShift")[0]
    rows, _ = views.table(views.accounts(overview), streamer=True, logins=overview.logins)
    assert [r["id"] for r in rows] == ["attendee-2", "attendee-1", "attendee-0"]  # newest first
    now = overview.attendees[0].registered_at
    assert views.when(now - timedelta(minutes=3), now) == f"{now - timedelta(minutes=3):%H:%M} · 3 min ago"
    assert views.when(now - timedelta(days=2), now).endswith("· 2 d ago")
    empty = dataclasses.replace(overview, attendees=[], batches=[])
    assert views.chart(empty)["layout"]["xaxis"]["range"][1][:4] == str(roster.now().year)
    service = instructor(make_store(settings))
    assert service.next_seat() == 1
    service.create_seats(3, "user", 1)
    service.create_seats(1, "user", 7)
    assert service.next_seat() == 8
    service.store.state.retire({"user8"})  # a removed seat whose User may remain: refused, so skipped
    assert service.next_seat() == 9
