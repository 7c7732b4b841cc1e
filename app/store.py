"""Where registrations live: the documents of this deployment and the files mirrored from them.

Local mode (no cluster): DATA_DIR/htpasswd, DATA_DIR/registrations.csv and DATA_DIR/state.json are the
documents. Cluster mode: the htpasswd Secret and the registrations Secret (keys registrations.csv and
state.json) are; DATA_DIR/htpasswd is their mirror, rebuilt at start-up and refreshed every
REFRESH_INTERVAL and after every publish. In both modes DATA_DIR/users.csv shows the registrations
whose login exists, for `oc rsync`. state.json holds what the instructor switched (registration open or
closed), so that every replica agrees.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple
from datetime import datetime, timezone

from app import files, ledger, roster
from app.errors import Conflict, StoreError, StoreUnavailable
from app.files import FileDocument, Snapshot
from app.roster import Registration, RosterError
from app.settings import Settings

log = logging.getLogger(__name__)
ROSTER_FILE = "registrations.csv"
STATE_FILE = "state.json"
UPDATE_ATTEMPTS = 20


class State(NamedTuple):
    """The logins content and the registrations, as last read, with the stored roster's size."""

    logins: bytes
    records: list[Registration]
    roster_bytes: int


class Store:
    """The logins and roster documents, with the latest known state of both."""

    def __init__(self, settings: Settings, logins, roster_document, state_document, cluster: bool):
        self.settings = settings
        self.logins = logins
        self.roster = roster_document
        self.state = state_document
        self.cluster = cluster
        self._state: dict | None = None
        self.lock = files.lock_for(settings.data_dir)
        self._latest: tuple[Snapshot, list[Registration], int] | None = None
        self._parsed_roster: tuple[str, list[Registration]] | None = None  # (version, registrations)
        self._refreshed_at: float | None = None
        self._error: str | None = None
        self._started = False
        self._start_lock = threading.Lock()

    def current(self, fresh: bool = False) -> State:
        """The latest logins content and roster: read now in local mode or when fresh is asked for,
        else the copy the refresher keeps (at most REFRESH_INTERVAL old) in cluster mode."""
        if not (self.cluster and self._latest is not None and not fresh):
            logins, records, size = self._read()
            if not self.cluster:
                return State(logins.content, records, size)
            self._latest = (logins, records, size)
        logins, records, size = self._latest
        return State(logins.content, records, size)

    def registration_open(self) -> bool:
        """Whether attendees may register: the instructor's switch, else REGISTRATION_OPEN."""
        state = self._state if self.cluster and self._state is not None else self._read_state()
        return bool(state.get("registration_open", self.settings.registration_open))

    def set_registration_open(self, value: bool) -> None:
        """Record the instructor's switch where every replica reads it."""
        def change(content: bytes) -> bytes:
            state = _state_of(content)
            state.update(registration_open=value, changed_at=roster.format_time(roster.now()))
            return json.dumps(state, sort_keys=True).encode()
        self._state = _state_of(update(self.state, change).content)

    def refresh(self) -> None:
        """Read the documents, keep them as the latest state and rewrite the mirrors."""
        try:
            logins, snapshot = self.logins.read(), self.roster.read()
            records = self.records_for(snapshot)
            self._state = self._read_state()
        except StoreError as error:
            if self._error != error.cause:
                log.error("event=refresh_failed cause=%r", error.cause)
            self._error = error.cause
            raise
        if self._error:
            log.info("event=refresh_recovered")
        self._error = None
        self.published(logins, snapshot, records)

    def published(self, logins: Snapshot, roster_snapshot: Snapshot, records: list[Registration]) -> None:
        """Record a new state of the documents (after a publish or a read) and mirror it to DATA_DIR."""
        self._latest = (logins, records, len(roster_snapshot.content))
        self._refreshed_at = time.time()
        try:
            self._write_mirrors(logins, roster_snapshot, records)
        except (OSError, StoreError) as error:
            log.error("event=mirror_failed cause=%r", str(error))

    def _write_mirrors(self, logins: Snapshot, roster_snapshot: Snapshot, records: list[Registration]) -> None:
        """Rewrite DATA_DIR/users.csv (and, in cluster mode, DATA_DIR/htpasswd), never with an older state.

        Several worker processes write the mirrors, each from the state it happens to hold. Locally the
        truth is in DATA_DIR itself, so the mirror is rendered from it under the lock. In cluster mode a
        mirror write carries the resourceVersions it was made from, and one from an older pair is skipped
        (the refresher would correct it within REFRESH_INTERVAL anyway).
        """
        data_dir = self.settings.data_dir
        with self.lock:
            if not self.cluster:
                logins, records = self.logins.read(), self.records_for(self.roster.read())
            elif not self._newer_than_mirror(logins.version, roster_snapshot.version):
                return
            if self.cluster:
                files.write_if_changed(data_dir / "htpasswd", logins.content, self.lock)
            users = roster.render(ledger.active(logins.content, records)).encode()
            files.write_if_changed(data_dir / "users.csv", users, self.lock)

    def _newer_than_mirror(self, logins_version: str, roster_version: str) -> bool:
        marker = files.runtime_dir(self.settings.data_dir) / "mirror.json"
        try:
            current = json.loads(marker.read_text())
            older = int(logins_version) < int(current["logins"]) or int(roster_version) < int(current["roster"])
        except (OSError, ValueError, KeyError, TypeError):
            older = False  # no marker yet, or versions that are not numbers: write, the refresher heals
        if older:
            return False
        files.write_atomic(marker, json.dumps({"logins": logins_version, "roster": roster_version}).encode())
        return True

    def sync_state(self) -> dict:
        """Where the truth is, when the logins were last written, and the current error if any."""
        logins = self._latest[0] if self._latest else None
        if logins is None and not self.cluster:
            logins = self.logins.read()
        written = logins.written_at if logins else None
        return {
            "mode": "cluster" if self.cluster else "local files",
            "logins": self.logins.label,
            "last_write": roster.format_time(datetime.fromtimestamp(written, timezone.utc)) if written else None,
            "last_read": roster.format_time(datetime.fromtimestamp(self._refreshed_at, timezone.utc))
            if self._refreshed_at else None,
            "error": self._error,
        }

    def readiness(self) -> str | None:
        """None when registrations can be stored, else why not."""
        problem = files.is_writable(self.settings.data_dir)
        if problem or not self.cluster:
            return problem
        self.start()
        if self._error:
            return self._error
        if self._refreshed_at is None:
            return "the registration Secrets have not been read yet"
        age = time.time() - self._refreshed_at
        if age > 3 * self.settings.refresh_interval + 10:
            return f"the registration Secrets were last read {age:.0f}s ago"
        return None

    def start(self) -> None:
        """Start the refresher in cluster mode (once per process, after gunicorn's fork)."""
        if not self.cluster or self._started:
            return
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._refresh_forever, name="refresher", daemon=True).start()

    def _refresh_forever(self) -> None:
        while True:
            try:
                self.refresh()
            except StoreError:
                pass
            except Exception:  # keep refreshing whatever happens; the log says what
                log.exception("event=refresh_failed reason=internal_error")
            time.sleep(self.settings.refresh_interval)

    def _read(self) -> tuple[Snapshot, list[Registration], int]:
        logins = self.logins.read()
        snapshot = self.roster.read()
        return logins, self.records_for(snapshot), len(snapshot.content)

    def records_for(self, snapshot: Snapshot) -> list[Registration]:
        """A roster snapshot's registrations, parsed once per version (10,000 rows take tens of ms)."""
        if self._parsed_roster is not None and self._parsed_roster[0] == snapshot.version:
            return self._parsed_roster[1]
        records = records_of(snapshot)
        self._parsed_roster = (snapshot.version, records)
        return records

    def _read_state(self) -> dict:
        return _state_of(self.state.read().content)


def update(document, change: Callable[[bytes], bytes], attempts: int = UPDATE_ATTEMPTS) -> Snapshot:
    """Read, change and write a document, again from a fresh read after each conflict."""
    for _ in range(attempts):
        snapshot = document.read()
        content = change(snapshot.content)
        if content == snapshot.content:
            return snapshot
        try:
            return document.write(snapshot, content)
        except Conflict:
            time.sleep(0.05)
    raise StoreUnavailable(f"{document.label} kept changing; try again")


def _state_of(content: bytes) -> dict:
    try:
        state = json.loads(content or b"{}")
    except ValueError:
        log.error("event=state_unreadable fix='rewrite or delete state.json'")
        return {}
    return state if isinstance(state, dict) else {}


def records_of(snapshot: Snapshot) -> list[Registration]:
    """The registrations in a roster snapshot; an unreadable roster makes the store unavailable."""
    return records_from(snapshot.content)


def records_from(content: bytes) -> list[Registration]:
    """The registrations in a stored roster's bytes; unreadable bytes make the store unavailable."""
    try:
        return roster.parse_store(content.decode("utf-8"))
    except (RosterError, UnicodeDecodeError) as error:
        raise StoreUnavailable(f"the stored roster cannot be read ({error}); fix or restore it") from error


def make_store(settings: Settings) -> Store:
    """The store for the settings: Secrets when cluster sync is on, files in DATA_DIR otherwise."""
    data_dir = settings.data_dir
    files.runtime_dir(data_dir)
    files.remove_stale_temporaries(data_dir, files.lock_for(data_dir))
    if settings.cluster_sync:
        from app import cluster  # the kubernetes client is imported only when it is used

        client = cluster.make_client(settings)
        logins = cluster.SecretDocument(
            client, settings.htpasswd_secret_namespace, settings.htpasswd_secret_name, "htpasswd"
        )
        namespace, name = settings.registrations_secret_namespace, settings.registrations_secret_name
        registrations = cluster.SecretDocument(client, namespace, name, ROSTER_FILE)
        state = cluster.SecretDocument(client, namespace, name, STATE_FILE)
        return Store(settings, logins, registrations, state, cluster=True)
    lock = files.lock_for(data_dir)
    documents = [FileDocument(data_dir / name, lock) for name in ("htpasswd", ROSTER_FILE, STATE_FILE)]
    return Store(settings, *documents, cluster=False)
