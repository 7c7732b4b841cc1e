"""Where registrations live, chosen once: `make_store` is the only place that decides the mode.

Local mode (no cluster): DATA_DIR/htpasswd, DATA_DIR/registrations.csv and DATA_DIR/state.json are the
documents, read afresh whenever asked. Cluster mode: the htpasswd Secret and the registrations Secret
(keys registrations.csv and state.json) are; a refresher thread keeps the latest state of both and
mirrors them to DATA_DIR (app.mirror). Everything else talks to the parts `make_store` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from datetime import datetime, timezone
from typing import NamedTuple

from app import files, htpasswd, ledger, metrics, roster
from app.documents import Document, Snapshot
from app.files import FileDocument
from app.errors import StoreError, StoreUnavailable
from app.mirror import ClusterMirror, LocalMirror, Mirror
from app.rollout import OAuthServer
from app.roster import Registration, RosterError
from app.settings import Settings
from app.eventstate import EventState

log = logging.getLogger(__name__)
ROSTER_FILE = "registrations.csv"
STATE_FILE = "state.json"
KEY = "login-check.key"


class State(NamedTuple):
    """Both documents as read (the roster first), with the roster's registrations."""

    logins: Snapshot
    roster: Snapshot
    records: list[Registration]


class Documents:
    """The logins and roster documents, and the latest state read of them.

    `latest()` answers from a copy at most `max_age` seconds old (0: always read); every read and every
    state a writer hands to `remember` goes to the mirror. Reads and their failures are recorded for
    the instructor's view (`health`).
    """

    def __init__(self, logins: Document, roster_document: Document, mirror: Mirror, max_age: float):
        self.logins = logins
        self.roster = roster_document
        self.mirror = mirror
        self.max_age = max_age
        self._latest: tuple[float, State] | None = None
        self._parsed: tuple[str, list[Registration]] | None = None  # (roster version, its registrations)
        self._index: tuple[tuple[str, str], ledger.Index] | None = None
        self.read_at: float | None = None
        self.error: str | None = None

    def latest(self, fresh: bool = False) -> State:
        """The latest state: read now when asked to, or when the copy is older than max_age."""
        latest = self._latest
        if fresh or latest is None or time.monotonic() - latest[0] > self.max_age:
            return self.read()
        return latest[1]

    def read(self) -> State:
        """Read both documents now (the roster first: see app.ledger.normalise) and remember them."""
        try:
            snapshot = self.roster.read()
            state = State(self.logins.read(), snapshot, self.records(snapshot))
        except StoreError as error:
            if self.error != error.cause:
                log.error("event=read_failed cause=%r", error.cause)
            self.error = error.cause
            metrics.STORE_AVAILABLE.set(0)
            raise
        if self.error:
            log.info("event=read_recovered")
        self.error = None
        metrics.STORE_AVAILABLE.set(1)
        self.remember(state)
        return state

    def remember(self, state: State, mirror: bool = True) -> None:
        """Keep a newer state of the documents (after a read or a write) and mirror it to DATA_DIR.

        A reservation skips the mirror (files, fsyncs): the next publish or refresh brings users.csv up.
        """
        self._latest = (time.monotonic(), state)
        self._parsed = (state.roster.version, state.records)
        self.read_at = time.time()
        if not mirror:
            return
        try:
            self.mirror.show(state.logins, state.roster, state.records)
        except (OSError, StoreError, RosterError) as error:
            log.error("event=mirror_failed cause=%r", str(error))

    def index(self, state: State) -> ledger.Index:
        """The state's index of names and emails, built once per pair of versions."""
        key = (state.logins.version, state.roster.version)
        cached = self._index
        if cached is None or cached[0] != key:
            cached = (key, ledger.Index.of(state.logins.content, state.records, len(state.roster.content)))
            self._index = cached
        return cached[1]

    def login_of(self, username: str, fresh: bool = False) -> tuple[bytes, ledger.Login] | None:
        """The user's htpasswd line and whether it is published (ACTIVE) or waits (PENDING), or None."""
        state = self.latest(fresh=fresh)
        line = htpasswd.entries(state.logins.content).get(username)
        for record in state.records:
            if record.username == username:
                if record.pending_login and line is None:
                    return record.pending_login.encode(), ledger.Login.PENDING
                return (line, ledger.Login.ACTIVE) if line is not None else None
        return None

    @property
    def written_at(self) -> float | None:
        """When this app last wrote the logins, as of the latest state known here."""
        return self._latest[1].logins.written_at if self._latest else None

    def records(self, snapshot: Snapshot) -> list[Registration]:
        """A roster snapshot's registrations, parsed once per version (10,000 rows take tens of ms)."""
        parsed = self._parsed
        if parsed is not None and parsed[0] == snapshot.version:
            return parsed[1]
        records = roster_records(snapshot.content)
        self._parsed = (snapshot.version, records)
        return records


def roster_records(content: bytes) -> list[Registration]:
    """The registrations in a stored roster; an unreadable roster makes the store unavailable."""
    try:
        return roster.parse_stored(content)
    except RosterError as error:
        raise StoreUnavailable(f"the stored roster cannot be read ({error}); fix or restore it") from error


class Refresher:
    """Cluster mode: re-reads the documents and the shared state every interval, in one thread per process."""

    def __init__(self, documents: Documents, state: EventState, interval: float):
        self.documents = documents
        self.state = state
        self.interval = interval
        self._started: int | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (once per process: threads do not survive gunicorn's fork)."""
        with self._lock:
            if self._started != os.getpid():
                self._started = os.getpid()
                threading.Thread(target=self._run, name="refresher", daemon=True).start()

    def problem(self) -> str | None:
        """Why the documents cannot be trusted now (unreadable, or not read for too long), or None."""
        if self.documents.error:
            return self.documents.error
        if self.documents.read_at is None:
            return "the registration Secrets have not been read yet"
        age = time.time() - self.documents.read_at
        if age > 3 * self.interval + 10:
            return f"the registration Secrets were last read {age:.0f}s ago"
        return None

    def _run(self) -> None:
        while True:
            try:
                self.documents.read()
                self.state.refresh()
            except StoreError:
                pass  # recorded by Documents.read, shown on /admin and in /readyz
            except Exception:  # keep refreshing whatever happens; the log says what
                log.exception("event=refresh_failed reason=internal_error")
            time.sleep(self.interval)


class NoRefresher:
    """Local mode: the files are read whenever they are needed; nothing runs in the background."""

    def start(self) -> None:
        """Nothing to start."""

    def problem(self) -> None:
        """The files are read when asked: nothing to report ahead of that."""
        return None


class NoRollout:
    """Local mode: no OAuth server rolls out after a write."""

    def observe(self) -> OAuthServer:
        return OAuthServer(0, False, "none (local files)")


class NoUsers:
    """Local mode: there are no OpenShift User and Identity objects."""

    def __init__(self, provider: str = "workshop"):
        self.provider = provider

    def identity(self, username: str) -> str:
        return f"{self.provider}:{username}"

    def held_elsewhere(self, username: str) -> bool:
        return False

    def delete_user(self, name: str) -> None:
        return None

    def delete_identity(self, name: str) -> None:
        return None


class NoClusterInfo:
    """Local mode: no cluster to discover addresses from."""

    def console_url(self) -> None:
        return None

    def api_server_url(self) -> None:
        return None

    def oauth_ca(self) -> None:
        return None

    def route_url(self, namespace, name) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Store:
    """The parts that depend on where registrations live."""

    mode: str  # "cluster" or "local files", for people
    settings: Settings
    documents: Documents
    state: EventState
    refresher: Refresher | NoRefresher
    key: Document  # the login-check key every replica shares (app.tickets)
    users: object = dataclasses.field(default_factory=NoUsers)  # OpenShift's Users and Identities
    info: object = dataclasses.field(default_factory=NoClusterInfo)  # addresses read from the cluster
    rollout: object = dataclasses.field(default_factory=NoRollout)  # the OAuth server's Deployment
    projects: object = None  # a project per attendee (app.cluster.Projects), when PROJECT_TEMPLATE is set
    # Whether the logins may hold lines this app did not add: a Secret only with HTPASSWD_SECRET_SHARED
    # (whoever holds the app's token could rewrite them); a local file is its operator's own.
    shared_logins: bool = True

    def health(self) -> dict:
        """Where the truth is, when the documents were last written and read, and the current error."""
        return {"mode": self.mode, "logins": self.documents.logins.label,
                "last_write": _moment(self.documents.written_at), "last_read": _moment(self.documents.read_at),
                "error": self.documents.error}

    def readiness(self) -> str | None:
        """None when this process can serve requests, else why not (see the README: what ready means)."""
        return files.is_writable(self.settings.data_dir)

    def degraded(self) -> str | None:
        """Why registrations cannot be stored right now (an outage every replica shares), or None."""
        return self.refresher.problem()


def make_store(settings: Settings) -> Store:
    """The store for the settings: Secrets when cluster sync is on, files in DATA_DIR otherwise."""
    data_dir = settings.data_dir
    lock = files.lock_for(data_dir)
    files.remove_stale_temporaries(data_dir, lock)
    if settings.cluster_sync:
        from app import cluster  # the kubernetes client is imported only when it is used

        api = cluster.connect(settings)
        namespace, name = settings.registrations_secret_namespace, settings.registrations_secret_name
        logins = cluster.SecretDocument(api, settings.htpasswd_secret_namespace, settings.htpasswd_secret_name,
                                        "htpasswd")
        documents = Documents(logins, cluster.SecretDocument(api, namespace, name, ROSTER_FILE),
                              ClusterMirror(data_dir, lock), max_age=math.inf)
        state = EventState(cluster.SecretDocument(api, namespace, name, STATE_FILE), settings.registration_open,
                           max_age=math.inf, schedule=settings.schedule)
        projects = (cluster.Projects(api, settings.project_template, settings.registrations_secret_namespace)
                    if settings.project_template else None)
        return Store("cluster", settings, documents, state, Refresher(documents, state, settings.refresh_interval),
                     cluster.SecretDocument(api, namespace, name, KEY),
                     users=cluster.UserDirectory(api, settings.htpasswd_secret_name, settings.identity_provider_name),
                     info=cluster.ClusterInfo(api), rollout=cluster.OAuthRollout(api), projects=projects,
                     shared_logins=settings.htpasswd_secret_shared)
    logins, roster_file, state = (FileDocument(data_dir / name, lock)
                                  for name in ("htpasswd", ROSTER_FILE, STATE_FILE))
    documents = Documents(logins, roster_file, LocalMirror(data_dir, lock, logins, roster_file), max_age=0)
    return Store("local files", settings, documents,
                 EventState(state, settings.registration_open, max_age=0, schedule=settings.schedule),
                 NoRefresher(), FileDocument(files.runtime_dir(data_dir) / KEY, lock),
                 users=NoUsers(settings.identity_provider_name))


def _moment(epoch: float | None) -> str | None:
    return roster.format_time(datetime.fromtimestamp(epoch, timezone.utc)) if epoch else None
