"""How a stored registration becomes a login OpenShift accepts: the one interface every part of the app
asks (the page's "can I log in yet", /admin, /readyz, the command line), whatever the identity provider.
`make_handover` chooses it once, from IDENTITY_PROVIDER_TYPE, and puts its workers on the app's runtime.

`HTPasswdHandover`: the logins are written into the htpasswd Secret that an HTPasswd identity provider
reads, at the OAuth server's pace (app.publisher), and a login is active once the rollout that write
caused has completed (app.oauthwatch), or once a live check logged in with it.

`BasicAuthHandover`: OpenShift asks the app at every login (app.basicauth, its `remote`), so a stored
registration is a login at once and nothing is written to OpenShift. The logins are still written, into
a Secret of the app's own namespace, so that users.csv and the htpasswd file stay as they are.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Protocol

from app import activation, files, ledger
from app.basicauth import Remote
from app.documents import Documents, ended_in, line_in
from app.errors import StoreError
from app.eventstate import EventState
from app.files import Notices
from app.history import BatchHistory
from app.loginguard import LoginGuard, PodAnswers
from app.loginlog import LoginLog
from app.oauthwatch import OAuthWatch
from app.provisioner import Provisioner
from app.publisher import Policy, Publisher, Status
from app.reserver import tidy
from app.rollout import OAuthServer, Pace
from app.runtime import Runtime


class Handover(Protocol):
    instant: bool  # a stored registration is a login OpenShift accepts at once (no check to wait for)
    remote: Remote | None  # what answers OpenShift's own questions, when it asks the app (BasicAuth)

    def activations(self, now: float | None = None) -> dict[str, str]:
        """Each registered attendee's login: pending, active or refused (app.activation)."""

    def activation(self, username: str) -> str:
        """One attendee's login: pending, active or refused."""

    def status(self, now: float | None = None) -> Status:
        """The logins waiting to reach OpenShift, and when they will."""

    def notes(self) -> dict[str, str]:
        """What a direct write of the logins records (an instructor's reset or removal)."""

    def wake(self) -> None:
        """A registration was just stored: look at once."""

    def publish(self) -> None:
        """Hand over what waits now, if allowed (the command line, which runs no background work)."""

    def problems(self) -> list[str]:
        """Why logins cannot reach OpenShift as they should right now (for /readyz and /admin)."""

    def served(self) -> bool:
        """Whether OpenShift serves the last write of the logins as read now (a line taken out no longer logs
        in); StoreError when they cannot be read."""


class HTPasswdHandover:
    instant = False
    remote = None

    def __init__(self, documents: Documents, state: EventState, watch: OAuthWatch, publisher: Publisher,
                 wake: Callable[[], None] = lambda: None):
        self.documents = documents
        self.state = state
        self.watch = watch
        self.publisher = publisher
        self._wake = wake

    def activations(self, now: float | None = None) -> dict[str, str]:
        reading = self.documents.latest()
        return activation.activations(ledger.registered(reading.logins.content, reading.records),
                                 activation.unconfirmed(reading.logins.notes), self.watch.settled(reading.logins, now),
                                 self.state.refused(), self.state.confirmed())

    def activation(self, username: str) -> str:
        reading = self.documents.latest()
        found = line_in(reading, username)
        record = next((r for r in reading.records if r.username == username), None)
        if record is not None and record.ended:
            return activation.ENDED
        if found is None or record is None:
            return activation.PENDING
        return activation.activations([(record, found[1])], activation.unconfirmed(reading.logins.notes),
                                 self.watch.settled(reading.logins), self.state.refused(),
                                 self.state.confirmed()).get(username, activation.PENDING)

    def status(self, now: float | None = None) -> Status:
        return self.publisher.status(now)

    def notes(self) -> dict[str, str]:
        return self.watch.notes()

    def wake(self) -> None:
        self._wake()

    def publish(self) -> None:
        self.publisher.step()

    def served(self) -> bool:
        return self.watch.settled(self.documents.read().logins)  # not this process's copy: it may be older

    def problems(self) -> list[str]:
        found = [self.watch.problem()]
        try:
            found.append(self.publisher.status().blocked)
        except StoreError:  # an unreadable store is reported by the store itself
            pass
        return [problem for problem in found if problem]


class BasicAuthHandover:
    instant = True

    def __init__(self, documents: Documents, state: EventState, publisher: Publisher, remote: Remote,
                 wake: Callable[[], None] = lambda: None, settings=None):
        self.documents = documents
        self.state = state
        self.publisher = publisher
        self.remote = remote
        self._wake = wake
        self.settings = settings
        # gunicorn loads the client CA when it starts (config.py): one made later counts after a restart.
        ca = settings.tls_client_ca_file if settings else None
        self._ca_at_start = bool(ca and ca.is_file())

    def activations(self, now: float | None = None) -> dict[str, str]:
        reading = self.documents.latest()
        return {record.username: activation.ENDED if line == ledger.Line.ENDED else activation.ACTIVE
                for record, line in ledger.registered(reading.logins.content, reading.records)}

    def activation(self, username: str) -> str:
        reading = self.documents.latest()
        if ended_in(reading.records, username):
            return activation.ENDED
        return activation.ACTIVE if line_in(reading, username) else activation.PENDING

    def served(self) -> bool:
        return True  # OpenShift asks the app at every login

    def status(self, now: float | None = None) -> Status:
        return self.publisher.status(now)

    def notes(self) -> dict[str, str]:
        return {}

    def wake(self) -> None:
        self._wake()

    def publish(self) -> None:
        self.publisher.step()

    def problems(self) -> list[str]:
        """Why the OAuth server cannot ask (the TLS it needs), for /readyz and /admin."""
        if self.settings is None:
            return []
        if not self.settings.tls_cert_file:
            return ["BasicAuth without TLS_CERT_FILE: the OAuth server asks over HTTPS only"]
        if not self._ca_at_start:
            return ["no OAuth client CA (TLS_CLIENT_CA_FILE) when this pod started: /api/v1/basic-auth answers "
                    "nobody; run openshift/setup.sh, then restart the app"]
        return []


class _NoRollouts:
    """BasicAuth: nothing the app writes rolls the OAuth server out."""

    def observe(self) -> OAuthServer:
        return OAuthServer(0, False, "none: OpenShift asks this app at every login (BasicAuth)")


def make_handover(store, runtime: Runtime, provision: bool = True) -> Handover:
    """The store's handover, its workers added to the runtime (started or not: the command line runs the
    steps it needs itself); with provision, written logins get their projects (PROJECT_TEMPLATE)."""
    settings, clock = store.settings, runtime.clock
    notices = Notices(settings.data_dir)
    listeners = [lambda reading, added: tidy(store.documents, reading)]
    if provision and store.projects.enabled:
        provisioner = Provisioner(store.projects)
        runtime.add(provisioner.queue)
        listeners.append(provisioner.written)
    if settings.basic_auth:  # the logins Secret is the app's own: written at once, no rollout to wait for
        pace = dataclasses.replace(Pace.for_settings(settings), grace=0.0, unseen_interval=0.0)
        watch = OAuthWatch(_NoRollouts(), pace, clock)
        publisher = Publisher(store.documents, watch, dataclasses.replace(Policy.for_store(store), pace=pace),
                              clock, notices, listeners, ended=store.state.ended_at)
        seen = LoginLog(store.state, clock, interval=max(settings.refresh_interval, 1.0))
        runtime.loop("logins-seen", seen.step)
        answers = PodAnswers(files.runtime_dir(settings.data_dir) / "logins.sqlite3", clock)  # the pod's workers'
        # Logins check bcrypt in slots of their own, one more than the cores' share (nothing waits for a
        # group commit here, and with exactly the share the cores idle between checks: measured, make
        # bench): a flood of guesses over many names leaves registrations theirs.
        checking = threading.BoundedSemaphore(settings.hashing_slots + 1)
        remote = Remote(store.documents, LoginGuard(clock, shared=answers), seen, checking, clock,
                        ended=store.state.ended_at)
        return BasicAuthHandover(store.documents, store.state, publisher, remote,
                                 wake=runtime.loop("publisher", publisher.step).wake, settings=settings)
    watch = OAuthWatch(store.oauth, Pace.for_settings(settings), clock, notices)
    publisher = Publisher(store.documents, watch, Policy.for_store(store), clock, notices, listeners,
                          ended=store.state.ended_at)
    loop = runtime.loop("publisher", publisher.step)
    runtime.loop("history", BatchHistory(store.documents, watch, store.state, settings.refresh_interval, clock).step)
    return HTPasswdHandover(store.documents, store.state, watch, publisher, wake=loop.wake)
