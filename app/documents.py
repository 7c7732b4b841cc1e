"""The document interface that both storage adapters implement: files (app.files) and Secrets (app.cluster).

A document is one versioned blob: `read()` gives a `Snapshot`, `write(base, content)` replaces the content
only if the document is still at `base`'s version, else raises Conflict. That compare-and-swap is all
the commit algorithm needs, so the same code serves local files and Kubernetes Secrets.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from app.errors import Conflict, StoreUnavailable

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
