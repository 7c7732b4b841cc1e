"""Helpers shared by the tests (and the benchmark): attendees' forms, waiting on conditions, sending at
once, and watching the htpasswd Secret."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from kubernetes import watch

from app.web.forms import FIELDS

# bcrypt's lowest cost keeps the suite fast; tests of the hash itself use the default cost of 10.
FAST_ROUNDS = 4
API = "/api/v1/registrations"

GOOD = {
    "username": "alice",
    "password": "velvet otter marmalade",
    "password_confirm": "velvet otter marmalade",
    "full_name": "Alice Liddell",
    "email": "alice@example.com",
}
# The page's input ids with the form's field names, in page order, without the access code.
FORM_FIELDS = [(i, name) for i, name in FIELDS.items() if name in GOOD]


def instructor(store):
    """The instructor's operations on a store, as the command line builds them (no background work)."""
    from app.admin import AdminService
    from app.handover import make_handover
    from app.runtime import Runtime

    return AdminService(store, make_handover(store, Runtime(), provision=False))


def person(number: int, tag: str = "attendee", **changes) -> dict:
    """A valid registration form for attendee `number`."""
    form = dict(GOOD, username=f"{tag}-{number}", email=f"{tag}{number}@example.com", full_name=f"Attendee {number}")
    form.update(changes)
    return form


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.2):
    """The predicate's first true value, polled until the timeout; AssertionError if it never comes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def register_together(bases: list[str], forms: list[dict], stagger: float = 0.0,
                      path: str = API) -> list[requests.Response | None]:
    """Send the forms at once (or staggered), alternating between app instances; None for no answer."""
    barrier = threading.Barrier(len(forms))

    def one(item):
        number, form = item
        barrier.wait()
        time.sleep(number * stagger)
        try:
            return requests.post(bases[number % len(bases)] + path, json=form, timeout=90)
        except requests.RequestException:
            return None

    with ThreadPoolExecutor(len(forms)) as pool:
        return list(pool.map(one, enumerate(forms)))


def readyz(base: str) -> dict | None:
    """The /readyz body when it says not ready, else None."""
    response = requests.get(base + "/readyz", timeout=5)
    return response.json() if response.status_code == 503 else None


def degraded(base: str, verify: str | bool = True) -> dict | None:
    """The /readyz body when it reports a degraded service (still ready), else None."""
    response = requests.get(base + "/readyz", timeout=5, verify=verify)
    body = response.json()
    return body if response.status_code == 200 and "degraded" in body else None


def users_in_secret(deployment) -> list[str]:
    """The user names in the deployment's htpasswd Secret, in file order."""
    return [line.split(b":")[0].decode() for line in deployment.htpasswd().splitlines() if b":" in line]


class SecretWatch:
    """Every write of the deployment's htpasswd Secret, seen through a watch (one MODIFIED event each)."""

    def __init__(self, deployment):
        self.deployment = deployment
        self.versions: list[str] = []
        self._watch = watch.Watch()
        start = deployment.core.read_namespaced_secret(deployment.secret_name, "openshift-config")
        self.start_version = start.metadata.resource_version
        self._thread = threading.Thread(target=self._run, args=(self.start_version,), daemon=True)
        self._thread.start()

    def _run(self, version: str) -> None:
        deployment = self.deployment
        try:
            for event in self._watch.stream(deployment.core.list_namespaced_secret, "openshift-config",
                                            field_selector=f"metadata.name={deployment.secret_name}",
                                            resource_version=version, timeout_seconds=900):
                if event["type"] == "MODIFIED":
                    self.versions.append(event["object"].metadata.resource_version)
        except Exception:  # the stream ends when a test stops the API server; what was seen stays
            pass

    def stop(self) -> list[str]:
        """Once the watch has seen the Secret's current version, stop; the resourceVersions written."""
        current = self.deployment.core.read_namespaced_secret(self.deployment.secret_name, "openshift-config")
        version = current.metadata.resource_version
        wait_until(lambda: version == self.start_version or version in self.versions, timeout=10, interval=0.05)
        self._watch.stop()
        return list(self.versions)


def published(data_dir, *usernames: str, timeout: float = 20.0) -> bytes:
    """Wait until the publisher has written these users' logins to DATA_DIR/htpasswd (and users.csv shows
    them); the htpasswd content."""
    from app import htpasswd, roster

    path, users = data_dir / "htpasswd", data_dir / "users.csv"
    wait_until(lambda: path.exists() and set(usernames) <= set(htpasswd.entries(path.read_bytes()))
               and users.exists() and set(usernames) <= {u.username for u in roster.parse(users.read_text())},
               timeout=timeout, interval=0.05)
    return path.read_bytes()


def published_in_secret(deployment, *usernames: str, timeout: float = 30.0) -> bytes:
    """Wait until the app has written these users' logins into the htpasswd Secret; its content."""
    from app import htpasswd

    wait_until(lambda: set(usernames) <= set(htpasswd.entries(deployment.htpasswd())), timeout=timeout,
               interval=0.1)
    return deployment.htpasswd()
