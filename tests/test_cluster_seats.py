"""Seats on the real kube-apiserver: made in one write of the htpasswd Secret, claimed by a crowd across
two replicas, each seat by one attendee."""

from __future__ import annotations

import subprocess

import pytest

from app import roster
from tests.helpers import SecretWatch, published_in_secret, register_together
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster


def test_forty_seats_in_one_write_then_fifty_claims_across_two_replicas(deployment, tmp_path):
    deployment.create_htpasswd(b"# by hand\nteacher:{SHA}x\n")
    writes = SecretWatch(deployment)
    made = deployment.cli(tmp_path / "cli", "seats", "create", "--count", "40", SEATS="true")
    assert made.returncode == 0 and "SEATS is off" not in made.stderr, made.stderr
    rows = made.stdout.splitlines()
    assert rows[0] == "username,password" and len(rows) == 41
    passwords = dict(row.split(",") for row in rows[1:])
    content = published_in_secret(deployment, *passwords)
    assert writes.stop() and len(writes.versions) == 1  # forty logins, one write, one OAuth rollout
    assert content.startswith(b"# by hand\nteacher:{SHA}x\nuser1:$2y$04$")
    assert not any(password in deployment.registrations() for password in passwords.values())

    emails = [f"attendee{i}@example.com" for i in range(50)]
    with gunicorn(deployment.app_env(tmp_path / "a", SEATS="true"), workers=2) as a, \
            gunicorn(deployment.app_env(tmp_path / "b", SEATS="true"), workers=2) as b:
        answers = register_together([a, b], [{"email": email} for email in emails], path="/api/v1/claims")
    assert sorted(r.status_code for r in answers) == [201] * 40 + [409] * 10
    claimed = {r.json()["username"]: r.json() for r in answers if r.status_code == 201}
    assert set(claimed) == set(passwords)  # forty claims, forty different seats
    assert all(body["password"] == passwords[name] for name, body in claimed.items())
    assert all(r.json()["errors"] == {"form": "All seats are taken. Please tell your instructor."}
               for r in answers if r.status_code == 409)
    stored = {r.username: r.email for r in roster.parse_store(deployment.registrations())}
    assert sorted(stored.values()) == sorted(emails[i] for i, r in enumerate(answers) if r.status_code == 201)

    (tmp_path / "from-secret").write_bytes(deployment.htpasswd())
    name = sorted(claimed)[0]
    check = subprocess.run(["htpasswd", "-vb", str(tmp_path / "from-secret"), name, claimed[name]["password"]],
                           capture_output=True)
    assert check.returncode == 0, check.stderr
