"""The page's callback route (Dash's /_dash-update-component) with well-formed and hostile bodies."""

from __future__ import annotations

import json

import pytest

from app.files import FileDocument, lock_for
from app.settings import Settings
from app.store import make_store
from app.tickets import SharedKey, Tickets
from app.web.forms import FIELDS
from tests.helpers import FORM_FIELDS, GOOD, instructor, published
from tests.oauth_standin import OAuthStandIn

IDS = [field_id for field_id, _ in FORM_FIELDS]


def callback_body(client, values: dict) -> dict:
    """A request body shaped exactly as the page sends it (captured from Chromium) for the callback."""
    dependency = client.get("/_dash-dependencies").json[0]
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]
    return {
        "output": dependency["output"],
        "outputs": [{"id": component, "property": prop} for component, prop in specs],
        "inputs": [{"id": "registration-form", "property": "n_submit", "value": 1}],
        "changedPropIds": ["registration-form.n_submit"],
        "state": [{"id": i, "property": "value", "value": values.get(FIELDS[i])} for i in IDS],
    }


def submit(client, values: dict):
    return client.post("/_dash-update-component", json=callback_body(client, values))


def test_a_well_formed_submission_registers(client, tmp_path):
    response = submit(client, GOOD)
    assert response.status_code == 200
    assert "Account alice registered." in response.get_data(as_text=True)
    assert published(tmp_path / "data", "alice").startswith(b"alice:$2y$")


@pytest.mark.parametrize(
    "values",
    [
        dict(GOOD, username="alice\nbob:$2y$fake"),
        dict(GOOD, username={"$ne": None}),
        dict(GOOD, password=12345678),
        dict(GOOD, email=["a@b.c"]),
        dict.fromkeys(GOOD),
        dict(GOOD, username="x" * 20_000),
        dict(GOOD, full_name="\u0000\ud800"),
    ],
)
def test_hostile_values_get_field_messages_not_errors(client, tmp_path, values):
    response = submit(client, values)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "register-error" in text
    htpasswd = tmp_path / "data" / "htpasswd"
    assert not htpasswd.exists() or htpasswd.read_bytes().count(b"\n") == len(htpasswd.read_bytes().splitlines())


def test_a_formula_name_registers_and_is_neutralised_in_users_csv(client, tmp_path):
    response = submit(client, dict(GOOD, full_name='=HYPERLINK("http://evil")\r\n'))
    assert "Account alice registered." in response.get_data(as_text=True)
    published(tmp_path / "data", "alice")
    assert "alice,\"'=HYPERLINK(\"\"http://evil\"\")\"," in (tmp_path / "data" / "users.csv").read_text()


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"{}", b"[]", b"null", b'{"output": "x"}', b'{"output": 5, "inputs": {}}',
     b'{"output": "register-result.children", "inputs": [], "state": []}', b"\xff\xfe\x00"],
)
def test_malformed_bodies_get_400_not_500(client, body):
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_huge_callback_body_gets_413(client):
    body = callback_body(client, dict(GOOD, full_name="x" * 1_000_000))
    response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 413


# --- The login-status poll ---------------------------------------------------------------------------------

def poll_body(client, check) -> dict:
    """The page's poll request, as the browser sends it, with the check data it holds in memory."""
    dependency = next(d for d in client.get("/_dash-dependencies").json
                      if d["inputs"] == [{"id": "login-poll", "property": "n_intervals"}])
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]
    return {"output": dependency["output"], "outputs": [{"id": i, "property": p} for i, p in specs],
            "inputs": [{"id": "login-poll", "property": "n_intervals", "value": 3}],
            "changedPropIds": ["login-poll.n_intervals"],
            "state": [{"id": "login-check", "property": "data", "value": check}]}


@pytest.fixture
def checking(make_app, tmp_path):
    """A client of an app whose login check asks a STAND-IN OAuth server that never says ready, and tickets
    made with that app's own key (as the page gets them)."""
    standin = OAuthStandIn(ready_after=100)
    client = make_app(login_check=True, api_url=standin.url).server.test_client()
    assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
    published(tmp_path / "data", "alice")
    key = FileDocument(tmp_path / "data" / ".runtime" / "login-check.key", lock_for(tmp_path / "data"))
    yield client, lambda lifetime: Tickets(SharedKey(key), lifetime).issue("alice", 1_800_000_000, GOOD["password"])
    standin.stop()


def poll(client, check) -> str:
    return client.post("/_dash-update-component", json=poll_body(client, check)).get_data(as_text=True)


def test_an_expired_ticket_says_still_not_active_and_forgets_the_password(checking):
    client, ticket = checking
    text = poll(client, {"username": "alice", "password": GOOD["password"], "ticket": ticket(-5)})
    assert "still not active" in text and "tell your instructor" in text
    assert GOOD["password"] not in text and '"login-check":{"data":null}' in text.replace(" ", "")


def test_a_valid_ticket_with_another_password_is_refused_before_asking_oauth(checking):
    client, ticket = checking
    text = poll(client, {"username": "alice", "password": "a guessed password", "ticket": ticket(60)})
    assert "still not active" not in text and "Activating" not in text  # not ours: nothing shown
    assert '"login-poll":{"disabled":true}' in text.replace(" ", "")  # and no more polling


def test_a_valid_ticket_keeps_checking_while_oauth_says_not_yet(checking):
    client, ticket = checking
    text = poll(client, {"username": "alice", "password": GOOD["password"], "ticket": ticket(60)})
    assert "Activating your account" in text and '"interval":' in text.replace(" ", "")


@pytest.mark.parametrize("check", [
    {"username": "alice", "password": "velvet otter marmalade", "ticket": "forged.ticket"},
    {"username": "bob", "password": "x", "ticket": None},
    {"username": ["alice"], "password": {}, "ticket": 5},
    "not a dict",
])
def test_tampered_check_data_stops_polling_without_errors(checking, check):
    client, _ = checking
    response = client.post("/_dash-update-component", json=poll_body(client, check))
    assert response.status_code in (200, 204)
    assert "Traceback" not in response.get_data(as_text=True) and "Ready" not in response.get_data(as_text=True)


# --- Client errors are 4xx without a traceback; our own bugs stay 500, logged once ---------------------

@pytest.mark.parametrize("path", ["/_dash-component-suites/nonexistent/x.js",
                                  "/_dash-component-suites/dash/deps/nope.js",
                                  "/_dash-component-suites/dash/deps/react@18.3.1.min.js.map"])
def test_an_unknown_script_is_404_not_500(client, path, caplog):
    response = client.get(path)
    assert response.status_code == 404 and "Traceback" not in caplog.text


def test_a_bug_in_a_callback_of_ours_is_a_500_logged_once_with_its_traceback(checking, monkeypatch, caplog):
    client, ticket = checking
    from app.logincheck import LoginCheck

    def broken(self, *args):
        raise ZeroDivisionError("a bug of ours")
    monkeypatch.setattr(LoginCheck, "poll", broken)  # our own code, broken on purpose
    response = client.post("/_dash-update-component", json=poll_body(client, {"username": "alice", "password": "x",
                                                                               "ticket": ticket(60)}))
    assert response.status_code == 500 and "Traceback" not in response.get_data(as_text=True)
    assert caplog.text.count("Traceback") == 1 and "event=callback_failed callback=poll" in caplog.text


def test_a_name_held_by_another_identity_is_refused_in_plain_words_and_shown_to_the_instructor(make_app, tmp_path):
    """OpenShift answers 500 "cannot be claimed ... already mapped" (mappingMethod claim) for a name that a
    User of another provider holds: the attendee hears it at the first check, not after five minutes."""
    standin = OAuthStandIn(ready_after=0, htpasswd_file=tmp_path / "data" / "htpasswd", claimed={"alice"})
    try:
        app = make_app(login_check=True, api_url=standin.url)
        client = app.server.test_client()
        assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
        published(tmp_path / "data", "alice")
        key = FileDocument(tmp_path / "data" / ".runtime" / "login-check.key", lock_for(tmp_path / "data"))
        ticket = Tickets(SharedKey(key), 60).issue("alice", 1_800_000_000, GOOD["password"])
        text = poll(client, {"username": "alice", "password": GOOD["password"], "ticket": ticket})
        assert "OpenShift refused this login" in text and '"login-check":{"data":null}' in text.replace(" ", "")
        assert standin.checks["alice"] == 1  # at the first check
    finally:
        standin.stop()
    store = make_store(Settings(data_dir=tmp_path / "data"))  # the instructor's view, e.g. python -m app status
    assert set(instructor(store).overview().refused) == {"alice"}


@pytest.mark.parametrize("polls, waited", [("x", 0), (5000, 0), (1e308, 0), ([1], 0), (True, 0), (-3, 0),
                                           (3, -1_000_000), (3, 1e308), (10**9, "x"), (2, 10**9)])
def test_forged_poll_counts_get_a_4xx_or_a_sane_answer_never_a_500(checking, polls, waited, caplog):
    client, ticket = checking
    body = poll_body(client, {"username": "alice", "password": GOOD["password"], "ticket": ticket(60),
                              "waited": waited})
    body["inputs"][0]["value"] = polls
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code in (200, 204, 400), response.status_code
    assert "Traceback" not in response.get_data(as_text=True) and "Traceback" not in caplog.text
    if response.status_code == 200:
        interval = response.json["response"]["login-poll"]["interval"]
        assert 3000 <= interval <= 15000  # between the first poll's and the slowest
