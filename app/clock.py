"""The time, as every background worker reads it: one object, injected, so tests move it by hand."""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    """Epoch seconds (`now`), a monotonic reading for intervals, UTC to the second (`utc`), and a pause."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc).replace(microsecond=0)


SYSTEM = Clock()
