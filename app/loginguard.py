"""What a login through the BasicAuth remote (app.basicauth) may cost, kept in memory and, for the pod's
worker processes to share, as keyed digests whose key never leaves memory.

OpenShift's OAuth server asks the remote at every login, with no lockout of its own and without the
client's address, and the console and `oc login` each log in. So:

- a login the remote has just accepted is remembered for TTL, by every worker of the pod: the same name,
  password and line again costs an HMAC and a lookup, not a bcrypt check (at most one per replica);
- a password the remote has just refused for a name is remembered too (in this process): trying it again
  costs nothing;
- once a name's password has been accepted in this pod, for its current line, every other password for
  it is refused with an HMAC and no bcrypt check at all: a password bcrypt accepts for a line is the one
  accepted before (the registration rules allow no other that bcrypt would read alike). So a flood of
  guesses cannot lock out an attendee who has logged in once through this pod, however long it lasts;
- before that, a name gets at most BUDGET bcrypt checks of passwords it has not seen, refilled evenly over
  a minute (per process): a flood of guesses for one name costs that much CPU and no more; past it,
  guesses are refused unread, the attendee's own first login too, while the flood lasts (the OAuth server
  forwards nothing that would tell them apart; docs/security.md says what that means).

The keys are HMAC-SHA256 under POD_KEY, made when this module is first imported: by gunicorn's master
(config.py imports it), so every worker forked from it holds the same key, in memory only. The file the
workers share (DATA_DIR/.runtime/logins.sqlite3) holds digests under that key and nothing a guess could
be tested against without it; a restart of the pod makes a new key, and the old digests match nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from app.clock import SYSTEM, Clock

log = logging.getLogger(__name__)
POD_KEY = secrets.token_bytes(32)
TTL = 600.0  # seconds a login's answer is remembered (the console and oc login come within minutes)
BUDGET = 10  # bcrypt checks of unseen passwords per name, at most, refilled over REFILL seconds
REFILL = 60.0
MAX_REMEMBERED = 50_000  # answers kept (oldest forgotten first): a few MB at most


class PodAnswers:
    """The accepted logins a pod's worker processes share: a SQLite file of digests. A failure of it costs
    a bcrypt check, never a wrong answer (it is said once in the log)."""

    def __init__(self, path: Path, clock: Clock = SYSTEM, key: bytes = POD_KEY):
        self.path = path
        self.clock = clock
        self.key = key
        # Rows of an earlier key (a file kept from a previous run) must never count: with them, the right
        # password would be "another than the one accepted".
        self._kid = hashlib.sha256(b"key id\0" + key).digest()[:8]
        self._local = threading.local()
        self._failed = False

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a cache: lost on a crash, as the pod's key is
            db.execute("CREATE TABLE IF NOT EXISTS answers (key BLOB PRIMARY KEY, until REAL)")
            db.execute("CREATE TABLE IF NOT EXISTS accepted (kid BLOB, name TEXT, line BLOB, key BLOB, "
                       "PRIMARY KEY (kid, name))")
            self._local.db = db
        return db

    def accepted(self, key: bytes) -> bool:
        row = self._ask("SELECT 1 FROM answers WHERE key = ? AND until > ?", (key, self.clock.now()))
        return row is not None

    def accepted_for(self, username: str) -> tuple[bytes, bytes] | None:
        """(the line's digest, the accepted password's key) for this name, or None."""
        return self._ask("SELECT line, key FROM accepted WHERE kid = ? AND name = ?", (self._kid, username))

    def put(self, key: bytes, until: float, username: str, line: bytes) -> None:
        try:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM answers WHERE until <= ?", (self.clock.now(),))
                db.execute("DELETE FROM accepted WHERE kid != ?", (self._kid,))
                db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, until))
                db.execute("INSERT OR REPLACE INTO accepted VALUES (?, ?, ?, ?)", (self._kid, username, line, key))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            self._fail(error)

    def _ask(self, query: str, parameters: tuple):
        try:
            return self._db().execute(query, parameters).fetchone()
        except sqlite3.Error as error:
            self._fail(error)
            return None

    def _fail(self, error: sqlite3.Error) -> None:
        if not self._failed:
            self._failed = True
            log.warning("event=login_answers_unshared path=%s cause=%r (each worker checks its own)", self.path,
                        str(error))


class LoginGuard:
    def __init__(self, clock: Clock = SYSTEM, ttl: float = TTL, budget: int = BUDGET, refill: float = REFILL,
                 max_remembered: int = MAX_REMEMBERED, shared: PodAnswers | None = None, key: bytes = POD_KEY):
        self.clock = clock
        self.ttl = ttl
        self.budget = budget
        self.refill = refill
        self.max_remembered = max_remembered
        self.shared = shared
        self._key = shared.key if shared is not None else key  # the digests the pod shares: under one key
        self._answers: OrderedDict[bytes, tuple[float, bool]] = OrderedDict()  # key -> (until, accepted)
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when counted)
        self._accepted: dict[str, tuple[bytes, bytes]] = {}  # name -> (its line's digest, the password's key)
        self._lock = threading.Lock()
        self.refused_unread: dict[str, int] = {}  # name -> guesses refused without a check (for the log)

    def key(self, username: str, line: bytes, password: str) -> bytes:
        """The remembered answer's key: this name, its current line (a reset makes a new one), the password."""
        message = username.encode() + b"\0" + line + b"\0" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def recall(self, key: bytes) -> bool | None:
        """True: accepted moments ago (in this pod); False: refused moments ago; None: not known."""
        now = self.clock.now()
        with self._lock:
            found = self._answers.get(key)
            if found is not None and found[0] < now:
                del self._answers[key]
                found = None
        if found is not None:
            return found[1]
        if self.shared is not None and self.shared.accepted(key):
            return True
        return None

    def other_than_accepted(self, username: str, line: bytes, key: bytes) -> bool:
        """True when another password was accepted for this name's current line in this pod: this one is
        wrong."""
        digest = _digest(line)
        with self._lock:
            accepted = self._accepted.get(username)
        if (accepted is None or accepted[0] != digest) and self.shared is not None:
            accepted = self.shared.accepted_for(username)
        return accepted is not None and accepted[0] == digest and not hmac.compare_digest(accepted[1], key)

    def remember(self, key: bytes, accepted: bool, username: str = "", line: bytes = b"") -> None:
        until = self.clock.now() + self.ttl
        with self._lock:
            if accepted and username:
                self._accepted[username] = (_digest(line), key)  # one per registered name: bounded by the roster
            self._answers[key] = (until, accepted)
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_remembered:
                self._answers.popitem(last=False)
        if accepted and username and self.shared is not None:
            self.shared.put(key, until, username, _digest(line))

    def spend(self, username: str) -> bool:
        """Take one bcrypt check from the name's budget; False when it is spent (the guess is refused)."""
        now = self.clock.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(username, (float(self.budget), now))
            tokens = min(float(self.budget), tokens + (now - at) * self.budget / self.refill)
            if tokens < 1:
                self._buckets[username] = (tokens, now)
                self.refused_unread[username] = self.refused_unread.get(username, 0) + 1
                return False
            self._buckets[username] = (tokens - 1, now)
            if len(self._buckets) > self.max_remembered:  # names of a flood over many names: drop the full ones
                self._buckets = {n: b for n, b in self._buckets.items() if b[0] < self.budget - 1}
            return True


def _digest(line: bytes) -> bytes:
    return hashlib.sha256(line).digest()
