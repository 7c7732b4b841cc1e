"""The instructor's session on /admin: sign-in with ADMIN_TOKEN, a signed cookie, CSRF protection.

The session cookie is signed with a key derived from ADMIN_TOKEN (so every replica accepts it and a new
token signs everyone out), HttpOnly, SameSite=Strict, Secure over HTTPS, and lasts the browser session
(at most SESSION_HOURS). Each sign-in is a session with its own id; signing out records that id in the
shared state (app.eventstate), so the cookie stops working everywhere, on every replica, even where it
was copied to. The session also keeps the streamer mode (on until the instructor turns it off), so a
second tab shows no names either. Every POST under /admin/ must carry the session's CSRF token in
X-CSRFToken: Dash's renderer copies it there from the `_csrf_token` cookie (the double-submit pattern),
which a page on another site can neither read nor set. No /admin response is cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import flask
from flask.sessions import SecureCookieSessionInterface

from app import roster
from app.clock import SYSTEM, Clock
from app.errors import StoreError
from app.settings import Settings, digest

PREFIX = "/admin/"
SESSION_HOURS = 12
CSRF_COOKIE = "_csrf_token"  # the cookie Dash's renderer reads (Dash's csrf_token_name default)
CSRF_HEADER = "X-CSRFToken"  # the header it sends it in (csrf_header_name default)
EXTENSION = "workshop_registration_sessions"  # where install() keeps an app's Sessions on its Flask app


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app) -> bool:
        return flask.request.is_secure  # HTTPS behind the router (TRUSTED_PROXY_HOPS), plain HTTP on a laptop


class Sessions:
    """The instructor's sessions of one app: its signed cookie, the CSRF check, and the signed-out ids,
    which live in that app's shared event state (state.json), so every replica knows them."""

    def __init__(self, settings: Settings, state, clock: Clock = SYSTEM):
        self.settings = settings
        self.state = state  # app.eventstate.EventState
        self.clock = clock

    def install(self, server: flask.Flask) -> None:
        """Configure the signed session and the CSRF check for /admin/ on the Flask server."""
        server.secret_key = hmac.new(self.settings.admin_token_digest, b"workshop-registration admin session",
                                     hashlib.sha256).hexdigest()
        server.session_interface = _SessionInterface()
        server.config.update(SESSION_COOKIE_NAME="workshop_admin", SESSION_COOKIE_HTTPONLY=True,
                             SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_PATH=PREFIX)
        server.before_request(_csrf_check)
        server.after_request(_csrf_cookie)
        server.extensions[EXTENSION] = self

    def sign_in(self, token: object) -> bool:
        """Compare the token with ADMIN_TOKEN in constant time; on a match, start a fresh session."""
        given = token if isinstance(token, str) else ""
        if not hmac.compare_digest(digest(given.strip()), self.settings.admin_token_digest):
            return False
        flask.session.clear()
        flask.session["csrf"] = secrets.token_urlsafe(32)  # a new token after sign-in (no fixation)
        flask.session["since"] = self.clock.now()
        flask.session["sid"] = secrets.token_urlsafe(16)
        flask.session["streamer"] = True
        return True

    def signed_in(self) -> bool:
        """True when this request belongs to a signed-in instructor."""
        if not flask.has_request_context():
            return False
        since, sid = flask.session.get("since"), flask.session.get("sid")
        if not (isinstance(since, (int, float)) and 0 <= self.clock.now() - since < SESSION_HOURS * 3600
                and isinstance(sid, str)):
            return False
        try:
            return sid not in self.state.revoked_sessions()
        except StoreError:
            return False  # cannot tell whether it was signed out: not signed in

    def sign_out(self) -> None:
        """End this session everywhere: record its id as signed out, then forget the cookie."""
        sid = flask.session.get("sid")
        if isinstance(sid, str):
            oldest = roster.format_time(self.clock.utc() - timedelta(hours=SESSION_HOURS))
            self.state.revoke_session(sid, keep_after=oldest)
        flask.session.clear()

    @staticmethod
    def streamer() -> bool:
        """Whether names and emails stay off the screen in this session (on unless turned off)."""
        return flask.session.get("streamer", True) is not False

    @staticmethod
    def set_streamer(value: bool) -> None:
        flask.session["streamer"] = bool(value)


def of(server: flask.Flask) -> Sessions:
    """The Sessions installed on a Flask app."""
    return server.extensions[EXTENSION]


def _csrf_check():
    if not flask.request.path.startswith(PREFIX):
        return None
    if "csrf" not in flask.session:
        flask.session["csrf"] = secrets.token_urlsafe(32)
    if flask.request.method == "POST":
        sent = flask.request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), flask.session["csrf"].encode()):
            response = flask.jsonify(errors={"form": "This request did not come from the admin page."})
            response.status_code = 403
            return response
    return None


def _csrf_cookie(response: flask.Response) -> flask.Response:
    if flask.request.path.startswith("/admin"):
        response.headers["Cache-Control"] = "no-store"  # a reset password, the attendee table
    if flask.request.path.startswith(PREFIX) and "csrf" in flask.session:
        response.set_cookie(CSRF_COOKIE, flask.session["csrf"], path=PREFIX, samesite="Strict",
                            secure=flask.request.is_secure, httponly=False)
    return response
