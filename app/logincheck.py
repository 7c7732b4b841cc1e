"""The page's "can I log in yet?" check, from the ticket issued at registration to the last poll.

Every write of the htpasswd Secret rolls out OpenShift's OAuth server, so a new login works a minute or
two later, never at a known moment. `start` gives what the attendee's tab keeps in memory (the username,
the password and a ticket, app.tickets); `poll` answers one poll of it: while the login waits to be
written, when the next batch is due (nobody else is asked); once it is written, the OAuth server's answer
(app.oauthcheck). A forged ticket costs nothing but an HMAC; a valid one is limited per ticket and per
client address before anything is read or asked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import NamedTuple

from app.documents import Documents, ended_in, line_in
from app.errors import RateLimited, StoreError
from app.ledger import Line
from app.oauthcheck import Answer, LoginChecker
from app.tickets import Tickets

log = logging.getLogger(__name__)
FIRST_POLL_MS, MAX_POLL_MS, BACKOFF = 3000, 15000, 1.4  # the page asks every 3 s at first, then up to 15 s
BACKOFF_STEPS = 8  # 1.4 ** 8 > 5: MAX_POLL_MS is reached before
MAX_POLLS = 100_000  # a tab polling for LOGIN_CHECK_TIMEOUT makes a few hundred: more is not the page
WAITING_POLL_MS = 5000  # while the login waits to be written, nobody else is asked: a glance every 5 s


class Poll(NamedTuple):
    """One answer to the page's poll: the state to show, and when to ask again (None: stop asking)."""

    state: str  # "waiting", "activating", "ready", "refused", "stuck", "over", "slow" (change nothing, ask less
    #             often) or "ended" (the data was not ours: show nothing)
    next_ms: int | None
    due_in: float | None = None  # while waiting: seconds until the next batch of logins is written, if known
    after_rollout: bool = False  # while waiting: the batch goes once the OAuth rollout in progress completes
    waited: int | None = None  # while waiting: the polls so far (the backoff starts once the login is written)


class LoginCheck:
    """The login check of the page, with its limits."""

    def __init__(self, settings, discovery, tickets: Tickets, documents: Documents, per_ticket, per_client,
                 publishing: Callable[[], object] | None = None,
                 on_refused: Callable[[str], None] = lambda username: None,
                 on_works: Callable[[str], None] = lambda username: None):
        self.settings = settings
        self.discovery = discovery
        self.tickets = tickets
        self.documents = documents  # where the user's htpasswd line is, and whether it is written yet
        self.per_ticket = per_ticket
        self.per_client = per_client
        self.publishing = publishing  # app.publisher's status: when the pending logins are due
        self.on_refused = on_refused  # OpenShift refused this name (it belongs to another identity)
        self.on_works = on_works  # the login works: it counts as active, rollout seen complete or not
        self._checker: LoginChecker | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """On when LOGIN_CHECK says so and there is somewhere to find the OAuth server."""
        return self.settings.login_check and self.discovery.oauth_base() is not None

    def start(self, username: str, registered_at: float, password: str) -> dict | None:
        """The check's data for the attendee's tab (with the password), or None when checks are off."""
        if not self.enabled:
            return None
        try:
            ticket = self.tickets.issue(username, registered_at, password)
        except StoreError as error:
            log.warning("event=login_check_unavailable cause=%r", error.cause)
            return None
        return {"username": username, "password": password, "ticket": ticket}

    def poll(self, data: object, polls: int, client: str) -> Poll:
        """One poll: verify the ticket, then the limits, then look, and ask the OAuth server if it is time."""
        username, password, ticket = (data.get(k) for k in ("username", "password", "ticket")) \
            if isinstance(data, dict) else (None, None, None)
        try:
            claims = self.tickets.verify(ticket, username, password)
        except StoreError:
            return Poll("slow", MAX_POLL_MS)  # the key cannot be read right now: ask again later
        if claims is None:
            return Poll("ended", None)
        if self.tickets.expired(claims):
            return Poll("stuck", None)
        try:
            self.per_client.check(client)
            self.per_ticket.check(claims["id"])  # a ticket cannot be used to flood the OAuth server
        except RateLimited:
            return Poll("slow", MAX_POLL_MS)
        found = self._login(username)
        if found is None:
            over = ended_in(self.documents.latest().records, username)
            return Poll("over" if over else "stuck", None)  # over: the event's end took this login
        if found[1] == Line.PENDING:
            due_in, after_rollout = self._due()
            return Poll("waiting", WAITING_POLL_MS, due_in, after_rollout, waited=polls)
        answer = self._checker_for().check(username, password)
        if answer == Answer.WORKS:
            log.info("event=login_check outcome=ready username=%s", username)
            self.on_works(username)
            return Poll("ready", None)
        if answer == Answer.REFUSED:
            log.warning("event=login_check outcome=refused username=%s reason='name held by another identity'",
                        username)
            self.on_refused(username)
            return Poll("refused", None)
        waited = data.get("waited")  # the tab's own count, so as forgeable as the rest: clamped
        waited = waited if isinstance(waited, int) and not isinstance(waited, bool) and 0 <= waited <= polls else 0
        backoff = min(polls - waited, BACKOFF_STEPS)
        return Poll("activating", min(MAX_POLL_MS, int(FIRST_POLL_MS * BACKOFF ** backoff)))

    def _due(self) -> tuple[float | None, bool]:
        try:
            status = self.publishing() if self.publishing else None
        except StoreError:
            status = None
        if status is None or status.after_rollout:
            return None, status is not None
        return status.due_in(), False

    def _login(self, username: str) -> tuple[bytes, Line] | None:
        """The user's line (another replica may have stored the row after this one last read)."""
        try:
            return self.documents.recheck(lambda reading: line_in(reading, username),
                                          good=lambda found: found is not None)
        except StoreError:
            return None

    def _checker_for(self) -> LoginChecker:
        with self._lock:
            if self._checker is None:
                self._checker = LoginChecker(self.discovery.oauth_base(), self.discovery.ca_bundle())
            return self._checker
