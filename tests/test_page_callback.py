"""The page's callback route (Dash's /_dash-update-component) with well-formed and hostile bodies."""

from __future__ import annotations

import json

import pytest

from app.web import page
from tests.conftest import GOOD

IDS = ["username", "password", "password-confirm", "full-name", "email"]


def callback_body(client, values: dict) -> dict:
    """A request body shaped exactly as the page sends it (captured from Chromium) for the callback."""
    dependency = client.get("/_dash-dependencies").json[0]
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]
    return {
        "output": dependency["output"],
        "outputs": [{"id": component, "property": prop} for component, prop in specs],
        "inputs": [{"id": "registration-form", "property": "n_submit", "value": 1}],
        "changedPropIds": ["registration-form.n_submit"],
        "state": [{"id": i, "property": "value", "value": values.get(page.FIELDS[i])} for i in IDS],
    }


def submit(client, values: dict):
    return client.post("/_dash-update-component", json=callback_body(client, values))


def test_a_well_formed_submission_registers(client, tmp_path):
    response = submit(client, GOOD)
    assert response.status_code == 200
    assert "Account alice created." in response.get_data(as_text=True)
    assert (tmp_path / "data" / "htpasswd").read_text().startswith("alice:$2y$")


@pytest.mark.parametrize(
    "values",
    [
        dict(GOOD, username="alice\nbob:$2y$fake"),
        dict(GOOD, username={"$ne": None}),
        dict(GOOD, password=12345678),
        dict(GOOD, email=["a@b.c"]),
        {k: None for k in GOOD},
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
    assert "Account alice created." in response.get_data(as_text=True)
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
