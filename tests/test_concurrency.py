"""Concurrency against gunicorn with 4 worker processes: every registration exactly once."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from app import roster
from tests.helpers import person, published, register_together, wait_until
from tests.servers import gunicorn


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    with gunicorn({"DATA_DIR": str(data), "RATE_LIMIT": "off"}, workers=4) as base:
        yield base, data


def test_fifty_simultaneous_registrations_give_fifty_lines_in_each_file(server):
    base, data = server
    responses = register_together([base], [person(i) for i in range(50)])
    assert [r.status_code for r in responses] == [201] * 50
    lines = published(data, *(f"attendee-{i}" for i in range(50))).splitlines()
    assert len(lines) == 50 and all(line.split(b":")[1].startswith(b"$2y$10$") for line in lines)
    assert sorted(line.split(b":")[0].decode() for line in lines) == sorted(f"attendee-{i}" for i in range(50))
    users = roster.parse((data / "users.csv").read_text())
    assert sorted(u.username for u in users) == sorted(f"attendee-{i}" for i in range(50))
    stored = roster.parse_store((data / "registrations.csv").read_text())  # never a login without its record
    assert sorted(r.username for r in stored) == sorted(f"attendee-{i}" for i in range(50))
    # Every pending hash tidied from the roster, and no temporary file left once the writers are done.
    wait_until(lambda: not any(r.pending_login for r in roster.parse_store((data / "registrations.csv").read_text()))
               and not list(data.glob(".*.tmp")))
    if shutil.which("htpasswd"):
        check = subprocess.run(["htpasswd", "-vb", str(data / "htpasswd"), "attendee-7", person(7)["password"]],
                               capture_output=True)
        assert check.returncode == 0, check.stderr


def test_ten_simultaneous_attempts_at_one_username_give_one_success(server):
    base, data = server
    # Ten people, ten passwords (the same password would be the same attendee again: app.service).
    forms = [person(100 + i, username="contested", password=f"velvet otter number {i}",
                    password_confirm=f"velvet otter number {i}") for i in range(10)]
    codes = sorted(r.status_code for r in register_together([base], forms))
    assert codes == [201] + [409] * 9
    lines = published(data, "contested").splitlines()
    assert sum(line.startswith(b"contested:") for line in lines) == 1


def test_ten_simultaneous_attempts_with_one_email_give_one_success(server):
    base, data = server
    forms = [person(200 + i, email="same@example.com") for i in range(10)]
    responses = register_together([base], forms)
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9
    published(data, *(r.json()["username"] for r in responses if r.status_code == 201))
    users = roster.parse((data / "users.csv").read_text())
    assert sum(u.email == "same@example.com" for u in users) == 1


def test_the_rate_limit_holds_across_worker_processes(tmp_path):
    with gunicorn({"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "5/minute", "BCRYPT_ROUNDS": "4"},
                  workers=4) as base:
        responses = register_together([base], [person(i) for i in range(20)])
    codes = [r.status_code if r is not None else None for r in responses]
    assert codes.count(201) == 5 and codes.count(429) == 15, codes
