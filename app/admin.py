"""The instructor's operations, shared by the /admin page and `python -m app`.

See who registered, export users.csv, open or close registration, reset an attendee's password, remove
an attendee. Only registrations made through this app are touched: lines added to the htpasswd Secret
by other means are never reset or removed. Every action is logged as `who=admin`, without secrets.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import datetime, timezone

from app import activation, htpasswd, ledger, roster
from app.activation import Batch
from app.documents import update
from app.errors import PermissionDenied, StoreError
from app.mirror import users_csv
from app.publisher import Publisher, Status
from app.roster import Registration
from app.store import Store, roster_records

log = logging.getLogger(__name__)
# Easy to read aloud and type: no 0/o, 1/l/i. 16 of 31 symbols is about 79 bits.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotRegistered(LookupError):
    """No attendee of that name registered through this app."""


class NotYetWritten(LookupError):
    """The attendee's login is still waiting to be written: there is no line to reset yet."""


@dataclasses.dataclass(frozen=True)
class Overview:
    """What the instructor sees at a glance."""

    attendees: list[Registration]  # oldest first, without hashes
    logins: dict[str, str]  # each username's login state: pending, active or refused (app.activation)
    batches: list[Batch]  # the writes of the logins whose rollout completed, for the chart
    refused: dict[str, str]  # the usernames whose login OpenShift refused (another identity holds the name)
    max_users: int
    registration_open: bool
    schedule: str | None  # REGISTRATION_OPENS_AT / _CLOSES_AT in one line, when set
    last_registration: datetime | None
    sync: dict
    publishing: Status


@dataclasses.dataclass(frozen=True)
class Removal:
    """What removing one attendee did, and what is left for a cluster admin to run by hand."""

    username: str
    user_deleted: bool | None = None  # None: no cluster, nothing to delete
    identity_deleted: bool | None = None
    commands: tuple[str, ...] = ()
    project_deleted: bool | None = None  # None: no project (PROJECT_TEMPLATE unset) or not permitted


def generate_password() -> str:
    """A strong random password an attendee can type: four groups of four, e.g. 'k7tq-...'."""
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


class AdminService:
    """The instructor's operations on the store (and, when granted, on OpenShift's User objects)."""

    def __init__(self, store: Store, publisher: Publisher):
        self.settings = store.settings
        self.store = store
        self.documents = store.documents
        self.publisher = publisher

    def overview(self) -> Overview:
        """Attendees, capacity, the switch, the last registration, the sync state and the publishing."""
        state = self.documents.latest()
        found = sorted(ledger.registered(state.logins.content, state.records), key=lambda r: r[0].registered_at)
        attendees = [record for record, _ in found]
        return Overview(
            attendees=attendees,
            logins=self.publisher.login_states(),
            batches=self.store.state.batches(),
            refused=self.store.state.refused(),
            max_users=self.settings.max_users,
            registration_open=self.store.state.is_open(),
            schedule=self.settings.schedule.describe(),
            last_registration=attendees[-1].registered_at if attendees else None,
            sync=self.store.health(),
            publishing=self.publisher.status(),
        )

    def attendees(self, login_state: str | None = None) -> list[tuple[Registration, str]]:
        """The attendees, oldest first, with their login state; only those in `login_state` if given."""
        overview = self.overview()
        found = [(r, overview.logins.get(r.username, activation.PENDING)) for r in overview.attendees]
        return [(r, s) for r, s in found if login_state is None or s == login_state]

    def export_csv(self) -> str:
        """users.csv, exactly as DATA_DIR/users.csv would hold it now."""
        state = self.documents.latest()
        return users_csv(state.logins.content, state.records).decode()

    def set_open(self, value: bool) -> None:
        """Open or close registration for every replica."""
        self.store.state.set_open(value)
        _log("open" if value else "close")

    def reset_password(self, username: str) -> str:
        """Give an attendee a new random password; return it (to be shown once, never stored)."""
        self._registered(username)
        password = generate_password()
        entry = htpasswd.make_entry(username, password, self.settings.bcrypt_rounds)

        def change(content: bytes) -> bytes:
            if htpasswd.line_of(content, username) is None:
                # Its row waits to be published (or was just removed): changing the pending line while a
                # publisher may be writing the old one would leave two lines for one name.
                raise NotYetWritten(username)
            return htpasswd.replace(content, username, entry)
        update(self.documents.logins, change, notes=self.publisher.notes())
        self._refresh()
        _log("reset_password", username)
        return password

    def remove(self, username: str) -> Removal:
        """Remove one attendee: login, record, and their OpenShift User and Identity when permitted."""
        self._registered(username)
        return self._remove([username])[0]

    def cleanup(self) -> list[Removal]:
        """Remove every attendee registered through this app (teardown); other users stay."""
        names = sorted({r.username for r in self.documents.latest().records})
        return self._remove(names) if names else []

    def _remove(self, usernames: list[str]) -> list[Removal]:
        doomed = set(usernames)

        def withdraw(content: bytes) -> bytes:
            records = roster_records(content)
            return roster.render_store(ledger.withdrawn(records, doomed)).encode()

        def drop_logins(content: bytes) -> bytes:
            for name in doomed:
                content = htpasswd.remove(content, name)
            return content

        def drop_records(content: bytes) -> bytes:
            records = roster_records(content)
            return roster.render_store(ledger.without(records, doomed)).encode()

        # First no publisher may write their pending lines any more; then their logins stop working at
        # once; then the records go. A login never exists without its record.
        update(self.documents.roster, withdraw)
        update(self.documents.logins, drop_logins, notes=self.publisher.notes())
        update(self.documents.roster, drop_records)
        self.store.state.forget(doomed)
        self._refresh()
        removals = [self._delete_projects(self._delete_user_objects(name)) for name in usernames]
        for removal in removals:
            _log("remove", removal.username)
        return removals

    def _delete_user_objects(self, username: str) -> Removal:
        users = self.store.users
        identity = users.identity(username)  # after the provider that really reads our Secret
        try:
            return Removal(username, users.delete_user(username), users.delete_identity(identity))
        except PermissionDenied:
            command = f"oc delete user {username} --ignore-not-found && oc delete identity {identity} --ignore-not-found"
            return Removal(username, False, False, commands=(command,))

    def _delete_projects(self, removal: Removal) -> Removal:
        """The attendee's project too, when PROJECT_TEMPLATE is set (only one labelled as theirs, ours)."""
        projects = self.store.projects
        if projects is None:
            return removal
        deleted = projects.delete(removal.username)
        commands = removal.commands + ((projects.delete_command(removal.username),) if deleted is None else ())
        return dataclasses.replace(removal, project_deleted=deleted, commands=commands)

    def ensure_projects(self) -> dict[str, str]:
        """Make (or complete) the project of every attendee whose login is written: name -> outcome."""
        state = self.documents.latest()
        written = [r.username for r, login in ledger.registered(state.logins.content, state.records)
                   if login != ledger.Login.PENDING]
        return {name: self.store.projects.ensure(name) for name in written}

    def _registered(self, username: str) -> None:
        if username not in {r.username for r in self.documents.latest().records}:
            raise NotRegistered(username)

    def _refresh(self) -> None:
        try:
            self.documents.read()
        except StoreError:
            pass  # the refresher will catch up; the change itself is stored


def describe_publishing(status: Status) -> list[str]:
    """The publishing state in a few lines an instructor can read: pending logins, the OAuth rollout,
    the last write and when the next one is due."""
    last = _clock(status.last_write) if status.last_write else "never"
    if status.pending:
        when = (f"once the OAuth rollout completes (at the latest {_clock(status.next_write)})"
                if status.after_rollout else f"at {_clock(status.next_write)} ({status.why})")
        lines = [f"logins pending: {status.pending}, the oldest registered at {_clock(status.oldest_pending)}; "
                 f"next write {when}"]
    else:
        lines = ["logins pending: 0"]
    lines.append(f"last write of the logins: {last}")
    rollout = {"in progress": f"rolling out ({status.oauth or 'after our last write'})",
               "idle": status.oauth or "idle",
               "unseen": f"cannot be seen: {status.oauth}; writes are spaced instead"}[status.rollout]
    lines.append(f"OAuth server: {rollout}")
    return lines


def _clock(epoch: float | None) -> str:
    return roster.format_time(datetime.fromtimestamp(epoch, timezone.utc)) if epoch else "-"


def _log(action: str, username: str = "-") -> None:
    log.info("event=admin_action who=admin action=%s username=%s", action, username)
