"""The instructor's open/closed switch, in a document every replica reads (state.json).

When nobody has switched, REGISTRATION_OPEN decides. In cluster mode the refresher re-reads the switch
every REFRESH_INTERVAL, so replicas agree within that; locally the file is read on every question.
"""

from __future__ import annotations

import json
import logging
import time

from app import roster
from app.documents import Document, update

log = logging.getLogger(__name__)


class Switch:
    """Whether attendees may register: the instructor's choice, else the setting."""

    def __init__(self, document: Document, default: bool, max_age: float):
        self.document = document
        self.default = default
        self.max_age = max_age
        self._known: tuple[float, dict] | None = None

    def is_open(self) -> bool:
        """True while registration is open (StoreError when the document cannot be read)."""
        known = self._known
        state = known[1] if known and time.monotonic() - known[0] <= self.max_age else self.refresh()
        return bool(state.get("registration_open", self.default))

    def set(self, value: bool) -> None:
        """Record the instructor's choice where every replica reads it."""
        def change(content: bytes) -> bytes:
            state = _parse(content)
            state.update(registration_open=value, changed_at=roster.format_time(roster.now()))
            return json.dumps(state, sort_keys=True).encode()
        self._remember(_parse(update(self.document, change).content))

    def refresh(self) -> dict:
        """Read the document now."""
        return self._remember(_parse(self.document.read().content))

    def _remember(self, state: dict) -> dict:
        self._known = (time.monotonic(), state)
        return state


def _parse(content: bytes) -> dict:
    try:
        state = json.loads(content or b"{}")
    except ValueError:
        log.error("event=state_unreadable fix='rewrite or delete state.json'")
        return {}
    return state if isinstance(state, dict) else {}
