"""The instructor's operations, shared by the /admin page and `python -m app`.

See who registered, export users.csv, open or close registration, reset an attendee's password, remove
an attendee. Only registrations made through this app are touched: lines added to the htpasswd Secret
by other means are never reset or removed. Every action is logged as `who=admin`, without secrets.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import datetime

from app import htpasswd, ledger, roster
from app.documents import update
from app.errors import PermissionDenied, StoreError
from app.roster import Registration
from app.store import Store, roster_records

log = logging.getLogger(__name__)
# Easy to read aloud and type: no 0/o, 1/l/i. 16 of 31 symbols is about 79 bits.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotRegistered(LookupError):
    """No attendee of that name registered through this app."""


@dataclasses.dataclass(frozen=True)
class Overview:
    """What the instructor sees at a glance."""

    attendees: list[Registration]
    max_users: int
    registration_open: bool
    last_registration: datetime | None
    sync: dict


@dataclasses.dataclass(frozen=True)
class Removal:
    """What removing one attendee did, and what is left for a cluster admin to run by hand."""

    username: str
    user_deleted: bool | None = None  # None: no cluster, nothing to delete
    identity_deleted: bool | None = None
    commands: tuple[str, ...] = ()


def generate_password() -> str:
    """A strong random password an attendee can type: four groups of four, e.g. 'k7tq-...'."""
    groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


class AdminService:
    """The instructor's operations on the store (and, when granted, on OpenShift's User objects)."""

    def __init__(self, store: Store):
        self.settings = store.settings
        self.store = store
        self.documents = store.documents

    def overview(self) -> Overview:
        """Attendees (oldest first), capacity, the switch, the last registration and the sync state."""
        state = self.documents.latest()
        attendees = sorted(ledger.active(state.logins.content, state.records), key=lambda r: r.registered_at)
        return Overview(
            attendees=attendees,
            max_users=self.settings.max_users,
            registration_open=self.store.switch.is_open(),
            last_registration=attendees[-1].registered_at if attendees else None,
            sync=self.store.health(),
        )

    def export_csv(self) -> str:
        """users.csv, exactly as DATA_DIR/users.csv would hold it now."""
        state = self.documents.latest()
        return roster.render(ledger.active(state.logins.content, state.records))

    def set_open(self, value: bool) -> None:
        """Open or close registration for every replica."""
        self.store.switch.set(value)
        _log("open" if value else "close")

    def reset_password(self, username: str) -> str:
        """Give an attendee a new random password; return it (to be shown once, never stored)."""
        self._registered(username)
        password = generate_password()
        entry = htpasswd.make_entry(username, password, self.settings.bcrypt_rounds)

        def change(content: bytes) -> bytes:
            if username not in htpasswd.entries(content):
                raise NotRegistered(username)
            return htpasswd.replace(content, username, entry)
        update(self.documents.logins, change)
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

        def drop_logins(content: bytes) -> bytes:
            for name in doomed:
                content = htpasswd.remove(content, name)
            return content

        def drop_records(content: bytes) -> bytes:
            records = roster_records(content)
            return roster.render_store(ledger.without(records, doomed)).encode()

        update(self.documents.logins, drop_logins)  # first the login: the account stops working at once
        update(self.documents.roster, drop_records)
        self._refresh()
        removals = [self._delete_user_objects(name) for name in usernames]
        for removal in removals:
            _log("remove", removal.username)
        return removals

    def _delete_user_objects(self, username: str) -> Removal:
        identity = f"{self.settings.identity_provider_name}:{username}"
        users = self.store.users
        try:
            return Removal(username, users.delete_user(username), users.delete_identity(identity))
        except PermissionDenied:
            command = f"oc delete user {username} --ignore-not-found && oc delete identity {identity} --ignore-not-found"
            return Removal(username, False, False, (command,))

    def _registered(self, username: str) -> None:
        if username not in {r.username for r in self.documents.latest().records}:
            raise NotRegistered(username)

    def _refresh(self) -> None:
        try:
            self.documents.read()
        except StoreError:
            pass  # the refresher will catch up; the change itself is stored


def _log(action: str, username: str = "-") -> None:
    log.info("event=admin_action who=admin action=%s username=%s", action, username)
