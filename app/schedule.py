"""When registration is open: REGISTRATION_OPEN, the schedule and the instructor's switch; and when the
event ends: EVENT_ENDS_AT or the instructor's "end now", whichever comes first (pure).

The schedule (REGISTRATION_OPENS_AT, REGISTRATION_CLOSES_AT) and the switch are events in time; the
latest one that has happened decides. So an instructor may open early or close early, the schedule still
closes at its time afterwards, and reopening after that keeps it open. Before anything has happened,
registration is closed until REGISTRATION_OPENS_AT when one is set, else REGISTRATION_OPEN decides.
Once the event has ended, registration is closed for good: nothing reopens it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class Schedule:
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    ends_at: datetime | None = None

    def ended(self, now: datetime, ended_at: datetime | None = None) -> datetime | None:
        """When the event ended, if it has by `now`: the instructor's end (`ended_at`) or EVENT_ENDS_AT,
        the earlier one. The instructor's counts whatever this replica's clock says (it was written by one)."""
        found = [at for at in (ended_at, self.ends_at if self.ends_at and self.ends_at <= now else None) if at]
        return min(found) if found else None

    def window(self, now: datetime, default: bool, switched: tuple[bool, datetime] | None = None,
               ended_at: datetime | None = None) -> Window:
        """Whether registration is open at `now`, and, while closed before the opening, when it opens."""
        ended = self.ended(now, ended_at)
        if ended is not None:
            return Window(False, ended=ended)
        events = [(at, value) for at, value in ((self.opens_at, True), (self.closes_at, False))
                  if at is not None and at <= now]
        if switched is not None:
            events.append((switched[1], switched[0]))
        is_open = max(events, key=lambda event: event[0])[1] if events else (
            default if self.opens_at is None else False)
        upcoming = self.opens_at if self.opens_at is not None and now < self.opens_at else None
        return Window(is_open, None if is_open else upcoming)

    def describe(self) -> str | None:
        """The schedule in one line for the instructor, or None without one."""
        parts = [f"{word} {moment(at)}" for word, at in (("opens", self.opens_at), ("closes", self.closes_at),
                                                         ("the event ends", self.ends_at)) if at]
        return "scheduled: " + ", ".join(parts) if parts else None


@dataclasses.dataclass(frozen=True)
class Window:
    open: bool
    opens_at: datetime | None = None  # closed because the scheduled opening is still ahead
    ended: datetime | None = None  # closed because the event ended then


def moment(at: datetime) -> str:
    """A time as written in the setting's own zone, with that zone: `2026-12-01 09:00 (UTC+01:00)`."""
    offset = at.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{at:%Y-%m-%d %H:%M} ({zone})"
