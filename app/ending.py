"""The event's end: at EVENT_ENDS_AT, or when the instructor ends it (/admin, `python -m app end`), every
attendee's login stops working and the records stay.

The end is a fact in the event state (the instructor's, written once) or in the settings (a time every
replica reads the same), so every replica agrees without talking. Carrying it out is idempotent and done
by whoever looks first — a loop of every process (app.runtime), the command line itself — and again by
anyone who finds something left (a replica that was down at the time acts when it comes back):

1. every row of the roster is marked ended (`ended_at`): a record from then on, never published again,
   whatever the logins hold (app.ledger), so no publisher writes its pending line;
2. the lines of those rows leave the logins in one write; lines the app did not add stay byte for byte.
   In HTPasswd mode the OAuth server serves that write after its rollout (minutes); the BasicAuth remote
   refuses everyone from the end on (app.basicauth), at once;
3. their OAuth tokens are queued for revocation (TokenRevoker, below), which goes on until the logins'
   end is served, so that no token issued meanwhile survives.

Registration, claims and signing back in are refused from the end on (app.service: "this event has ended").
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import datetime

from app import htpasswd, ledger, roster
from app.attendeegroup import GroupSync
from app.clock import SYSTEM, Clock
from app.documents import roster_records, update
from app.errors import PermissionDenied, StoreError
from app.files import Notices
from app.roster import Registration
from app.runtime import Backoff

log = logging.getLogger(__name__)
REVOKE_EVERY = 15.0  # seconds between two passes over the tokens of the attendees still queued
SETTLE_SECONDS = 10.0  # a name leaves the queue only after a pass this long after it was queued, once served


@dataclasses.dataclass(frozen=True)
class Plan:
    """What ending the event does (or did), in numbers an instructor can check first."""

    ended_at: datetime | None
    rows: int  # records kept (every registration and seat)
    to_mark: int  # rows not yet marked ended
    lines: int  # logins' lines to take out (the app's)
    foreign: int  # lines the app did not add: kept byte for byte
    logins: str  # where the logins are (the Secret or file)
    deferred: bool = False  # ended, but the logins could not be written just now: the replicas' loops will

    def sentences(self, instant: bool, tokens: list[str], group: str, done: bool = False) -> list[str]:
        """The plan in sentences (what it will do, or, `done`, what it did), for the dry run, the confirmation
        and the result; `tokens` says what happens to the attendees' OAuth tokens (token_sentences)."""
        if self.ended_at is not None and not (self.to_mark or self.lines):
            return [f"the event ended at {roster.format_time(self.ended_at)}; its logins are out, nothing is left "
                    "to do"] + tokens
        kept = ("" if not self.foreign else " (the line this app did not add stays as it is)" if self.foreign == 1
                else f" (the {self.foreign} lines this app did not add stay as they are)")
        said = [(f"take {self.lines} attendees' logins out of {self.logins} in one write{kept}",
                 f"took {self.lines} attendees' logins out of {self.logins} in one write{kept}"),
                ("refuse every login at once", "every login is refused") if instant else
                ("OpenShift stops accepting them once its OAuth server has rolled out",
                 "OpenShift stops accepting them once its OAuth server has rolled out (oc get co authentication)"),
                ("refuse registration, seat claims and signing back in: \"this event has ended\"",
                 "registration, seat claims and signing back in are refused: \"this event has ended\""),
                (f"keep all {self.rows} records (users.csv, /admin, python -m app attendance)",
                 f"all {self.rows} records are kept (users.csv, /admin, python -m app attendance)"),
                *([(f"take everyone out of the Group {group}", f"the Group {group} is emptied")] if group else [])]
        late = ["the Secrets could not be written just now: the app's replicas take the logins out within "
                "seconds (python -m app status)"] if self.deferred else []
        return late + [pair[done] for pair in said] + tokens


def token_sentences(commands: list[str], revoking: bool) -> list[str]:
    """What happens to the attendees' OAuth tokens: revoked by the app (openshift/extras/revoke-tokens), or the
    commands for a cluster admin; nothing in local mode."""
    if revoking:
        return ["their OAuth tokens are revoked (again, until OpenShift has stopped accepting the logins)"]
    if not commands:
        return []
    return ["their OAuth tokens stay valid until they expire (24 h by default) unless a cluster admin runs the "
            "oc delete oauthaccesstokens commands printed once it has ended (or enable openshift/extras/revoke-tokens)"]


class EndOfEvent:
    """Carries out the end (idempotent), as a loop of app.runtime and for the instructor's commands."""

    def __init__(self, store, handover, clock: Clock = SYSTEM, notices: Notices | None = None):
        self.store = store
        self.documents = store.documents
        self.state = store.state
        self.handover = handover
        self.clock = clock
        self.interval = max(store.settings.refresh_interval, 1.0)
        self.notices = notices
        self._backoff = Backoff()

    def plan(self) -> Plan:
        reading = self.documents.latest()
        logins = reading.logins.content
        kept = ledger.normalise(logins, reading.records)  # the records the end keeps (and whose lines go)
        ours = _lines_of(logins, {r.username for r in kept})
        return Plan(self.state.ended_at(), len(kept), sum(1 for r in kept if not r.ended), ours,
                    len(htpasswd.names(logins)) - ours, self.documents.logins.label)

    def end_now(self) -> Plan:
        """The instructor's end: recorded for every replica, then carried out here."""
        at = self.state.end()
        log.info("event=event_ended who=admin at=%s", roster.format_time(at))
        try:
            return self.carry_out(at)
        except StoreError as error:  # ended all the same: every replica's loop carries out the rest
            log.warning("event=end_deferred cause=%r (the replicas take the logins out)", error.cause)
            return dataclasses.replace(self.plan(), deferred=True)  # what is left, as this process last read

    def step(self) -> float:
        """Look whether the event has ended, and carry out what is left; the seconds until the next look."""
        try:
            at = self.state.ended_at()
            if at is None:
                ends = self.store.settings.event_ends_at
                wait = (ends - self.clock.utc()).total_seconds() if ends else self.interval
                return max(0.0, min(self.interval, wait))
            if self.notices is not None and self.notices.change("event", "ended", usual="running") is not None:
                log.warning("event=event_over ended_at=%s (logins ended, records kept)", roster.format_time(at))
            if _left(self.documents.latest()):  # after the end, every look: a pass over the rows, no more
                self.carry_out(at)
        except StoreError as error:
            retry = self._backoff.next()
            log.warning("event=end_deferred cause=%r retry_in=%.1fs", error.cause, retry)
            return retry
        self._backoff.reset()
        return self.interval

    def carry_out(self, at: datetime) -> Plan:
        """Mark every row ended, then take their lines out of the logins in one write, then queue their
        tokens; each step only when something is left to do. Returns the plan as it stood before."""
        before = self.plan()
        reading = self.documents.latest()
        if any(not r.ended for r in reading.records):
            update(self.documents.roster, self._ended)
            reading = self.documents.read()  # the roster first, then the logins: always in this order
        names = {r.username for r in reading.records if r.ended}
        lines = _lines_of(reading.logins.content, names)
        if lines or before.to_mark:
            self.state.revoke_tokens(names)  # queued first: a failure after this never loses them
        if lines:
            update(self.documents.logins, lambda content: htpasswd.without(content, names),
                   notes=self.handover.notes())
            log.info("event=logins_ended count=%d kept_foreign=%d logins=%r", before.lines, before.foreign,
                     self.documents.logins.label)
            self.documents.read()
        return before

    def _ended(self, content: bytes) -> bytes:
        """The stored roster with every live row marked ended: normalised first against logins read after it
        (a row whose name another line took, or whose login was removed, is not a record to keep), its
        pending line and its seat's nonce dropped (nobody can be shown that password any more)."""
        records: list[Registration] = ledger.normalise(self.documents.logins.read().content, roster_records(content))
        return roster.render_store([r if r.ended else dataclasses.replace(r, pending_login="", seat_nonce="",
                                                                          ended=True) for r in records]).encode()


class TokenRevoker:
    """Revokes the queued attendees' OAuth tokens (ended or removed), every REVOKE_EVERY, until their logins'
    end is served: in HTPasswd mode the OAuth server's old pods accept a removed line until the rollout has
    completed, and each login there issues a new token. A loop of app.runtime."""

    def __init__(self, state, handover, tokens, clock: Clock = SYSTEM, notices: Notices | None = None):
        self.state = state
        self.handover = handover
        self.tokens = tokens
        self.clock = clock
        self.notices = notices

    def step(self) -> float:
        try:
            queued = self.state.revoking()
            if not queued:
                return REVOKE_EVERY
            served = self.handover.served()  # looked at before the pass: a login after it is refused
            started = self.clock.now()
            self.tokens.revoke(set(queued))
        except PermissionDenied as error:
            if self.notices is None or self.notices.change("tokens", "denied", usual="ok") is not None:
                log.warning("event=tokens_not_revoked cause=%r fix='enable openshift/extras/revoke-tokens, or "
                            "run the oc commands python -m app end prints'", str(error))
            self._drop(set(self.state.revoking()))  # nothing this app can do: the commands are printed instead
            return REVOKE_EVERY
        except StoreError as error:
            log.warning("event=tokens_deferred cause=%r", getattr(error, "cause", str(error)))
            return REVOKE_EVERY
        if served:
            self._drop({name for name, since in queued.items() if started - since >= SETTLE_SECONDS})
        return REVOKE_EVERY + random.uniform(0, 5)  # the processes' passes spread out, not all at once

    def _drop(self, names: set[str]) -> None:
        if names:
            self.state.tokens_revoked(names)


def _left(reading) -> bool:
    """Whether anything of the end is left in this reading: a row not marked, or a line of a marked one."""
    return any(not r.ended for r in reading.records) or bool(
        _lines_of(reading.logins.content, {r.username for r in reading.records if r.ended}))


def _lines_of(logins: bytes, usernames: set[str]) -> int:
    """How many lines of exactly these names the logins hold (a hand-added `Alice:` is not our `alice`)."""
    return sum(1 for name in htpasswd.names(logins) if name in usernames)


def loops(store, handover, clock: Clock = SYSTEM) -> list[tuple[str, Callable[[], float]]]:
    """The event's life in the background, for app.runtime: its end in every mode; with a cluster, the
    queued tokens' revocation and, with ATTENDEE_GROUP, the attendees' Group."""
    notices = Notices(store.settings.data_dir)
    found = [("event-end", EndOfEvent(store, handover, clock, notices).step)]
    if store.mode == "cluster":
        found.append(("tokens", TokenRevoker(store.state, handover, store.tokens, clock, notices).step))
    if store.group.name:
        found.append(("attendee-group", GroupSync(store, handover, clock, notices).step))
    return found


def teardown(store) -> list[str]:
    """What `python -m app cleanup --yes` does, in sentences (its dry run): nothing is changed here."""
    reading = store.documents.latest()
    rows = len(reading.records)
    found = [f"remove all {rows} attendees and seats of this app: their logins and records (keep the attendance "
             "first: python -m app attendance > attendance.csv)"]
    if store.mode == "cluster":
        found += ["delete their OpenShift Users and Identities (openshift/extras/remove-users; without it the oc "
                  "commands are printed for a cluster admin)",
                  "revoke their OAuth tokens" if store.tokens.allowed() else
                  "print the oc commands that revoke their OAuth tokens (openshift/extras/revoke-tokens does it)"]
    if store.projects.enabled:
        found.append("delete their projects this app requested (others' are never touched)")
    if store.group.name:
        found.append(f"take everyone out of the Group {store.group.name} (setup.sh --remove deletes it)")
    return found
