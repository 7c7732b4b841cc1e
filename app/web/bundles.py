"""Dash's component suites as the server hands them out: compressed once per process (Flask-Compress's
cache), and /admin's own bundles not at the public root."""

from __future__ import annotations

import threading

import flask
from dash.fingerprint import check_fingerprint

from app.errors import FORM
from app.web.http import errors

SUITES = "/_dash-component-suites/"
ADMIN_ONLY_BUNDLES = ("plotly/",)  # the chart's library (4.7 MB): /admin's, once signed in, and nobody else's
COMPRESSED = "workshop-registration.compressed"  # the server's extension: the CompressedOnce


class CompressedOnce:
    """Flask-Compress's cache, for Dash's component suites only: each is compressed at its first request
    in the process and kept, instead of afresh at every request (plotly.min.js is 4.7 MB: 150 ms of CPU
    each time). Keyed by the file, whatever fingerprint or query the request carries, so a visitor cannot
    fill it; anything else is never kept."""

    def __init__(self, limit: int = 64 * 1024 * 1024):
        self.limit = limit
        self._kept: dict[str, bytes] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return self._kept.get(key)

    def kept(self) -> list[str]:
        return list(self._kept)

    def set(self, key: str, value: bytes) -> None:
        if key.endswith(";"):  # not a component suite
            return
        with self._lock:
            if key not in self._kept and self._size + len(value) <= self.limit:
                self._kept[key] = value
                self._size += len(value)


def compressed_key(request: flask.Request) -> str:
    """The cache key of a response (an empty one: not kept): the component suite's file, without the
    fingerprint Dash puts in its name."""
    if request.method != "GET" or SUITES not in request.path:
        return ""
    prefix, _, fingerprinted = request.path.partition(SUITES)
    return f"{prefix}{SUITES}{check_fingerprint(fingerprinted)[0]}"


def configure(server: flask.Flask) -> None:
    """Before the Dash apps are made on the server (they start Flask-Compress, which reads this once)."""
    cache = server.extensions[COMPRESSED] = CompressedOnce()
    server.config.update(COMPRESS_CACHE_BACKEND=lambda: cache, COMPRESS_CACHE_KEY=compressed_key)
    server.before_request(_not_at_the_public_root)


def _not_at_the_public_root():
    """The public page never loads /admin's bundles: they are not served at its root."""
    path = flask.request.path
    if path.startswith(SUITES) and path[len(SUITES):].startswith(ADMIN_ONLY_BUNDLES):
        return errors(404, {FORM: "Not found."})
    return None
