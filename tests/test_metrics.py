"""GET /metrics under gunicorn with several workers: counts summed across processes, not via the Route."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.helpers import person, wait_until
from tests.servers import gunicorn


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" ([0-9.e+]+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_are_summed_over_workers(tmp_path):
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4"}
    with gunicorn(env, workers=4) as base:
        forms = [person(i) for i in range(12)] + [person(99, username="bad name")]
        with ThreadPoolExecutor(13) as pool:
            codes = list(pool.map(lambda f: requests.post(base + "/api/v1/registrations", json=f, timeout=30)
                                  .status_code, forms))
        assert sorted(codes) == [201] * 12 + [400]
        wait_until(lambda: sample(requests.get(base + "/metrics", timeout=10).text,
                                  "workshop_commit_group_size_sum") == 12)  # every login published exactly once
        again = requests.post(base + "/api/v1/registrations", json=person(0), timeout=30)
        assert again.status_code == 200  # the same attendee again
        text = requests.get(base + "/metrics", timeout=10).text
        assert sample(text, "workshop_registrations_total", 'outcome="created"') == 12
        assert sample(text, "workshop_registrations_total", 'outcome="registered_again"') == 1
        assert sample(text, "workshop_registrations_total", 'outcome="invalid"') == 1
        writes = sample(text, "workshop_secret_writes_total", 'document="logins"')
        assert 1 <= writes <= 12
        assert sample(text, "workshop_commit_group_size_sum") == 12  # every login published exactly once
        assert sample(text, "workshop_registration_seconds_count") == 14
        via_route = requests.get(base + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
        assert via_route.status_code == 404
