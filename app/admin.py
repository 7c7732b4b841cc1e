"""The instructor's operations, shared by the /admin page and `python -m app`.

See who registered, export users.csv, open or close registration, make seats, reset an attendee's
password, remove an attendee. Only registrations made through this app are touched: lines added to the
htpasswd Secret by other means are never reset or removed. Every action is logged as `who=admin`,
without secrets.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from app import activation, attendance, ending, htpasswd, ledger, passwords, roster, seats
from app.activation import Batch
from app.attendeegroup import GroupSync
from app.documents import roster_records, update
from app.errors import PermissionDenied, StoreError
from app.handover import Handover
from app.mirror import users_csv
from app.publisher import Status
from app.roster import Registration
from app.seatdesk import MAX_SEATS, EventOver, SeatDesk, SeatsRefused, log_action  # noqa: F401 (for callers)
from app.store import Store
from app.tickets import SharedKey

DELETE_USER = "oc delete user {0} --ignore-not-found && oc delete identity {1} --ignore-not-found"  # for an admin


class NotRegistered(LookupError):
    """No attendee of that name registered through this app."""


class NotYetWritten(LookupError):
    """The attendee's login is still waiting to be written: there is no line to reset yet."""


@dataclasses.dataclass(frozen=True)
class Overview:
    """What the instructor sees at a glance."""

    attendees: list[Registration]  # oldest first, without hashes (seats once claimed; not unclaimed ones)
    seats: list[Registration]  # every seat the instructor made, claimed or not
    logins: dict[str, str]  # each username's login state: pending, active or refused (app.activation)
    batches: list[Batch]  # the writes of the logins whose rollout completed, for the chart
    refused: dict[str, str]  # the usernames whose login OpenShift refused (another identity holds the name)
    max_users: int
    registration_open: bool
    schedule: str | None  # REGISTRATION_OPENS_AT / _CLOSES_AT in one line, when set
    last_registration: datetime | None
    sync: dict
    publishing: Status
    # BasicAuth: each attendee's first and last login that OpenShift really made (epoch seconds)
    logged_in: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    claim_bursts: list[seats.Burst] = dataclasses.field(default_factory=list)  # seats claimed faster than people type
    next_seat: int = 1  # where more seats of the usual prefix start (taken and removed names skipped)
    ended_at: datetime | None = None  # when the event ended (EVENT_ENDS_AT or the instructor), if it has

    def attendee_logins(self) -> dict[str, str]:
        """The attendees' login states (unclaimed seats are accounts, not attendees: not counted)."""
        return {r.username: self.logins.get(r.username, activation.PENDING) for r in self.attendees}


@dataclasses.dataclass(frozen=True)
class Removal:
    """What removing one attendee did, and what is left for a cluster admin to run by hand."""

    username: str
    user_deleted: bool | None = None  # None: no cluster, nothing to delete
    identity_deleted: bool | None = None
    commands: tuple[str, ...] = ()
    project_deleted: bool | None = None  # None: no project (PROJECT_TEMPLATE unset)
    notes: tuple[str, ...] = ()  # what a cluster admin should check by hand (never a command to pipe to sh)


class AdminService(SeatDesk):
    """The instructor's operations on the store (and, when granted, on OpenShift's User objects)."""

    def __init__(self, store: Store, handover: Handover):
        self.settings = store.settings
        self.store = store
        self.documents = store.documents
        self.handover = handover
        self.key = SharedKey(store.key)  # seats' passwords are derived with it (app.seats); read once

    def overview(self) -> Overview:
        """Attendees, capacity, the switch, the last registration, the sync state and the publishing."""
        state = self.documents.latest()
        found = [record for record, _ in ledger.registered(state.logins.content, state.records)]
        attendees = sorted((record for record in found if not record.unclaimed), key=joined_at)
        return Overview(
            attendees=attendees,
            seats=[record for record in found if record.seat],  # in the order they were made
            logins=self.handover.activations(),
            batches=self.store.state.batches(),
            refused=self.store.state.refused(),
            max_users=self.settings.max_users,
            registration_open=self.store.state.is_open(),
            schedule=self.settings.schedule.describe(),
            last_registration=joined_at(attendees[-1]) if attendees else None,
            sync=self.store.health(),
            publishing=self.handover.status(),
            logged_in=self.store.state.logins_seen(),
            claim_bursts=seats.bursts(state.records),
            next_seat=self.next_seat(),
            ended_at=self.store.state.ended_at(),
        )

    def attendees(self, login_state: str | None = None) -> list[tuple[Registration, str]]:
        """The attendees, oldest first, then the unclaimed seats, with their login state; only those in
        `login_state` if given."""
        overview = self.overview()
        accounts = overview.attendees + [r for r in overview.seats if r.unclaimed]
        found = [(r, overview.logins.get(r.username, activation.PENDING)) for r in accounts]
        return [(r, s) for r, s in found if login_state is None or s == login_state]

    def export_csv(self) -> str:
        """users.csv, exactly as DATA_DIR/users.csv would hold it now."""
        state = self.documents.latest()
        return users_csv(state.logins.content, state.records).decode()

    def set_open(self, value: bool) -> None:
        """Open or close registration for every replica."""
        self.store.state.set_open(value)
        log_action("open" if value else "close")

    def end_event(self, really: bool = True) -> tuple[list[str], list[str]]:
        """End the event now for every replica (or, not `really`, only say what that does): the sentences, and
        the oc commands left for a cluster admin (the attendees' tokens, without openshift/extras/revoke-tokens)."""
        end = ending.EndOfEvent(self.store, self.handover)
        plan = end.end_now() if really else end.plan()  # as it stood before (deferred: the replicas go on)
        if really:
            log_action("end")
            ending.TokenRevoker(self.store.state, self.handover, self.store.tokens).step()  # a first pass, now
            self._refresh()
        names = {r.username for r in self.documents.latest().records}
        revoking = self.store.tokens.allowed()
        commands = [] if revoking else self.store.tokens.commands(names)
        tokens = ending.token_sentences(commands, revoking)
        instant = self.handover.instant or self.store.mode != "cluster"
        return plan.sentences(instant, tokens, self.store.group.name, done=really and not plan.deferred), commands

    def attendance_csv(self) -> str:
        """The attendance to keep (app.attendance)."""
        state = self.documents.latest()
        return attendance.csv_text(ledger.registered(state.logins.content, state.records), self.store.state.batches(),
                                   self.handover.instant or self.store.mode != "cluster",
                                   self.store.state.logins_seen(), self.store.state.ended_at())

    def reset_password(self, username: str) -> str:
        """Give an attendee a new random password; return it (to be shown once, never stored).

        A seat's nonce goes first (its old password can no longer be derived); an unclaimed seat gets a
        new nonce, whose password is the new one, so it stays claimable.
        """
        found = self.documents.line_of(username, fresh=True)  # read now: the record below is as it is now
        record = self._registered(username)
        if record.ended:
            raise EventOver(f"the event has ended: {username}'s login is not given a new password")
        if found is not None and found[1] == ledger.Line.PENDING:
            raise NotYetWritten(username)  # before anything changes (a seat keeps its nonce)
        if record.seat_nonce:
            self._set_nonce(username, "")
        nonce = seats.new_nonce() if record.unclaimed else ""
        password = seats.password(self.key.get(), username, nonce) if nonce else passwords.generate()
        entry = htpasswd.make_entry(username, password, self.settings.bcrypt_rounds)

        def change(content: bytes) -> bytes:
            if htpasswd.line_of(content, username) is None:
                # Its row waits to be published (or was just removed): changing the pending line while a
                # publisher may be writing the old one would leave two lines for one name.
                raise NotYetWritten(username)
            return htpasswd.replace(content, username, entry)
        update(self.documents.logins, change, notes=self.handover.notes())
        if nonce:
            self._set_nonce(username, nonce)
        self._refresh()
        log_action("reset_password", username)
        return password

    def _set_nonce(self, username: str, nonce: str) -> None:
        def change(content: bytes) -> bytes:
            records = [dataclasses.replace(r, seat_nonce=nonce) if r.username == username else r
                       for r in roster_records(content)]
            return roster.render_store(records).encode()
        update(self.documents.roster, change)

    def remove(self, username: str) -> Removal:
        """Remove one attendee: login, record, and their OpenShift User and Identity when permitted."""
        self._registered(username)
        return self._remove([username])[0]

    def cleanup(self) -> list[Removal]:
        """Remove every attendee registered through this app (teardown); other users stay."""
        names = sorted({r.username for r in self.documents.latest().records})
        return self._remove(names) if names else []

    def cleanup_plan(self) -> list[str]:
        return ending.teardown(self.store)

    def _remove(self, usernames: list[str]) -> list[Removal]:
        doomed = set(usernames)

        def withdraw(content: bytes) -> bytes:
            records = roster_records(content)
            return roster.render_store(ledger.withdrawn(records, doomed)).encode()

        def drop_logins(content: bytes) -> bytes:
            return htpasswd.without(content, doomed)

        def drop_records(content: bytes) -> bytes:
            records = roster_records(content)
            return roster.render_store(ledger.without(records, doomed)).encode()

        # First the names are refused (until their User and Identity are seen gone, below); then no
        # publisher may write their pending lines any more; then their logins stop working at once; then
        # the records go. A login never exists without its record.
        self.store.state.retire(doomed)
        update(self.documents.roster, withdraw)
        update(self.documents.logins, drop_logins, notes=self.handover.notes())
        update(self.documents.roster, drop_records)
        self.store.state.forget(doomed)
        self._refresh()
        revoked = self._revoke_tokens(doomed)
        removals = [self._delete_projects(self._delete_user_objects(name)) for name in usernames]
        if not revoked:
            removals = [dataclasses.replace(r, commands=r.commands + tuple(self.store.tokens.commands({r.username})))
                        for r in removals]
        for removal in removals:
            log_action("remove", removal.username)
        return removals

    def _revoke_tokens(self, names: set[str]) -> bool:
        """Revoke the removed attendees' OAuth tokens now, and have every replica go on until OpenShift serves
        the removal (app.ending.TokenRevoker); False when the app may not (the commands are printed instead)."""
        try:
            self.store.tokens.revoke(names)
        except PermissionDenied:
            return False
        except StoreError:
            pass  # the replicas' loop tries again
        if self.store.mode == "cluster":
            self.store.state.revoke_tokens(names)
        return True

    def identity_commands(self) -> list[str]:
        """The `oc delete` commands for every attendee's User and Identity, attendees kept (after a switch of
        IDENTITY_PROVIDER_TYPE, so that they can log in through the new provider)."""
        return [DELETE_USER.format(r.username, self.store.users.identity(r.username))
                for r in sorted(self.documents.latest().records, key=lambda r: r.username)]

    def _delete_user_objects(self, username: str) -> Removal:
        users = self.store.users
        identity = users.identity(username)  # after the provider that really reads our Secret
        try:
            removal = Removal(username, users.delete_user(username), users.delete_identity(identity))
        except PermissionDenied:  # the name stays refused until they are gone (app.eventstate.retired)
            return Removal(username, False, False, commands=(DELETE_USER.format(username, identity),),
                           notes=(f"{username} stays refused until its User and Identity are gone: python -m app "
                                  f"unblock {username} once you have run the command above",))
        self.store.state.unretire({username})
        return removal

    def _delete_projects(self, removal: Removal) -> Removal:
        """The attendee's project too, when PROJECT_TEMPLATE is set (only one labelled as theirs, ours)."""
        projects = self.store.projects
        if not projects.enabled:
            return removal
        deleted = projects.delete(removal.username)
        # A project the app may not see is not known to be the attendee's: no command, a note to check.
        name, command = projects.name_for(removal.username), projects.delete_command(removal.username)
        notes = () if deleted else (f"no project {name} of this app's was found; if one is the attendee's, delete it "
                                    f"by hand: {command}",)
        return dataclasses.replace(removal, project_deleted=deleted, notes=removal.notes + notes)

    def ensure_projects(self) -> dict[str, str]:
        """Make (or complete) the project of every attendee whose login is written: name -> outcome."""
        state = self.documents.latest()
        written = [r.username for r, line in ledger.registered(state.logins.content, state.records)
                   if line == ledger.Line.WRITTEN]  # not pending, not ended
        return {name: self.store.projects.ensure(name) for name in written}

    def _registered(self, username: str) -> Registration:
        found = next((r for r in self.documents.latest().records if r.username == username), None)
        if found is None:
            raise NotRegistered(username)
        return found

    def _refresh(self) -> None:
        try:
            self.documents.read()
        except StoreError:
            pass  # the refresher will catch up; the change itself is stored
        if self.store.group.name:  # the Group follows now (the command line runs no background work)
            GroupSync(self.store, self.handover).step()


def joined_at(record: Registration) -> datetime:
    """When the attendee joined: registered, or claimed their seat."""
    return record.claimed_at or record.registered_at
