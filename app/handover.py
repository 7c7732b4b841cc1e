"""How a stored registration becomes a login OpenShift accepts: the one interface every part of the app
asks (the page's "can I log in yet", /admin, /readyz, the command line), whatever the identity provider.

`HTPasswdHandover`: the logins are written into the htpasswd Secret that an HTPasswd identity provider
reads, at the OAuth server's pace (app.publisher), and a login is active once the rollout that write
caused has completed (app.oauthwatch), or once a live check logged in with it. `make_handover` builds it,
with its workers on the app's runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app import activation, ledger
from app.documents import Documents, line_in
from app.errors import StoreError
from app.eventstate import EventState
from app.files import Notices
from app.history import BatchHistory
from app.oauthwatch import OAuthWatch
from app.provisioner import Provisioner
from app.publisher import Policy, Publisher, Status
from app.reserver import tidy
from app.rollout import Pace
from app.runtime import Runtime


class Handover(Protocol):
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


class HTPasswdHandover:
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

    def problems(self) -> list[str]:
        found = [self.watch.problem()]
        try:
            found.append(self.publisher.status().blocked)
        except StoreError:  # an unreadable store is reported by the store itself
            pass
        return [problem for problem in found if problem]


def make_handover(store, runtime: Runtime, provision: bool = True) -> Handover:
    """The store's handover, its workers added to the runtime (started or not: the command line runs the
    steps it needs itself); with provision, written logins get their projects (PROJECT_TEMPLATE)."""
    settings, clock = store.settings, runtime.clock
    notices = Notices(settings.data_dir)
    watch = OAuthWatch(store.oauth, Pace.for_settings(settings), clock, notices)
    listeners = [lambda reading, added: tidy(store.documents, reading)]
    if provision and store.projects.enabled:
        provisioner = Provisioner(store.projects)
        runtime.add(provisioner.queue)
        listeners.append(provisioner.written)
    publisher = Publisher(store.documents, watch, Policy.for_store(store), clock, notices, listeners)
    loop = runtime.loop("publisher", publisher.step)
    runtime.loop("history", BatchHistory(store.documents, watch, store.state, settings.refresh_interval, clock).step)
    return HTPasswdHandover(store.documents, store.state, watch, publisher, wake=loop.wake)
