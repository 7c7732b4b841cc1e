"""Login-check tickets: what lets the attendee's tab ask "can I log in yet?", and nothing more.

A ticket names a user, an expiry and an id, and is signed (HMAC-SHA256) with a key every replica shares,
over the claims and a proof of the password registered: a poll must carry the same password, so the
check can only ever confirm the password the app itself stored, and a forged or tampered ticket is
refused before anything is read. The key is 32 random bytes kept in the cluster (the registrations
Secret, key `login-check.key`; locally DATA_DIR/.runtime/login-check.key), never in the image or a
ConfigMap, made by whichever replica needs it first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time

from app.documents import Document
from app.errors import Conflict


class SharedKey:
    """A secret shared by every replica through a document: read it, or create it once."""

    def __init__(self, document: Document):
        self.document = document
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        """The key (StoreError when the document cannot be read or written)."""
        with self._lock:
            while self._key is None:
                snapshot = self.document.read()
                if snapshot.content.strip():
                    self._key = base64.b64decode(snapshot.content.strip())
                    break
                try:
                    self.document.write(snapshot, base64.b64encode(secrets.token_bytes(32)) + b"\n")
                except Conflict:
                    continue  # another replica made it first: read theirs
            return self._key


class Tickets:
    """Issues and verifies tickets with the shared key."""

    def __init__(self, key: SharedKey, lifetime: float):
        self.key = key
        self.lifetime = lifetime

    def issue(self, username: str, registered_at: float, password: str) -> str:
        """A ticket for checks of this username and password. Its id is the registration's, so registering
        again does not earn a fresh budget of checks."""
        key = self.key.get()
        ident = hmac.new(key, f"id\0{username}\0{registered_at:.0f}".encode(), hashlib.sha256).hexdigest()[:16]
        claims = {"u": username, "exp": int(time.time() + self.lifetime), "id": ident}
        body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
        return f"{body}.{_sign(key, body, password)}"

    def verify(self, ticket: object, username: object, password: object) -> dict | None:
        """The claims when the ticket is ours, unexpired, for this username and this password; else None.

        Everything is checked before the key is used and compared in constant time; nothing is read."""
        if not (isinstance(ticket, str) and isinstance(username, str) and isinstance(password, str)):
            return None
        if len(ticket) > 512 or len(password) > 1024:
            return None
        body, _, signature = ticket.partition(".")
        try:
            claims = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
        except (ValueError, UnicodeError):
            return None
        if not (isinstance(claims, dict) and claims.get("u") == username and isinstance(claims.get("exp"), int)
                and isinstance(claims.get("id"), str)):
            return None
        expected = _sign(self.key.get(), body, password).encode()
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
            return None
        return claims

    @staticmethod
    def expired(claims: dict) -> bool:
        return claims["exp"] < time.time()


def _sign(key: bytes, body: str, password: str) -> str:
    proof = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
    return hmac.new(key, f"{body}.{proof}".encode(), hashlib.sha256).hexdigest()
