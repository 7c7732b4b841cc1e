"""When registration is open: the schedule and the instructor's switch, the latest event deciding."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from app import clock as app_clock
from app import roster
from app.errors import FORM, RegistrationClosed
from app.eventstate import EventState
from app.ledger import Limits
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.schedule import Schedule, Window, moment
from app.service import RegistrationService
from app.settings import Settings
from app.store import make_store
from tests.fakes import MemoryDocument
from tests.helpers import FAST_ROUNDS, GOOD, person

ZONE = timezone(timedelta(hours=1))
OPENS, CLOSES = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE), datetime(2026, 12, 1, 12, 0, tzinfo=ZONE)
BEFORE, DURING, AFTER = OPENS - timedelta(hours=1), OPENS + timedelta(hours=1), CLOSES + timedelta(hours=1)


@pytest.mark.parametrize("schedule, now, default, switched, expected", [
    (Schedule(), DURING, True, None, Window(True)),
    (Schedule(), DURING, False, None, Window(False)),
    (Schedule(OPENS, CLOSES), BEFORE, True, None, Window(False, OPENS)),
    (Schedule(OPENS, CLOSES), OPENS, False, None, Window(True)),  # opens on the minute, whatever the default
    (Schedule(OPENS, CLOSES), DURING, True, None, Window(True)),
    (Schedule(OPENS, CLOSES), CLOSES, True, None, Window(False)),
    (Schedule(OPENS, CLOSES), AFTER, True, None, Window(False)),
    (Schedule(None, CLOSES), DURING, True, None, Window(True)),
    (Schedule(None, CLOSES), AFTER, True, None, Window(False)),
    # The instructor opens early: open; the schedule still closes at its time.
    (Schedule(OPENS, CLOSES), BEFORE, True, (True, BEFORE - timedelta(minutes=5)), Window(True)),
    (Schedule(OPENS, CLOSES), AFTER, True, (True, BEFORE - timedelta(minutes=5)), Window(False)),
    # Closed early by the instructor, reopened after the scheduled close.
    (Schedule(OPENS, CLOSES), DURING, True, (False, OPENS + timedelta(minutes=30)), Window(False)),
    (Schedule(OPENS, CLOSES), AFTER, True, (True, CLOSES + timedelta(minutes=5)), Window(True)),
    # Closed by the instructor before the opening: still closed, and the opening is still announced.
    (Schedule(OPENS, CLOSES), BEFORE, True, (False, BEFORE - timedelta(minutes=5)), Window(False, OPENS)),
])
def test_the_latest_event_decides(schedule, now, default, switched, expected):
    assert schedule.window(now, default, switched) == expected


def test_times_are_shown_in_the_settings_zone():
    assert moment(OPENS) == "2026-12-01 09:00 (UTC+01:00)"
    assert moment(OPENS.astimezone(timezone.utc)) == "2026-12-01 08:00 (UTC)"
    assert Schedule(OPENS, CLOSES).describe() == ("scheduled: opens 2026-12-01 09:00 (UTC+01:00), "
                                                  "closes 2026-12-01 12:00 (UTC+01:00)")
    assert Schedule().describe() is None


class Clock(app_clock.Clock):
    """The event's time, moved by hand (its monotonic reading stays the machine's)."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> float:
        return self.at.timestamp()

    def utc(self) -> datetime:
        return self.at


def test_the_service_opens_and_closes_with_the_clock_and_the_switch_still_overrides(tmp_path, start):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None,
                        registration_opens_at=OPENS, registration_closes_at=CLOSES)
    clock = Clock(BEFORE)
    store = dataclasses.replace(make_store(settings), state=EventState(
        MemoryDocument(), settings.registration_open, max_age=0, schedule=settings.schedule, clock=clock))
    service = RegistrationService(settings, store, start(Reserver(store.documents, Limits(), timeout=5)),
                                  ClientLimiter(None, tmp_path / "c.sqlite3"))

    with pytest.raises(RegistrationClosed) as early:
        service.register(GOOD, "1.2.3.4")
    assert early.value.errors[FORM] == "Registration opens at 2026-12-01 09:00 (UTC+01:00). Please come back then."
    clock.at = OPENS
    assert service.register(GOOD, "1.2.3.4").username == "alice"
    clock.at = CLOSES
    with pytest.raises(RegistrationClosed) as late:
        service.register(person(2), "1.2.3.4")
    assert "Registration is closed" in late.value.errors[FORM]

    clock.at = CLOSES + timedelta(minutes=5)
    store.state.set_open(True)  # the instructor reopens for a latecomer
    assert service.closure() is None and service.register(person(2), "1.2.3.4").username == "attendee-2"
    assert roster.parse_time(json.loads(store.state.document.content)["changed_at"]) == clock.at
