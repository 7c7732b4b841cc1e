"""Where registrations live, chosen once: `make_store` is the only place that decides the mode.

Local mode (no cluster): DATA_DIR/htpasswd, DATA_DIR/registrations.csv and DATA_DIR/state.json are the
documents, read afresh whenever asked. Cluster mode: the htpasswd Secret and the registrations Secret
(keys registrations.csv and state.json) are, with the attendees' Group and OAuth tokens; a refresher (a
worker of app.runtime) keeps the latest reading of both and mirrors them to DATA_DIR (app.mirror).
Everything else talks to the parts `make_store` returns (app.documents, app.eventstate and the
interfaces of app.parts).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

from app import files, roster
from app.clock import SYSTEM, Clock
from app.documents import Document, Documents
from app.errors import StoreError
from app.eventstate import EventState
from app.files import FileDocument
from app.mirror import ClusterMirror, LocalMirror
from app.parts import (
    ClusterInfo,
    Group,
    NoClusterInfo,
    NoGroup,
    NoOAuthDeployment,
    NoProjects,
    NoTokens,
    NoUsers,
    OAuthDeployment,
    Projects,
    Tokens,
    Users,
)
from app.settings import Settings

log = logging.getLogger(__name__)
ROSTER_FILE = "registrations.csv"
STATE_FILE = "state.json"
KEY = "login-check.key"


class Refresher:
    """Cluster mode: re-reads the documents and the shared state every interval (its runtime loop)."""

    def __init__(self, documents: Documents, state: EventState, interval: float, clock: Clock = SYSTEM):
        self.documents = documents
        self.state = state
        self.interval = interval
        self.clock = clock

    def loops(self) -> list[tuple[str, Callable[[], float]]]:
        """What the runtime repeats for it."""
        return [("refresher", self.step)]

    def step(self) -> float:
        """One re-read of both Secrets and the event state; the seconds until the next."""
        try:
            self.documents.read()
            self.state.refresh()
        except StoreError:
            pass  # recorded by Documents.read, shown on /admin and in /readyz
        return self.interval

    def problem(self) -> str | None:
        """Why the documents cannot be trusted now (unreadable, or not read for too long), or None."""
        if self.documents.error:
            return self.documents.error
        if self.documents.read_at is None:
            return "the registration Secrets have not been read yet"
        age = self.clock.now() - self.documents.read_at
        if age > 3 * self.interval + 10:
            return f"the registration Secrets were last read {age:.0f}s ago"
        return None


class NoRefresher:
    """Local mode: the files are read whenever they are needed; nothing runs in the background."""

    def loops(self) -> list:
        return []

    def problem(self) -> None:
        """The files are read when asked: nothing to report ahead of that."""
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
    users: Users = dataclasses.field(default_factory=NoUsers)  # OpenShift's Users and Identities
    info: ClusterInfo = dataclasses.field(default_factory=NoClusterInfo)  # addresses read from the cluster
    oauth: OAuthDeployment = dataclasses.field(default_factory=NoOAuthDeployment)  # the OAuth server's Deployment
    projects: Projects = dataclasses.field(default_factory=NoProjects)  # a project per attendee (PROJECT_TEMPLATE)
    group: Group = dataclasses.field(default_factory=NoGroup)  # the attendees' Group (ATTENDEE_GROUP)
    tokens: Tokens = dataclasses.field(default_factory=NoTokens)  # their OAuth access tokens
    # Whether the logins may hold lines this app did not add: a Secret only with HTPASSWD_SECRET_SHARED
    # (whoever holds the app's token could rewrite them); a local file is its operator's own.
    shared_logins: bool = True
    clock: Clock = SYSTEM

    def health(self) -> dict:
        """Where the truth is, when the documents were last written and read, and the current error."""
        return {"mode": self.mode, "logins": self.documents.logins.label,
                "last_write": _moment(self.documents.written_at), "last_read": _moment(self.documents.read_at),
                "error": self.documents.error}

    def readiness(self) -> str | None:
        """None when this process can serve requests, else why not (docs/reference.md: what ready means)."""
        return files.is_writable(self.settings.data_dir)

    def degraded(self) -> str | None:
        """Why registrations cannot be stored right now (an outage every replica shares), or None."""
        return self.refresher.problem()


def make_store(settings: Settings, clock: Clock = SYSTEM) -> Store:
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
                              ClusterMirror(data_dir, lock), max_age=math.inf, clock=clock)
        state = EventState(cluster.SecretDocument(api, namespace, name, STATE_FILE), settings.registration_open,
                           max_age=math.inf, schedule=settings.schedule, clock=clock)
        projects = (cluster.Projects(api, settings.project_template, settings.registrations_secret_namespace)
                    if settings.project_template else NoProjects())
        refresher = Refresher(documents, state, settings.refresh_interval, clock)
        return Store("cluster", settings, documents, state, refresher,
                     cluster.SecretDocument(api, namespace, name, KEY),
                     users=cluster.UserDirectory(api, settings.htpasswd_secret_name, settings.identity_provider_name),
                     info=cluster.ClusterInfo(api), oauth=cluster.OAuthRollout(api), projects=projects,
                     group=cluster.AttendeeGroup(api, settings.attendee_group) if settings.attendee_group else
                     NoGroup(),
                     tokens=cluster.AccessTokens(api), shared_logins=settings.htpasswd_secret_shared, clock=clock)
    logins, roster_file, state = (FileDocument(data_dir / name, lock)
                                  for name in ("htpasswd", ROSTER_FILE, STATE_FILE))
    documents = Documents(logins, roster_file, LocalMirror(data_dir, lock, logins, roster_file), max_age=0, clock=clock)
    return Store("local files", settings, documents,
                 EventState(state, settings.registration_open, max_age=0, schedule=settings.schedule, clock=clock),
                 NoRefresher(), FileDocument(files.runtime_dir(data_dir) / KEY, lock),
                 users=NoUsers(settings.identity_provider_name), clock=clock)


def _moment(epoch: float | None) -> str | None:
    return roster.format_epoch(epoch) if epoch else None
