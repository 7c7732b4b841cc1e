"""Can the attendee log in yet? Asked of the cluster's OAuth server, the way `oc login` asks it.

Every write of the htpasswd Secret rolls out OpenShift's OAuth server, so a new login works a minute or
two later, never at a known moment. The page therefore checks the attendee's own credentials with the
challenging-client flow: discovery at `<API>/.well-known/oauth-authorization-server`, then
`GET <authorization_endpoint>?client_id=openshift-challenging-client&response_type=token` with Basic
auth and `X-CSRF-Token`; a 302 whose fragment holds `access_token` means the login works (the token is
discarded at once), a 401 means not yet.

The password stays in the attendee's browser memory and is sent with each check; it is never stored or
logged here. A check needs a ticket issued at registration, bound to the password by an HMAC keyed with
the user's htpasswd entry, so this endpoint can only ever confirm a password the app itself stored: it
is no oracle for guessing passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import requests

from app.errors import RateLimited, StoreError
from app.ledger import Login

log = logging.getLogger(__name__)
CLIENT_ID = "openshift-challenging-client"
TIMEOUT = (3.0, 5.0)
FIRST_POLL_MS, MAX_POLL_MS, BACKOFF = 3000, 15000, 1.4  # the page asks every 3 s at first, then up to 15 s
WAITING_POLL_MS = 5000  # while the login waits to be written, nobody else is asked: a glance every 5 s


class LoginChecker:
    """Checks credentials against the OAuth server found from the API URL."""

    def __init__(self, api_url: str, verify: str | bool = True):
        self.api_url = api_url.rstrip("/")
        self.verify = verify
        self._endpoint: str | None = None
        self._session = requests.Session()
        self._lock = threading.Lock()

    def check(self, username: str, password: str) -> bool:
        """True when the OAuth server accepts these credentials now; False when not (yet), or unreachable."""
        endpoint = self._authorize_endpoint()
        if endpoint is None:
            return False
        try:
            response = self._session.get(
                endpoint, params={"client_id": CLIENT_ID, "response_type": "token"},
                auth=(username.encode(), password.encode("utf-8")), headers={"X-CSRF-Token": "1"},
                allow_redirects=False, timeout=TIMEOUT, verify=self.verify)
        except requests.RequestException as error:
            log.warning("event=login_check_failed cause=%r", type(error).__name__)
            return False
        if response.status_code in (301, 302, 303, 307):
            fragment = parse_qs(urlsplit(response.headers.get("Location", "")).fragment)
            return "access_token" in fragment  # the token itself is dropped here, never kept
        return False

    def _authorize_endpoint(self) -> str | None:
        with self._lock:
            if self._endpoint is None:
                try:
                    response = self._session.get(f"{self.api_url}/.well-known/oauth-authorization-server",
                                                 timeout=TIMEOUT, verify=self.verify)
                    response.raise_for_status()
                    self._endpoint = response.json()["authorization_endpoint"]
                except (requests.RequestException, ValueError, KeyError) as error:
                    log.warning("event=oauth_discovery_failed url=%s cause=%r", self.api_url, type(error).__name__)
            return self._endpoint


def issue_ticket(entry: bytes, username: str, password: str, lifetime: float) -> str:
    """A ticket allowing checks of exactly this username and password until it expires."""
    claims = {"u": username, "exp": int(time.time() + lifetime), "id": secrets.token_urlsafe(12)}
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"{body}.{_signature(entry, body, password)}"


def read_ticket(ticket: object) -> dict | None:
    """The ticket's claims (unverified: verify with ticket_matches), or None when it is malformed."""
    try:
        body, _ = str(ticket).split(".", 1)
        claims = json.loads(base64.urlsafe_b64decode(body.encode()))
        return claims if isinstance(claims, dict) and isinstance(claims.get("u"), str) else None
    except (ValueError, TypeError):
        return None


def ticket_matches(ticket: str, entry: bytes, password: str) -> bool:
    """True when the ticket was issued for this entry and password and has not expired (constant time)."""
    claims = read_ticket(ticket)
    if claims is None or not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        return False
    body, signature = ticket.split(".", 1)
    return hmac.compare_digest(signature, _signature(entry, body, password))


def _signature(entry: bytes, body: str, password: str) -> str:
    key = hashlib.sha256(b"workshop-registration login check\0" + entry).digest()
    proof = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
    return hmac.new(key, f"{body}.{proof}".encode(), hashlib.sha256).hexdigest()


class Poll(NamedTuple):
    """One answer to the page's poll: the state to show, and when to ask again (None: stop asking)."""

    state: str  # "waiting", "activating", "ready", "stuck", or "ended" (the data was not ours: show nothing)
    next_ms: int | None
    due_in: float | None = None  # while waiting: seconds until the next batch of logins is written, if known
    after_rollout: bool = False  # while waiting: the batch goes once the OAuth rollout in progress completes
    waited: int | None = None  # while waiting: the polls so far (the backoff starts once the login is written)


class LoginCheck:
    """The page's "can I log in yet?" check, from the ticket issued at registration to the last poll.

    `start` gives what the attendee's tab keeps in memory; `poll` answers one poll of it. While the login
    waits to be written the poll says when the next batch is due and asks nobody; once it is written,
    the OAuth server is asked, only for a ticket that matches the user's stored entry and password, at
    most LOGIN_CHECKS_PER_TICKET times a minute.
    """

    def __init__(self, settings, discovery, login_of: Callable[[str, bool], tuple[bytes, Login] | None],
                 per_ticket, publishing: Callable[[], object] | None = None):
        self.settings = settings
        self.discovery = discovery
        self.login_of = login_of  # the user's htpasswd line and whether it is written yet, or None
        self.per_ticket = per_ticket
        self.publishing = publishing  # app.publisher's status: when the pending logins are due
        self._checker: LoginChecker | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """On when LOGIN_CHECK says so and there is somewhere to find the OAuth server."""
        return self.settings.login_check and self.discovery.oauth_base() is not None

    def start(self, username: str, entry: bytes, password: str) -> dict | None:
        """The check's data for the attendee's tab (with the password), or None when checks are off."""
        if not self.enabled:
            return None
        ticket = issue_ticket(entry, username, password, self.settings.login_check_timeout)
        return {"username": username, "password": password, "ticket": ticket}

    def poll(self, data: object, polls: int) -> Poll:
        """Ask the OAuth server once, if the data holds a valid ticket; say what to show next."""
        username, password, ticket = (data.get(k) for k in ("username", "password", "ticket")) \
            if isinstance(data, dict) else (None, None, None)
        claims = read_ticket(ticket)
        if not (isinstance(username, str) and isinstance(password, str) and claims and claims["u"] == username):
            return Poll("ended", None)
        found = self._login(username) if claims.get("exp", 0) >= time.time() else None
        if found is None or not ticket_matches(ticket, found[0], password):
            return Poll("stuck", None)
        if found[1] == Login.PENDING:
            due_in, after_rollout = self._due()
            return Poll("waiting", WAITING_POLL_MS, due_in, after_rollout, waited=polls)
        try:
            self.per_ticket.check(str(claims.get("id")))  # a ticket cannot be used to flood the OAuth server
        except RateLimited:
            return Poll("activating", MAX_POLL_MS)
        if self._checker_for().check(username, password):
            log.info("event=login_check outcome=ready username=%s", username)
            return Poll("ready", None)
        waited = data.get("waited") if isinstance(data.get("waited"), int) else 0
        return Poll("activating", min(MAX_POLL_MS, int(FIRST_POLL_MS * BACKOFF ** max(0, polls - waited))))

    def _due(self) -> tuple[float | None, bool]:
        try:
            status = self.publishing() if self.publishing else None
        except StoreError:
            status = None
        if status is None or status.after_rollout:
            return None, status is not None
        return status.due_in(), False

    def _login(self, username: str) -> tuple[bytes, Login] | None:
        for fresh in (False, True):  # another replica may have stored the row after this one last read
            try:
                found = self.login_of(username, fresh)
            except StoreError:
                return None
            if found is not None:
                return found
        return None

    def _checker_for(self) -> LoginChecker:
        with self._lock:
            if self._checker is None:
                self._checker = LoginChecker(self.discovery.oauth_base(), self.discovery.ca_bundle())
            return self._checker
