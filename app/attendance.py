"""The attendance an instructor keeps after the event (pure): who registered when, from when their login
worked, who really logged in (first and last time, seen in BasicAuth mode: OpenShift asks the app), and
when the event ended. CSV like users.csv (RFC 4180, UTC times, formula cells neutralised), one row per
account, unclaimed seats marked as such.

"Login works from" is when the attendee could log in: in BasicAuth mode (and with local files) when they
registered or claimed their seat; in HTPasswd mode when the OAuth server had rolled out the first write
of the logins after that (the batches of the chart: to the second it was seen, not to the login) — empty
while it was never written. Logins are seen only in BasicAuth mode; in HTPasswd mode the OAuth server
checks the passwords itself and the app never hears of a login.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from app import ledger, roster
from app.activation import Batch
from app.roster import Registration

HEADER = ("username", "full_name", "email", "seat", "joined_at", "login_works_from", "first_login", "last_login",
          "event_ended_at")


def rows(registered: Sequence[tuple[Registration, ledger.Line]], batches: Sequence[Batch], instant: bool,
         seen: Mapping[str, tuple[float, float]], ended_at: datetime | None) -> list[list[str]]:
    """One row per account, in the order they joined."""
    written = sorted(batches, key=lambda b: b.written)
    starts = [b.written for b in written]
    found = []
    for record, line in sorted(registered, key=lambda item: _joined(item[0])):
        joined = _joined(record)
        works = joined if instant else _served(record, line, written, starts)
        if works is not None and works < joined:
            works = joined  # a seat's login worked before it was claimed: the attendee had it from the claim
        first, last = seen.get(record.username, (None, None))
        found.append([record.username, record.full_name, record.email,
                      ("unclaimed" if record.unclaimed else "claimed") if record.seat else "",
                      "" if record.unclaimed else _time(joined), _time(works), _epoch(first), _epoch(last),
                      _time(ended_at)])
    return found


def csv_text(registered, batches, instant: bool, seen, ended_at: datetime | None) -> str:
    return roster.render_rows(HEADER, rows(registered, batches, instant, seen, ended_at))


def _served(record: Registration, line: ledger.Line, written: Sequence[Batch], starts: list[float]) -> datetime | None:
    """When the rollout of the first write after the row's registration completed; None when not known."""
    if line == ledger.Line.PENDING:
        return None
    at = bisect.bisect_left(starts, record.registered_at.timestamp())
    return datetime.fromtimestamp(written[at].active, timezone.utc) if at < len(written) else None


def _joined(record: Registration) -> datetime:
    return record.claimed_at or record.registered_at


def _time(moment: datetime | None) -> str:
    return roster.format_time(moment) if moment else ""


def _epoch(value: float | None) -> str:
    return roster.format_epoch(value) if value else ""
