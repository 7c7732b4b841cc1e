"""The documents registrations live in: the interface both storage adapters implement (files,
app.files; Secrets, app.cluster), and `Documents`, the two of them with the latest reading.

A document is one versioned blob: `read()` gives a `Snapshot`, `write(base, content)` replaces the content
only if the document is still at `base`'s version, else raises Conflict. That compare-and-swap is all
the commit algorithm needs, so the same code serves local files and Kubernetes Secrets.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol, TypeVar

from app import htpasswd, ledger, metrics, roster
from app.clock import SYSTEM, Clock
from app.errors import Conflict, StoreError, StoreUnavailable
from app.roster import Registration, RosterError

log = logging.getLogger(__name__)
T = TypeVar("T")

UPDATE_ATTEMPTS = 20


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A document's content as read, the version to write against, and this app's notes on it.

    `written_at` is when this app last wrote it (epoch seconds; None if never); `notes` are small facts
    the writer recorded with the content (a Secret's annotations of ours), read back by every replica.
    """

    content: bytes = dataclasses.field(repr=False)
    version: str
    written_at: float | None = None
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    source: object = dataclasses.field(default=None, repr=False, compare=False)


class Document(Protocol):
    """One versioned document (a file in DATA_DIR, or one key of one Secret)."""

    label: str

    def read(self) -> Snapshot:
        """The current content and version; StoreUnavailable when it cannot be read."""

    def version(self) -> str:
        """The current version alone (cheaper than a read); StoreUnavailable when it cannot be read."""

    def write(self, base: Snapshot, content: bytes, notes: Mapping[str, str] | None = None) -> Snapshot:
        """Replace the content if the document is still at base's version; Conflict if it moved on."""


def update(document: Document, change: Callable[[bytes], bytes], attempts: int = UPDATE_ATTEMPTS,
           notes: Mapping[str, str] | None = None) -> Snapshot:
    """Read, change and write a document, again from a fresh read after each conflict."""
    for _ in range(attempts):
        snapshot = document.read()
        content = change(snapshot.content)
        if content == snapshot.content:
            return snapshot
        try:
            return document.write(snapshot, content, notes)
        except Conflict:
            time.sleep(0.05)
    raise StoreUnavailable(f"{document.label} kept changing; try again")


class Reading(NamedTuple):
    """One reading of both documents (the roster first), with the roster's registrations."""

    logins: Snapshot
    roster: Snapshot
    records: list[Registration]


class Mirror(Protocol):
    def show(self, logins: Snapshot, roster_snapshot: Snapshot, records: list[Registration]) -> None:
        """Bring the files in DATA_DIR up to this reading of the documents."""


class Documents:
    """The logins and roster documents, and the latest reading of them.

    `latest()` answers from a reading at most `max_age` seconds old (0: always read); every read and every
    reading a writer hands to `remember` goes to the mirror. Reads and their failures are recorded for
    the instructor's view (`health`).
    """

    def __init__(self, logins: Document, roster_document: Document, mirror: Mirror, max_age: float,
                 clock: Clock = SYSTEM):
        self.logins = logins
        self.roster = roster_document
        self.mirror = mirror
        self.max_age = max_age
        self.clock = clock
        self._latest: tuple[float, Reading] | None = None
        self._parsed: tuple[str, list[Registration]] | None = None  # (roster version, its registrations)
        self._index: tuple[tuple[str, str], ledger.Index] | None = None
        self.read_at: float | None = None
        self.error: str | None = None

    def latest(self, fresh: bool = False) -> Reading:
        """The latest reading: read now when asked to, or when the last one is older than max_age."""
        latest = self._latest
        if fresh or latest is None or self.clock.monotonic() - latest[0] > self.max_age:
            return self.read()
        return latest[1]

    def recheck(self, question: Callable[[Reading], T], good: Callable[[T], bool]) -> T:
        """The question's answer on the latest reading when it is good; else its answer on a fresh read
        (another replica may have written since: a bad answer is never given on a copy alone)."""
        answer = question(self.latest())
        return answer if good(answer) else question(self.latest(fresh=True))

    def changed(self, reading: Reading) -> bool:
        """Whether either document moved on since this reading (asking only their versions)."""
        return (self.roster.version() != reading.roster.version
                or self.logins.version() != reading.logins.version)

    def read(self) -> Reading:
        """Read both documents now (the roster first: see app.ledger.normalise) and remember them."""
        try:
            snapshot = self.roster.read()
            reading = Reading(self.logins.read(), snapshot, self.records(snapshot))
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
        self.remember(reading)
        return reading

    def remember(self, reading: Reading, mirror: bool = True) -> None:
        """Keep a newer reading of the documents (after a read or a write) and mirror it to DATA_DIR.

        A reservation skips the mirror (files, fsyncs): the next publish or refresh brings users.csv up.
        """
        self._latest = (self.clock.monotonic(), reading)
        self._parsed = (reading.roster.version, reading.records)
        self.read_at = self.clock.now()
        if not mirror:
            return
        try:
            self.mirror.show(reading.logins, reading.roster, reading.records)
        except (OSError, StoreError, RosterError) as error:
            log.error("event=mirror_failed cause=%r", str(error))

    def index(self, reading: Reading) -> ledger.Index:
        """The reading's index of names and emails, built once per pair of versions."""
        key = (reading.logins.version, reading.roster.version)
        cached = self._index
        if cached is None or cached[0] != key:
            cached = (key, ledger.Index.of(reading.logins.content, reading.records, len(reading.roster.content)))
            self._index = cached
        return cached[1]

    def line_of(self, username: str, fresh: bool = False) -> tuple[bytes, ledger.Line] | None:
        """The user's htpasswd line and whether it is written (WRITTEN) or waits (PENDING), or None."""
        return line_in(self.latest(fresh=fresh), username)

    @property
    def written_at(self) -> float | None:
        """When this app last wrote the logins, as of the latest reading here."""
        return self._latest[1].logins.written_at if self._latest else None

    def records(self, snapshot: Snapshot) -> list[Registration]:
        """A roster snapshot's registrations, parsed once per version (10,000 rows take tens of ms)."""
        parsed = self._parsed
        if parsed is not None and parsed[0] == snapshot.version:
            return parsed[1]
        records = roster_records(snapshot.content)
        self._parsed = (snapshot.version, records)
        return records


def ended_in(records, username: str) -> bool:
    """Whether this user's row is one the event's end took the login of (a record now)."""
    return any(r.username == username and r.ended for r in records)


def line_in(reading: Reading, username: str) -> tuple[bytes, ledger.Line] | None:
    """The user's htpasswd line in a reading and whether it is written or waits in its row, or None."""
    line = htpasswd.entries(reading.logins.content).get(username)
    for record in reading.records:
        if record.username == username:
            if record.ended:
                return None  # the event's end took this login away
            if record.pending_login and line is None:
                return record.pending_login.encode(), ledger.Line.PENDING
            return (line, ledger.Line.WRITTEN) if line is not None else None
    return None


def roster_records(content: bytes) -> list[Registration]:
    """The registrations in a stored roster; an unreadable roster makes the store unavailable."""
    try:
        return roster.parse_stored(content)
    except RosterError as error:
        raise StoreUnavailable(f"the stored roster cannot be read ({error}); fix or restore it") from error
