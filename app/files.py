"""The data files: the only module that writes to DATA_DIR.

Every write holds a cross-process lock (gunicorn runs several workers) and replaces the file atomically:
a temporary file in the same folder, fsync, rename, fsync of the folder. A crash leaves the old file or
the new one, never a torn one. `FileDocument` adds compare-and-swap on top (the version is the content's
SHA-256): the app.documents interface, which Kubernetes Secrets implement too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import filelock

from app.documents import Snapshot
from app.errors import Conflict, StoreUnavailable

RUNTIME = ".runtime"  # lock files and the rate-limit counters; not attendee data


def runtime_dir(data_dir: Path) -> Path:
    """The folder for locks and counters shared by a pod's worker processes."""
    path = data_dir / RUNTIME
    path.mkdir(parents=True, exist_ok=True)
    return path


_locks: dict[str, filelock.FileLock] = {}
_locks_guard = threading.Lock()


def lock_for(data_dir: Path) -> filelock.FileLock:
    """The one lock that every writer of DATA_DIR holds.

    One object per file in a process: a FileLock is re-entrant within a thread only through the same
    object, and code holding it may call code that takes it again. (Each gunicorn worker builds its app
    itself, so no lock object crosses a fork.)
    """
    path = str((runtime_dir(data_dir) / "files.lock").resolve())
    with _locks_guard:
        if path not in _locks:
            # Writes hold it for milliseconds: poll often, not every 50 ms (filelock's default).
            _locks[path] = filelock.FileLock(path, timeout=30, poll_interval=0.002)
        return _locks[path]


def write_atomic(path: Path, content: bytes) -> None:
    """Replace path's content in one step; the caller holds the lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o640)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_bytes(path: Path) -> bytes:
    """A file's content; a missing file reads as empty."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def write_if_changed(path: Path, content: bytes, lock: filelock.FileLock) -> bool:
    """Atomically write content unless the file already holds it; True when written."""
    with lock:
        if path.exists() and read_bytes(path) == content:
            return False
        write_atomic(path, content)
        return True


def remove_stale_temporaries(data_dir: Path, lock: filelock.FileLock) -> int:
    """Delete temporary files a crashed writer left behind (no writer holds the lock meanwhile)."""
    removed = 0
    with lock:
        for temp in data_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed += 1
    return removed


def is_writable(folder: Path) -> str | None:
    """None when a file can be created in folder, else the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe."):
            pass
    except OSError as error:
        return f"{folder} is not writable: {error.strerror}"
    return None


class Notices:
    """What a pod says once in its log, whichever of its worker processes notices first: the state last said
    about each topic is kept in DATA_DIR/.runtime, per gunicorn master (a restarted container says it
    again), and only a change is said again."""

    def __init__(self, data_dir: Path):
        self.folder = runtime_dir(data_dir)
        self.lock = lock_for(data_dir)

    def change(self, topic: str, state: str, usual: str = "") -> str | None:
        """Record `state` for `topic`; the state said before it when this call changed it, else None.
        Nothing said before counts as the `usual` state (and nothing is recorded for it)."""
        marker = self.folder / f"notice-{topic}-{os.getppid()}"
        if (read_bytes(marker).decode(errors="replace") or usual) == state:
            return None  # the common case, without the lock
        with self.lock:
            before = read_bytes(marker).decode(errors="replace") or usual
            if before == state:
                return None
            write_atomic(marker, state.encode())
            return before


class FileDocument:
    """One file in DATA_DIR as a versioned document (local mode's source of truth).

    Files keep no notes: they serve one machine, where no OAuth rollout needs coordinating.
    """

    def __init__(self, path: Path, lock: filelock.FileLock):
        self.path = path
        self.lock = lock
        self.label = path.name

    def read(self) -> Snapshot:
        """The file's content and version (no lock needed: files are only ever replaced whole)."""
        try:
            with open(self.path, "rb") as handle:
                content = handle.read()
                written_at = os.fstat(handle.fileno()).st_mtime if content else None
        except FileNotFoundError:
            content, written_at = b"", None
        except OSError as error:
            raise StoreUnavailable(f"cannot read {self.path}: {error}") from error
        return Snapshot(content, _version(content), written_at)

    def version(self) -> str:
        """The file's version now."""
        try:
            return _version(read_bytes(self.path))
        except OSError as error:
            raise StoreUnavailable(f"cannot read {self.path}: {error}") from error

    def write(self, base: Snapshot, content: bytes, notes: Mapping[str, str] | None = None) -> Snapshot:
        """Replace the content if the file is still as `base` read it; raise Conflict otherwise."""
        try:
            with self.lock:
                if _version(read_bytes(self.path)) != base.version:
                    raise Conflict(f"{self.label} changed since it was read")
                write_atomic(self.path, content)
        except (OSError, filelock.Timeout) as error:
            raise StoreUnavailable(f"cannot write {self.path}: {error}") from error
        return Snapshot(content, _version(content), time.time())


def _version(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
