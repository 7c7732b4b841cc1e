"""A fake of our own document adapter (read / compare-and-swap write), for unit tests of the committer.

Only our adapter interface is faked; the real adapters (files, Secrets) are tested against real files
and a real Kubernetes API server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.clock import Clock
from app.documents import Snapshot
from app.errors import Conflict, StoreUnavailable


class MemoryDocument:
    """A versioned document in memory, with faults that tests can schedule."""

    label = "memory document"

    def __init__(self, content: bytes = b""):
        self.content = content
        self.version_number = 0
        self.written_at: float | None = None
        self.writes = 0
        self.reads = 0
        self.notes: dict[str, str] = {}
        self.lock = threading.Lock()
        self.read_faults: list[Exception] = []
        self.write_faults: list[Exception] = []
        self.before_write: Callable[[MemoryDocument], None] | None = None
        self.before_read: Callable[[MemoryDocument], None] | None = None
        self.apply_then_fail: int = 0  # writes that land but whose answer is lost

    def read(self) -> Snapshot:
        if self.before_read:
            self.before_read(self)
        with self.lock:
            self.reads += 1
            if self.read_faults:
                raise self.read_faults.pop(0)
            return Snapshot(self.content, str(self.version_number), self.written_at, dict(self.notes))

    def version(self) -> str:
        with self.lock:
            if self.read_faults:
                raise self.read_faults.pop(0)
            return str(self.version_number)

    def write(self, base: Snapshot, content: bytes, notes=None) -> Snapshot:
        if self.before_write:
            self.before_write(self)
        with self.lock:
            if self.write_faults:
                raise self.write_faults.pop(0)
            if base.version != str(self.version_number):
                raise Conflict()
            self.content = content
            self.version_number += 1
            self.written_at = time.time()
            self.notes.update(notes or {})
            self.writes += 1
            if self.apply_then_fail:
                self.apply_then_fail -= 1
                raise StoreUnavailable("connection reset after the write")
            return Snapshot(content, str(self.version_number), self.written_at, dict(self.notes))

    def external_write(self, content: bytes) -> None:
        """Someone else (a person with oc, another tool) writes the document."""
        with self.lock:
            self.content = content
            self.version_number += 1


class RecordingMirror:
    """A mirror that records the logins content of every state it is shown."""

    def __init__(self):
        self.shown: list[bytes] = []

    def show(self, logins: Snapshot, roster_snapshot: Snapshot, records) -> None:
        self.shown.append(logins.content)


class ScriptedOAuth:
    """A fake of our own OAuth watch (app.cluster.OAuthRollout's interface): it shows what a test sets."""

    def __init__(self, server=None):
        from app.rollout import OAuthServer

        self.server = server if server is not None else OAuthServer(1)
        self.looks = 0

    def observe(self):
        self.looks += 1
        return self.server


class FakeClock(Clock):
    """Time moved by hand, for the budget's refill and the caches' lifetimes."""

    def __init__(self):
        self.at = 1_800_000_000.0

    def now(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds
