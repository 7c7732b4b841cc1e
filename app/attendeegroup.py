"""ATTENDEE_GROUP: an OpenShift Group kept equal to the accounts whose logins work, so that an instructor
grants the whole room a shared namespace with one RoleBinding:

    oc create rolebinding workshop-attendees-edit --clusterrole=edit --group=workshop-attendees -n shared-lab

A login works once written (HTPasswd; the OAuth server accepts it after its rollout) or once registered
(BasicAuth); a login OpenShift refused, a removed attendee's and every login after the event's end are
not members. Seats are members once their login is written, claimed or not (a printed list hands them
out too). The members are the app's: a name added by hand is taken out at the next look (use another Group
for others). A loop of every process (app.runtime) compares and writes at most once per look, so a burst
of registrations is one write, and only from documents read at that moment; replicas agree through the
Group's resourceVersion (app.cluster.groups). After the event's end it is empty.
"""

from __future__ import annotations

import logging

from app import ledger
from app.clock import SYSTEM, Clock
from app.documents import Reading
from app.errors import PermissionDenied, StoreError
from app.files import Notices
from app.runtime import Backoff

log = logging.getLogger(__name__)
DENIED_RETRY = 60.0  # seconds before asking again after the Group could not be written (not set up)


def working(reading: Reading, instant: bool, refused: set[str]) -> set[str]:
    """The accounts whose logins work (or are written, and work once the OAuth server serves them)."""
    return {record.username for record, line in ledger.registered(reading.logins.content, reading.records)
            if (line == ledger.Line.WRITTEN or instant and line == ledger.Line.PENDING)
            and record.username not in refused}


class GroupSync:
    """Keeps the Group's users equal to `working`, one write per look at most."""

    def __init__(self, store, handover, clock: Clock = SYSTEM, notices: Notices | None = None):
        self.store = store
        self.group = store.group
        self.handover = handover
        self.clock = clock
        self.interval = max(store.settings.refresh_interval, 5.0)
        self.notices = notices
        self._backoff = Backoff()

    def step(self) -> float:
        """One look: the members the Group should have, written when they differ; seconds until the next."""
        try:
            if self._wanted(self.store.documents.latest()) != self.group.members():
                # Written only from documents and a state read after the Group it replaces: a process whose
                # copy is older (before the end, before a removal) never puts back what another took out.
                self.group.set_members(self._fresh)
            self._said("ok")
        except PermissionDenied as error:
            if self._said("denied"):
                log.error("event=group_not_written group=%s cause=%r", self.group.name, str(error))
            return DENIED_RETRY
        except StoreError as error:
            retry = self._backoff.next()
            log.warning("event=group_deferred group=%s cause=%r retry_in=%.1fs", self.group.name,
                        getattr(error, "cause", str(error)), retry)
            return retry
        self._backoff.reset()
        return self.interval

    def _fresh(self) -> set[str]:
        reading = self.store.documents.read()
        self.store.state.refresh()
        return self._wanted(reading)

    def _wanted(self, reading) -> set[str]:
        if self.store.state.ended_at() is not None:
            return set()
        return working(reading, self.handover.instant, set(self.store.state.refused()))

    def _said(self, state: str) -> bool:
        """Whether this is news for the pod (said once per change, not at every look)."""
        return self.notices is None or self.notices.change("attendee-group", state, usual="ok") is not None
