"""The files in DATA_DIR that instructors fetch with `oc rsync`: users.csv, and the htpasswd mirror.

users.csv lists every registration (its login written yet or still pending) and every seat, without any
hash or nonce. Locally the truth is in DATA_DIR itself, so `LocalMirror` renders users.csv from the files
under their lock. In cluster mode `ClusterMirror` also writes DATA_DIR/htpasswd, a copy of the Secret;
several worker processes write the mirror, each from the state it happens to hold, so a write from an
older pair of resourceVersions is skipped (the refresher corrects anything within REFRESH_INTERVAL anyway).
"""

from __future__ import annotations

import json
from pathlib import Path

import filelock

from app import files, ledger, roster
from app.documents import Document, Snapshot
from app.roster import Registration


def users_csv(logins: bytes, records: list[Registration]) -> bytes:
    """users.csv: every registration, its login written yet or not (never a hash)."""
    return roster.render(record for record, _ in ledger.registered(logins, records)).encode()


class LocalMirror:
    """users.csv rendered from the local documents, which live in the same folder."""

    def __init__(self, data_dir: Path, lock: filelock.FileLock, logins: Document, roster_document: Document):
        self.path = data_dir / "users.csv"
        self.lock = lock
        self.logins = logins
        self.roster = roster_document

    def show(self, logins: Snapshot, roster_snapshot: Snapshot, records: list[Registration]) -> None:
        # Another process may have written since this state was read: render what the files hold now.
        with self.lock:
            current = self.logins.read().content
            rows = roster.parse_stored(self.roster.read().content)
            files.write_if_changed(self.path, users_csv(current, rows), self.lock)


class ClusterMirror:
    """DATA_DIR/htpasswd and users.csv from the Secrets, never replaced by an older state."""

    def __init__(self, data_dir: Path, lock: filelock.FileLock):
        self.data_dir = data_dir
        self.lock = lock
        self.marker = files.runtime_dir(data_dir) / "mirror.json"

    def show(self, logins: Snapshot, roster_snapshot: Snapshot, records: list[Registration]) -> None:
        with self.lock:
            if not self._newer(logins.version, roster_snapshot.version):
                return
            files.write_if_changed(self.data_dir / "htpasswd", logins.content, self.lock)
            files.write_if_changed(self.data_dir / "users.csv", users_csv(logins.content, records), self.lock)

    def _newer(self, logins_version: str, roster_version: str) -> bool:
        try:
            current = json.loads(self.marker.read_text())
            older = int(logins_version) < int(current["logins"]) or int(roster_version) < int(current["roster"])
        except (OSError, ValueError, KeyError, TypeError):
            older = False  # no marker yet, or versions that are not numbers: write, the refresher heals
        if older:
            return False
        files.write_atomic(self.marker, json.dumps({"logins": logins_version, "roster": roster_version}).encode())
        return True
