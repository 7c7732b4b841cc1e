"""Prometheus metrics (GET /metrics): registrations by outcome, Secret writes and conflicts, group sizes,
and latencies. Under gunicorn they are collected across worker processes (prometheus_client's
multiprocess mode; config.py sets PROMETHEUS_MULTIPROC_DIR before the workers start).
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REGISTRATIONS = Counter("workshop_registrations_total", "Registration attempts by outcome", ["outcome"])
REGISTRATION_SECONDS = Histogram(
    "workshop_registration_seconds", "Time to answer a registration attempt",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30))
ADMIN_SIGN_IN_FAILURES = Counter("workshop_admin_sign_in_failures_total",
                                 "Wrong admin tokens tried on /admin (the right one always signs in)")
SLOW_BODIES = Counter("workshop_request_bodies_refused_total",
                      "Request bodies not read: late (408), busy (no read slot free, 503), broken (400)", ["outcome"])
BASIC_AUTH = Counter("workshop_basic_auth_answers_total",
                     "Answers to the OAuth server's BasicAuth calls, by outcome (accepted, refused, unknown, ...)",
                     ["outcome"])
WRITES = Counter("workshop_secret_writes_total", "Writes of the stored documents", ["document"])
CONFLICTS = Counter("workshop_secret_conflicts_total", "Writes refused because the document had changed",
                    ["document"])
WRITE_SECONDS = Histogram("workshop_secret_write_seconds", "Time of one document write", ["document"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
GROUP_SIZE = Histogram("workshop_commit_group_size", "Logins published by one write of the htpasswd Secret",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
# What the publishers last saw (every worker sees the same documents: the most recent answer wins).
PENDING_LOGINS = Gauge("workshop_pending_logins", "Registrations whose login waits to be written",
                       multiprocess_mode="livemostrecent")
OAUTH_ROLLOUT = Gauge("workshop_oauth_rollout_in_progress",
                      "1 while the OAuth server rolls out (or may, after our write), 0 when not, -1 when unseen",
                      multiprocess_mode="livemostrecent")
STORE_AVAILABLE = Gauge("workshop_store_available", "1 when the documents could be read the last time, else 0",
                        multiprocess_mode="livemostrecent")
LAST_LOGINS_WRITE = Gauge("workshop_logins_last_write_timestamp_seconds",
                          "When the htpasswd document was last written by this app", multiprocess_mode="livemostrecent")


def counted_write(document, name: str, base, content: bytes, notes=None):
    """Write a document (app.documents), counting the write and its time under the document's name."""
    started = time.monotonic()
    written = document.write(base, content, notes)
    WRITE_SECONDS.labels(name).observe(time.monotonic() - started)
    WRITES.labels(name).inc()
    return written


def render(multiprocess_dir: Path | None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, summed over gunicorn's workers when they share a folder."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
