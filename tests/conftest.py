"""Shared fixtures: settings on a fresh DATA_DIR, the app and its Flask test client."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from app import create_app
from app.settings import Settings

# bcrypt's lowest cost keeps the suite fast; tests of the hash itself use the default cost of 10.
FAST_ROUNDS = 4

GOOD = {
    "username": "alice",
    "password": "velvet otter marmalade",
    "password_confirm": "velvet otter marmalade",
    "full_name": "Alice Liddell",
    "email": "alice@example.com",
}


def person(number: int, **changes) -> dict:
    """A valid registration form for attendee `number`."""
    form = dict(GOOD, username=f"attendee-{number}", email=f"attendee{number}@example.com",
                full_name=f"Attendee {number}")
    form.update(changes)
    return form


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)


@pytest.fixture
def make_app(tmp_path):
    def make(**changes):
        base = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)
        return create_app(dataclasses.replace(base, **changes))

    return make


@pytest.fixture
def client(make_app):
    return make_app().server.test_client()


@pytest.fixture(autouse=True)
def _quiet_root_logger():
    yield
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_workshop", False)]
