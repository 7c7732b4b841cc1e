"""The remote of OpenShift's BasicAuth identity provider: `GET /api/v1/basic-auth`, answered as the OAuth
server reads it (oauth-server pkg/authenticator/password/basicauthpassword/basicauthpassword.go).

The OAuth server calls it at every login, with the attendee's name and password as HTTP Basic
credentials. The answers, exactly: 401 (any body) means wrong credentials; 200 with a JSON object whose
`sub` is not empty means this user (`preferred_username`, `name` and `email` are shown and kept); any
other status, or a JSON `error`, is an error the OAuth server logs (the attendee sees "an authentication
error occurred"). Redirects are refused by the client, so there are none.

Verified against the same bcrypt lines the app keeps (a stored registration's line, written yet or still
in its row), so a login works the moment its registration is stored, and a reset, a removal or a seat's
claim count from the next login, with nothing written to OpenShift; so does the event's end (refused from
EVENT_ENDS_AT on, or from the instructor's end on every replica within PROBE_SECONDS). Only a client with
a certificate the app verified (the OAuth server's, TLS_CLIENT_CA_FILE) is answered at all: without one,
no password work. What a login costs is app.loginguard's; who logged in when is app.loginlog's.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import threading

from app import htpasswd, metrics
from app.clock import SYSTEM, Clock
from app.documents import Documents, Reading
from app.errors import StoreError
from app.loginguard import LoginGuard
from app.loginlog import LoginLog
from app.roster import Registration

log = logging.getLogger(__name__)
# A name or password not found in this process's copy is looked up again when the documents moved on
# (asked by their versions alone, at most this often): another replica may have stored it just now.
PROBE_SECONDS = 0.2
MAX_PASSWORD_BYTES = 1024  # bcrypt reads 72 bytes; anything much longer is not a password of ours
# Seconds a login waits for a free bcrypt slot before "busy": the OAuth server's call has no timeout, but
# the attendee's own request to it ends at the router's 30 s; a room of 300 at once on 2 cores waits ~11 s.
HASH_WAIT = 20.0


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: dict


WRONG = Answer(401, {})  # the OAuth server does not read a 401's body


class Remote:
    def __init__(self, documents: Documents, guard: LoginGuard, seen: LoginLog, hashing: threading.Semaphore,
                 clock: Clock = SYSTEM, verify=htpasswd.verify, ended=lambda: None):
        self.documents = documents
        self.ended = ended  # when the event ended (app.eventstate.EventState.ended_at): then nobody logs in
        self.verify = verify  # bcrypt (app.htpasswd)
        self.guard = guard
        self.seen = seen
        self.hashing = hashing  # the bcrypt slots of this process's logins (app.handover sizes them)
        self.clock = clock
        self._looked_at = float("-inf")  # when the last look at the documents' versions began
        self._by_name: tuple[tuple[str, str], dict[str, Registration]] | None = None
        self._lock = threading.Lock()
        self._probe = threading.Lock()  # one look at the documents' versions at a time

    def answer(self, authorization: str | None, client_verified: bool) -> Answer:
        """The answer to one GET, from its Authorization header and whether TLS verified the client."""
        if not client_verified:
            outcome = "no_client_certificate"
            answer = Answer(403, {"error": "only the OAuth server may ask: it presents a client certificate"})
        else:
            credentials = _credentials(authorization)
            if credentials is None:
                outcome, answer = "malformed", WRONG
            else:
                outcome, answer = self._check(*credentials)
        metrics.BASIC_AUTH.labels(outcome).inc()
        return answer

    def _check(self, username: str, password: str) -> tuple[str, Answer]:
        try:
            if self.ended() is not None:  # at EVENT_ENDS_AT on every replica, before any row is marked
                return "ended", WRONG
            reading = self.documents.latest()
        except StoreError as error:  # never read, and unreadable now: an error, never a guess
            return "unavailable", Answer(503, {"error": f"the registrations cannot be read ({error.cause})"})
        found = self._find(reading, username)
        if found is None:
            reading = self._fresh(reading)  # registered on another replica moments ago?
            found = self._find(reading, username)
            if found is None:
                return "unknown", WRONG
        record, line = found
        key = self.guard.key(username, line, password)
        known = self.guard.recall(key)
        if self._fresh(reading, wait=False) is not reading:  # reset, removed or ended elsewhere just now?
            found = self._find(self.documents.latest(), username)
            if found is None:
                return "unknown", WRONG
            record, line = found
            key = self.guard.key(username, line, password)
            known = self.guard.recall(key)
        if known is False:
            return "refused_again", WRONG
        if known is None and self.guard.other_than_accepted(username, line, key):
            self.guard.remember(key, False)
            return "refused_known", WRONG
        if known is None:
            if not self.guard.spend(username):
                refused = self.guard.refused_unread[username]
                if refused == 1 or refused % 1000 == 0:  # a flood of guesses: said, not at every guess
                    log.warning("event=basic_auth_flood username=%s refused_unread=%d (more guesses than the "
                                "name's budget of bcrypt checks; see docs/security.md)", username, refused)
                return "refused_unread", WRONG
            if not self.hashing.acquire(timeout=HASH_WAIT):
                return "busy", Answer(503, {"error": "too many logins at once; try again"})
            try:
                accepted = self.verify(line, password)
            finally:
                self.hashing.release()
            self.guard.remember(key, accepted, username, line)
            if not accepted:
                return "refused", WRONG
        self.seen.saw(username)
        return ("accepted" if known is None else "remembered"), Answer(200, _identity(record))

    def _find(self, reading: Reading, username: str) -> tuple[Registration, bytes] | None:
        """The attendee's record and current line (written, or still in its row), or None."""
        record = self._records(reading).get(username)
        if record is None or record.ended:
            return None
        line = htpasswd.entries(reading.logins.content).get(username.casefold())
        if line is not None and line.split(b":", 1)[0].decode("utf-8", "replace") == username:
            return record, line
        if record.pending_login and line is None:
            return record, record.pending_login.encode()
        return None

    def _records(self, reading: Reading) -> dict[str, Registration]:
        """The reading's registrations by username, made once per version of the roster."""
        version = (reading.roster.version, str(len(reading.records)))
        with self._lock:
            cached = self._by_name
            if cached is None or cached[0] != version:
                cached = (version, {r.username: r for r in reading.records})
                self._by_name = cached
            return cached[1]

    def _fresh(self, reading: Reading, wait: bool = True) -> Reading:
        """The documents as they are now: read again when their versions say they moved on. With `wait`,
        the caller is answered from a look that began after it asked, so a registration stored before the
        OAuth server asked is always found; without, from the last look (at most PROBE_SECONDS old, or the one
        under way: a remembered login never waits behind another caller's read). Looks are made
        one at a time and at most every PROBE_SECONDS; callers that arrive meanwhile share the next one (a
        flood of unknown names costs one look per interval, and waits). When the documents cannot be
        read, the last good reading stands, and the store says why on /readyz and /admin."""
        asked = self.clock.monotonic()
        if not self._probe.acquire(blocking=wait):
            return self.documents.latest()
        try:
            if self._looked_at > asked:  # a look that began after this caller asked has answered
                return self.documents.latest()
            pause = self._looked_at + PROBE_SECONDS - self.clock.monotonic()
            if pause > 0 and not wait:
                return self.documents.latest()
            if pause > 0:
                self.clock.sleep(pause)
            self._looked_at = self.clock.monotonic()
            latest = self.documents.latest()
            try:
                return self.documents.read() if self.documents.changed(latest) else latest
            except StoreError:
                return latest
        finally:
            self._probe.release()


def _credentials(authorization: str | None) -> tuple[str, str] | None:
    """(username, password) from `Basic base64(username:password)`, or None for anything else."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 4 * MAX_PASSWORD_BYTES:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or not username or not password or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return None
    return username, password


def _identity(record: Registration) -> dict:
    """The user as OpenShift keeps it: `sub` (the Identity's name after the provider's) and the user name
    are the username; the full name and the email are shown in the console."""
    identity = {"sub": record.username, "preferred_username": record.username}
    if record.full_name:
        identity["name"] = record.full_name
    if record.email:
        identity["email"] = record.email
    return identity
