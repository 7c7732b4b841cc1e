"""The per-client limit on registration attempts (RATE_LIMIT), shared by a pod's worker processes.

The limit logic is the `limits` library's (the engine of Flask-Limiter). Its counters live in a SQLite
file under DATA_DIR/.runtime, because gunicorn's workers are separate processes and a per-process
counter would let four workers allow four times the limit. Flask-Limiter itself is not used: it answers
a breach with an HTTP 429, which the page's callback could not show; here the page shows the message
and the JSON API answers 429 with Retry-After, from one check.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from pathlib import Path

import limits
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from app.errors import RateLimited

log = logging.getLogger(__name__)


class SQLiteStorage(Storage):
    """Fixed-window counters for `limits` in a SQLite file shared by processes on one machine."""

    STORAGE_SCHEME = ["workshop-sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self.path = uri.split("://", 1)[1] if uri else str(options["path"])
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        with self._connection() as db:
            db.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER, expires REAL)")

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return _Transaction(db)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self._connection() as db:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            db.execute(
                "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            return db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()[0]

    def get(self, key: str) -> int:
        with self._connection() as db:
            row = db.execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        with self._connection() as db:
            row = db.execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        with self._connection() as db:
            db.execute("SELECT 1")
        return True

    def reset(self) -> int | None:
        with self._connection() as db:
            return db.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM counters WHERE key = ?", (key,))


class _Transaction:
    """`with` a connection: BEGIN IMMEDIATE (one writer at a time across processes), then COMMIT."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, error, trace) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class ClientLimiter:
    """Counts attempts per client address in one scope; raises RateLimited past the rate."""

    def __init__(self, rate: str | None, path: Path, scope: str = "registration"):
        self.item = limits.parse(rate) if rate else None
        self.path = path
        self.scope = scope
        self._strategy: FixedWindowRateLimiter | None = None

    def check(self, client: str) -> None:
        """Count one attempt by client; raise RateLimited when it is over the limit."""
        if self.item is None:
            return
        try:
            strategy = self._strategy or self._open()
            if strategy.hit(self.item, self.scope, client):
                return
            reset_at, _ = strategy.get_window_stats(self.item, self.scope, client)
        except sqlite3.Error as error:  # a broken counter must not stop registrations: fail open, loudly
            log.warning("event=rate_limit_unavailable cause=%r", str(error))
            return
        raise RateLimited(max(1, math.ceil(reset_at - time.time())))

    def _open(self) -> FixedWindowRateLimiter:
        self._strategy = FixedWindowRateLimiter(SQLiteStorage(path=self.path))
        return self._strategy
