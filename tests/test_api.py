"""The JSON API and the health endpoints, through Flask's test client, local mode."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from app.runtime import runtime_of
from app.settings import digest
from tests.helpers import GOOD, person, published

API = "/api/v1/registrations"


def post(client, body, **kwargs):
    return client.post(API, json=body, **kwargs)


def test_a_registration_is_created(client, tmp_path):
    response = post(client, GOOD)
    assert response.status_code == 201
    assert response.json["username"] == "alice" and response.json["registered_at"].endswith("Z")
    assert response.json["login"] == "pending"  # durable now; the publisher writes the login next
    data = tmp_path / "data"
    assert published(data, "alice").startswith(b"alice:$2y$04$")
    assert (data / "users.csv").read_text().splitlines()[1].startswith("alice,Alice Liddell,alice@example.com,")
    assert "$2y$" not in (data / "users.csv").read_text()


def test_login_details_come_back(make_app):
    client = make_app(console_url="https://console.example.com", api_url="https://api.example.com:6443") \
        .server.test_client()
    body = post(client, GOOD).json
    assert body["login_command"] == "oc login --username=alice https://api.example.com:6443"
    assert body["console_url"] == "https://console.example.com"
    assert body["lab_links"] == []


def test_lab_links_come_back_with_the_username_filled_in(make_app):
    links = (("Guide", "https://guides.example.com/?user={username}"), ("Shell", "http://shell.example.com/{username}"))
    body = post(make_app(lab_links=links).server.test_client(), GOOD).json
    assert body["lab_links"] == [{"title": "Guide", "url": "https://guides.example.com/?user=alice"},
                                 {"title": "Shell", "url": "http://shell.example.com/alice"}]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"username": "Bad Name"}, "username"),
        ({"password": "short"}, "password"),
        ({"full_name": "A\nB"}, "full_name"),
        ({"email": "not-an-email"}, "email"),
        ({"username": 42}, "username"),
        ({"password": ["a", "b"]}, "password"),
        ({"email": None}, "email"),
        ({"full_name": {"x": 1}}, "full_name"),
        ({"username": "x" * 1_000}, "username"),
        ({"username": "alice\u0000"}, "username"),
        ({"username": "alice:0:0"}, "username"),
    ],
)
def test_invalid_fields_get_400_with_a_message_per_field(client, tmp_path, change, field):
    response = post(client, dict(GOOD, **change))
    assert response.status_code == 400
    assert field in response.json["errors"] and response.json["errors"][field]
    assert not (tmp_path / "data" / "htpasswd").exists()


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b"{not json", "application/json"),
        (b"username=alice", "application/x-www-form-urlencoded"),
        (json.dumps(GOOD).encode(), "text/plain"),
    ],
)
def test_bodies_that_are_not_a_json_object_get_400(client, body, content_type):
    response = client.post(API, data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.json["errors"]["form"].startswith("Send a JSON object")


def test_a_huge_body_gets_413(client):
    response = client.post(API, data=json.dumps(dict(GOOD, full_name="x" * 1_000_000)),
                           content_type="application/json")
    assert response.status_code == 413 and "too large" in response.json["errors"]["form"]


def test_taken_username_and_email_get_409(client):
    assert post(client, GOOD).status_code == 201
    other = post(client, dict(GOOD, email="other@example.com", password="cobalt walrus tangerine",
                              password_confirm="cobalt walrus tangerine"))
    assert other.status_code == 409 and "username" in other.json["errors"]
    same_email = post(client, dict(GOOD, username="alice2", email="ALICE@example.com"))
    assert same_email.status_code == 409 and "email" in same_email.json["errors"]


def test_registering_again_with_the_same_details_answers_200(client, tmp_path):
    assert post(client, GOOD).status_code == 201
    again = post(client, GOOD)
    assert again.status_code == 200 and again.json["again"] is True
    assert published(tmp_path / "data", "alice").count(b"\n") == 1
    again = post(client, GOOD)
    assert again.status_code == 200 and again.json["login"] == "active"


def test_an_existing_line_not_made_by_the_app_is_taken(make_app, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "htpasswd").write_bytes(b"# managed by hand\nalice:{SHA}abc\n")
    client = make_app().server.test_client()
    assert post(client, GOOD).status_code == 409
    assert post(client, person(1)).status_code == 201
    assert published(data, "attendee-1").startswith(b"# managed by hand\nalice:{SHA}abc\nattendee-1:$2y$")


def test_access_code(make_app):
    client = make_app(access_code_digest=digest("wonderland")).server.test_client()
    assert post(client, GOOD).status_code == 403
    wrong = post(client, dict(GOOD, access_code="guess"))
    assert wrong.status_code == 403 and "access_code" in wrong.json["errors"]
    assert post(client, dict(GOOD, access_code="wonderland")).status_code == 201


def test_a_wrong_access_code_tells_nothing_about_taken_names_or_emails(make_app):
    client = make_app(access_code_digest=digest("wonderland")).server.test_client()
    assert post(client, dict(GOOD, access_code="wonderland")).status_code == 201
    for code in (None, "guess"):
        probe = dict(GOOD, email="alice@example.com", password="x")  # taken name, taken email, bad password
        if code:
            probe["access_code"] = code
        response = post(client, probe)
        # Without a code the form's own problems too (the short password); never the taken name or email.
        assert response.status_code == 403 and set(response.json["errors"]) == (
            {"access_code", "password"} if code is None else {"access_code"})
    known = post(client, dict(GOOD, password="x", access_code="wonderland"))  # with the code: the name too
    assert set(known.json["errors"]) == {"username", "password"}  # an email, only after a hash (below)


def test_an_invalid_form_says_nothing_about_the_email(make_app):
    client = make_app().server.test_client()
    assert post(client, GOOD).status_code == 201
    for invalid in (dict(GOOD, username="x", password="x"), dict(GOOD, username="fresh-name", password="x")):
        answer = post(client, invalid)  # an invalid form with alice's email: nothing about the email
        assert answer.status_code == 400 and "email" not in answer.json["errors"]
    answer = post(client, dict(GOOD, username="fresh-name"))  # valid: said (after a hash: test_service.py)
    assert answer.status_code == 409 and set(answer.json["errors"]) == {"email"}


def test_closed_registration_answers_503(make_app):
    closed = make_app(registration_open=False).server.test_client()
    response = post(closed, GOOD)
    assert response.status_code == 503 and "closed" in response.json["errors"]["form"]


def test_before_the_scheduled_opening_the_answer_says_when(make_app, tmp_path):
    opens = datetime.now(timezone(timedelta(hours=-5))).replace(microsecond=0) + timedelta(hours=2)
    early = make_app(registration_opens_at=opens).server.test_client()
    response = post(early, GOOD)
    assert response.status_code == 503
    assert response.json["errors"] == {"form": f"Registration opens at {opens:%Y-%m-%d %H:%M} (UTC-05:00). "
                                               "Please come back then."}
    late = make_app(registration_closes_at=opens - timedelta(hours=3), data_dir=tmp_path / "late").server
    response = post(late.test_client(), GOOD)
    assert response.status_code == 503 and "Registration is closed" in response.json["errors"]["form"]


def test_full_after_max_users(make_app):
    client = make_app(max_users=2).server.test_client()
    assert [post(client, person(i)).status_code for i in range(3)] == [201, 201, 503]
    assert "full" in post(client, person(4)).json["errors"]["form"]


def test_rate_limit_answers_429_with_retry_after(make_app):
    client = make_app(rate_limit="3/minute").server.test_client()
    codes = [post(client, person(i), environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    limited = post(client, person(9), environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert int(limited.headers["Retry-After"]) > 0 and "Too many attempts" in limited.json["errors"]["form"]
    assert post(client, person(10), environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 201


def test_forwarded_for_is_trusted_only_for_the_configured_hops(make_app):
    trusting = make_app(rate_limit="1/minute", trusted_proxy_hops=1).server.test_client()
    a = post(trusting, person(1), headers={"X-Forwarded-For": "198.51.100.1"})
    b = post(trusting, person(2), headers={"X-Forwarded-For": "198.51.100.2"})
    assert (a.status_code, b.status_code) == (201, 201)  # two clients behind the router


def test_forwarded_for_is_ignored_without_trusted_hops(make_app, tmp_path):
    naive = make_app(rate_limit="1/minute", data_dir=tmp_path / "other").server.test_client()
    a = post(naive, person(1), headers={"X-Forwarded-For": "198.51.100.1"})
    b = post(naive, person(2), headers={"X-Forwarded-For": "198.51.100.2"})
    assert (a.status_code, b.status_code) == (201, 429)  # spoofed headers do not reset the limit


def test_health_endpoints(client, tmp_path):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json["status"] == "ready"


def test_readyz_is_false_with_the_reason_when_data_dir_is_not_writable(make_app, tmp_path):
    app = make_app()
    client = app.server.test_client()
    runtime_of(app.server).stop()  # its workers would make the folder again (its .runtime), racing the file
    data = tmp_path / "data"
    data.rename(tmp_path / "elsewhere")
    data.write_text("a file where the folder should be: not writable, even for root")
    response = client.get("/readyz")
    assert response.status_code == 503 and "not writable" in response.json["reason"]


def test_unknown_api_routes_and_methods_get_json_errors(client):
    missing = client.get("/api/v1/nope")
    assert missing.status_code == 404 and "errors" in missing.json
    response = client.get(API)
    assert response.status_code == 405 and "errors" in response.json


def test_security_headers(client):
    headers = client.get("/").headers
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_no_secret_in_logs_or_responses(make_app, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_app(access_code_digest=digest("wonderland-secret")).server.test_client()
    responses = [
        post(client, dict(GOOD, access_code="wonderland-secret")),
        post(client, dict(GOOD, access_code="wrong-code-typed")),
        post(client, dict(person(2), password="short", access_code="wonderland-secret")),
    ]
    text = caplog.text + "".join(r.get_data(as_text=True) for r in responses)
    for secret in ("velvet otter marmalade", "wonderland-secret", "wrong-code-typed", "$2y$", "short"):
        assert secret not in text.replace("Use at least", ""), secret
    assert "event=registration outcome=created username=alice" in caplog.text
    assert "event=registration outcome=forbidden username=- reason='WrongAccessCode'" in caplog.text


@pytest.mark.parametrize("body", ['{"a":' * 5000 + "1" + "}" * 5000, "[" * 20000 + "]" * 20000])
def test_deeply_nested_json_is_a_400(client, body, caplog):
    response = client.post(API, data=body, content_type="application/json")
    assert response.status_code == 400 and "Traceback" not in caplog.text


def test_signing_back_in_brings_the_registration_back_and_says_nothing_of_names(make_app):
    client = make_app(access_code_digest=digest("wonderland"), rate_limit="6/minute",
                      registration_open=False).server.test_client()
    app_open = make_app(access_code_digest=digest("wonderland")).server.test_client()  # the same DATA_DIR
    assert post(app_open, dict(GOOD, access_code="wonderland")).status_code == 201
    back = client.post("/api/v1/sign-ins", json={"username": "Alice", "password": GOOD["password"],
                                                  "access_code": " WONDERLAND "})  # closed: still served
    assert back.status_code == 200 and back.json["again"] is True and back.json["username"] == "alice"
    assert "login_command" in back.json and GOOD["password"] not in back.get_data(as_text=True)
    wrong = client.post("/api/v1/sign-ins", json={"username": "alice", "password": "not hers at all",
                                                   "access_code": "wonderland"})
    unknown = client.post("/api/v1/sign-ins", json={"username": "nobody", "password": GOOD["password"],
                                                     "access_code": "wonderland"})
    assert wrong.status_code == unknown.status_code == 403 and wrong.json == unknown.json  # the same answer
    no_code = client.post("/api/v1/sign-ins", json={"username": "alice", "password": GOOD["password"]})
    assert no_code.status_code == 403 and set(no_code.json["errors"]) == {"access_code"}
    assert client.post("/api/v1/sign-ins", data=b"[1]", content_type="application/json").status_code == 400
    limited = [client.post("/api/v1/sign-ins", json={"username": "alice", "password": "guess", "access_code":
                                                      "wonderland"}).status_code for _ in range(3)]
    assert limited[-1] == 429  # rate-limited as registrations are
