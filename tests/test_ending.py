"""The event's end on local files and over our own documents, with an injected clock: EVENT_ENDS_AT and the
instructor's end, what is refused, what is kept (records, lines the app did not add), the BasicAuth
remote, the tokens' revocation until the end is served, and the attendance. On the real API server, with
two replicas, the Group and the tokens: tests/test_cluster_ending.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import tempfile
import threading
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import activation, attendance, ending, htpasswd, ledger, roster, seats
from app.__main__ import main
from app.activation import Batch
from app.admin import EventOver, SeatsRefused
from app.attendeegroup import GroupSync
from app.basicauth import PROBE_SECONDS, Remote
from app.documents import Documents
from app.errors import EventEnded, PermissionDenied
from app.eventstate import EventState
from app.factory import create_app
from app.handover import make_handover
from app.loginguard import LoginGuard
from app.loginlog import LoginLog
from app.oauthwatch import OAuthWatch
from app.publisher import Policy, Publisher
from app.rollout import Pace
from app.roster import Registration
from app.runtime import Runtime, runtime_of
from app.schedule import Schedule
from app.settings import Settings
from app.store import make_store
from tests.fakes import FakeClock, MemoryDocument, RecordingMirror, ScriptedOAuth
from tests.helpers import API, FAST_ROUNDS, GOOD, instructor, person, published, wait_until

FOREIGN = b"# lines by hand\r\nteacher:{SHA}x\r\nTrainer:$apr1$y$z\n"  # kept byte for byte, CRLF and all


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0)


@pytest.fixture
def event(tmp_path):
    """An app on local files whose clock the test moves; the event ends by itself in an hour."""
    clock = FakeClock()
    data = tmp_path / "data"
    data.mkdir()
    (data / "htpasswd").write_bytes(FOREIGN)
    settings = Settings(data_dir=data, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, refresh_interval=0.2,
                        event_ends_at=utc(clock.at + 3600), seats=True)
    app = create_app(settings, clock)
    runtime = runtime_of(app.server)
    runtime.start()
    yield types.SimpleNamespace(app=app, client=app.server.test_client(), clock=clock, data=data, settings=settings)
    runtime.stop()


def test_at_event_ends_at_logins_leave_in_one_write_foreign_lines_stay_and_records_are_kept(event):
    for i in range(3):
        assert event.client.post(API, json=person(i)).status_code == 201
    published(event.data, "attendee-0", "attendee-1", "attendee-2")
    assert event.client.get("/_dash-layout").get_data(as_text=True).count("This event has ended") == 0

    event.clock.at += 3600  # EVENT_ENDS_AT: nobody did anything
    refused = event.client.post(API, json=person(9))
    assert refused.status_code == 410 and "This event has ended" in refused.get_json()["errors"]["form"]
    back = event.client.post("/api/v1/sign-ins", json={"username": "attendee-0", "password": GOOD["password"]})
    assert back.status_code == 410  # signing back in: the login would not work anyway
    assert event.client.post("/api/v1/claims", json={"email": "x@example.com"}).status_code == 410
    page = event.client.get("/_dash-layout").get_data(as_text=True)
    assert "This event has ended" in page and "It ended at" in page

    wait_until(lambda: (event.data / "htpasswd").read_bytes() == FOREIGN)  # the app's loop, on its own
    users = roster.parse((event.data / "users.csv").read_text())
    assert [u.username for u in users] == ["attendee-0", "attendee-1", "attendee-2"]  # the records stay
    stored = roster.parse_store((event.data / "registrations.csv").read_text())
    assert all(r.ended and not r.pending_login for r in stored)
    service = instructor(make_store(event.settings, event.clock))
    overview = service.overview()
    assert overview.ended_at == event.settings.event_ends_at
    assert set(overview.attendee_logins().values()) == {activation.ENDED}


def test_a_login_pending_at_the_end_is_never_written_and_a_row_stored_after_it_is_ended_too(tmp_path):
    clock = FakeClock()
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)
    store = make_store(settings, clock)
    handover = make_handover(store, Runtime(clock), provision=False)
    waiting = Registration("bob", "Bob", "bob@example.com", utc(clock.at),
                           pending_login=htpasswd.make_entry("bob", "pw", 4).decode())
    store.documents.roster.write(store.documents.roster.read(), roster.render_store([waiting]).encode())
    end = ending.EndOfEvent(store, handover, clock)
    assert end.step() > 0 and store.state.ended_at() is None  # nothing ended: nothing done

    at = store.state.end()
    end.step()
    handover.publish()  # a publisher that looks now writes nothing
    assert htpasswd.entries(store.documents.read().logins.content) == {}
    (bob,) = store.documents.latest().records
    assert bob.ended and bob.pending_login == "" and at == store.state.ended_at()
    assert ledger.pending(b"", [bob]) == [] and ledger.plan_logins(b"", [bob], ledger.Limits()) == b""

    # A registration that passed its checks just before the end and was stored just after it:
    late = Registration("carol", "Carol", "carol@example.com", utc(clock.at))
    line = htpasswd.make_entry("carol", "pw", 4)
    reading = store.documents.read()
    store.documents.roster.write(reading.roster, roster.render_store([bob, late]).encode())
    store.documents.logins.write(store.documents.read().logins, line + b"\n")
    end.step()
    reading = store.documents.read()
    assert htpasswd.entries(reading.logins.content) == {}
    assert [(r.username, r.ended) for r in reading.records] == [("bob", True), ("carol", True)]
    assert ledger.normalise(reading.logins.content, reading.records) == reading.records  # kept, as records


def test_the_instructors_end_asks_first_then_ends_for_good(tmp_path, capsys):
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)
    store = make_store(settings)
    service = instructor(store)
    service.create_seats(2, "user", 1)
    service.handover.publish()
    before = (settings.data_dir / "htpasswd").read_bytes()
    assert set(htpasswd.entries(before)) == {"user1", "user2"}

    assert main(["end"], settings) == 2
    said = capsys.readouterr().err
    assert "take 2 attendees' logins out of htpasswd in one write" in said and "--yes" in said
    assert (settings.data_dir / "htpasswd").read_bytes() == before and store.state.ended_at() is None

    assert main(["end", "--yes"], settings) == 0
    assert (settings.data_dir / "htpasswd").read_bytes() == b""
    assert store.state.ended_at() is not None
    first = store.state.ended_at()
    store.state.set_open(True)  # nothing reopens an ended event
    assert not store.state.is_open() and store.state.window().ended == first
    assert main(["end", "--yes"], settings) == 0  # a second end changes nothing
    assert store.state.ended_at() == first
    assert "nothing is left to do" in capsys.readouterr().err
    assert main(["status"], settings) == 0
    assert "the event ended at" in capsys.readouterr().out
    assert main(["list"], settings) == 0
    listed = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in listed] == ["user1", "user2"] and all(" ended " in line for line in listed)


def test_the_schedule_and_the_settings_of_the_end():
    now = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
    schedule = Schedule(opens_at=now - timedelta(hours=8), closes_at=now - timedelta(hours=1), ends_at=now)
    assert schedule.ended(now - timedelta(seconds=1)) is None and schedule.ended(now) == now
    early = now - timedelta(hours=2)
    assert schedule.ended(now - timedelta(hours=3), ended_at=early) == early  # the instructor's, whatever the clock
    assert schedule.window(now, True, (True, now + timedelta(hours=1))).open is False
    assert "the event ends 2026-12-01 17:00 (UTC)" in schedule.describe()
    with pytest.raises(Exception, match="EVENT_ENDS_AT must be later"):
        Settings.from_env({"REGISTRATION_CLOSES_AT": "2026-12-01T18:00Z", "EVENT_ENDS_AT": "2026-12-01T17:00Z"})
    with pytest.raises(Exception, match="ATTENDEE_GROUP must be a Group name"):
        Settings.from_env({"ATTENDEE_GROUP": "room/../admins"})
    assert Settings.from_env({"EVENT_ENDS_AT": "2026-12-01T18:00+01:00"}).event_ends_at == now


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Replica:
    """One replica's BasicAuth remote and end, over documents it shares with the others."""

    def __init__(self, logins, roster_doc, state_doc, clock, ends_at=None):
        self.documents = Documents(logins, roster_doc, RecordingMirror(), max_age=math.inf, clock=clock)
        self.state = EventState(state_doc, True, max_age=math.inf, schedule=Schedule(ends_at=ends_at), clock=clock)
        self.remote = Remote(self.documents, LoginGuard(clock), LoginLog(self.state, clock),
                             threading.BoundedSemaphore(2), clock, ended=self.state.ended_at)
        settings = Settings(refresh_interval=1.0)
        store = types.SimpleNamespace(documents=self.documents, state=self.state, settings=settings)
        self.end = ending.EndOfEvent(store, types.SimpleNamespace(notes=dict), clock)

    def login(self, username: str, password: str) -> int:
        return self.remote.answer(basic(username, password), True).status


def test_the_basicauth_remote_refuses_at_the_end_on_every_replica_even_a_login_it_remembers():
    clock = FakeClock()
    logins, roster_doc, state_doc = MemoryDocument(), MemoryDocument(), MemoryDocument()
    line = htpasswd.make_entry("alice", GOOD["password"], 4)
    roster_doc.external_write(roster.render_store([Registration("alice", "Alice", "a@example.com",
                                                                utc(clock.at))]).encode())
    logins.external_write(line + b"\n")
    a, b = (Replica(logins, roster_doc, state_doc, clock, ends_at=utc(clock.at + 3600)) for _ in range(2))
    for replica in (a, b):
        replica.documents.read()
        assert replica.login("alice", GOOD["password"]) == 200  # accepted, then remembered
        assert replica.login("alice", GOOD["password"]) == 200

    a.state.end()  # the instructor ends it on replica a ...
    a.end.step()
    clock.at += PROBE_SECONDS  # ... and b, which has not re-read anything, looks at the versions at its next login
    assert b.login("alice", GOOD["password"]) == 401
    assert a.login("alice", GOOD["password"]) == 401

    other = Replica(MemoryDocument(), MemoryDocument(), MemoryDocument(), clock, ends_at=utc(clock.at + 60))
    other.documents.logins.external_write(line + b"\n")
    other.documents.roster.external_write(roster.render_store([Registration("alice", "Alice", "a@example.com",
                                                                            utc(clock.at))]).encode())
    other.documents.read()
    assert other.login("alice", GOOD["password"]) == 200
    clock.at += 60  # EVENT_ENDS_AT: refused at once, before any row is marked or line removed
    assert other.login("alice", GOOD["password"]) == 401
    assert not other.documents.latest().records[0].ended


class Tokens:
    """Our own adapter's fake: which names each pass revoked, or no right at all."""

    def __init__(self, allowed: bool = True):
        self.passes: list[set[str]] = []
        self.allowed_ = allowed

    def revoke(self, usernames: set[str]) -> int:
        if not self.allowed_:
            raise PermissionDenied("the service account may not list oauthaccesstokens")
        self.passes.append(set(usernames))
        return len(usernames)


def test_tokens_are_revoked_again_until_the_end_is_served_then_no_more(tmp_path, caplog):
    clock = FakeClock()
    state = EventState(MemoryDocument(), True, max_age=0, clock=clock)
    handover = types.SimpleNamespace(served=lambda: served)
    tokens = Tokens()
    revoker = ending.TokenRevoker(state, handover, tokens, clock)
    served = False
    state.revoke_tokens({"alice", "bob"})
    for _ in range(3):  # the OAuth server's old pods still accept the removed lines and issue tokens
        assert ending.REVOKE_EVERY <= revoker.step() <= ending.REVOKE_EVERY + 5
        clock.at += ending.REVOKE_EVERY
    assert tokens.passes == [{"alice", "bob"}] * 3 and set(state.revoking()) == {"alice", "bob"}
    served = True
    revoker.step()
    assert state.revoking() == {}  # a pass begun once the end was served: nothing can issue a token since
    revoker.step()
    assert len(tokens.passes) == 4

    state.revoke_tokens({"carol"})
    revoker.step()  # served, but queued just now: a login accepted a moment ago may still get its token
    assert set(state.revoking()) == {"carol"}
    clock.at += ending.SETTLE_SECONDS
    revoker.step()
    assert state.revoking() == {}

    denied = ending.TokenRevoker(state, handover, Tokens(allowed=False), clock)
    state.revoke_tokens({"dave"})
    denied.step()
    assert state.revoking() == {} and "tokens_not_revoked" in caplog.text  # the commands are printed instead


def test_the_attendance_says_who_could_log_in_when_and_is_safe_in_a_spreadsheet():
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    alice = Registration("alice", "=HYPERLINK(\"http://x\")", "alice@example.com", t0)
    bob = Registration("bob", "Bob", "bob@example.com", t0 + timedelta(minutes=5))
    seat = Registration("user1", "", "", t0 - timedelta(hours=1), seat=True)
    claimed = dataclasses.replace(Registration("user2", "Carol", "carol@example.com", t0 - timedelta(hours=1),
                                               seat=True), claimed_at=t0 + timedelta(minutes=20))
    waiting = Registration("dan", "Dan", "dan@example.com", t0 + timedelta(minutes=30))
    lines = ledger.Line
    registered = [(alice, lines.ENDED), (bob, lines.WRITTEN), (seat, lines.WRITTEN), (claimed, lines.WRITTEN),
                  (waiting, lines.PENDING)]
    batches = [Batch((t0 - timedelta(minutes=59)).timestamp(), (t0 - timedelta(minutes=57)).timestamp(), 2),
               Batch((t0 + timedelta(seconds=3)).timestamp(), (t0 + timedelta(minutes=2)).timestamp(), 1),
               Batch((t0 + timedelta(minutes=5, seconds=1)).timestamp(), (t0 + timedelta(minutes=7)).timestamp(), 1)]
    seen = {"alice": ((t0 + timedelta(minutes=3)).timestamp(), (t0 + timedelta(hours=2)).timestamp())}
    ended = t0 + timedelta(hours=8)
    text = attendance.csv_text(registered, batches, False, seen, ended)
    rows = [line.split(",") for line in text.strip().split("\r\n")]
    assert tuple(rows[0]) == attendance.HEADER
    by_name = {row[0]: dict(zip(attendance.HEADER, row, strict=True)) for row in rows[1:]}
    assert by_name["user1"]["seat"] == "unclaimed" and by_name["user1"]["joined_at"] == ""
    assert by_name["alice"]["login_works_from"] == "2026-12-01T09:02:00Z"  # the rollout of the write after her
    assert by_name["alice"]["first_login"] == "2026-12-01T09:03:00Z" and by_name["alice"]["event_ended_at"] == \
        "2026-12-01T17:00:00Z"
    assert by_name["bob"]["login_works_from"] == "2026-12-01T09:07:00Z"
    assert by_name["user2"]["login_works_from"] == "2026-12-01T09:20:00Z"  # from the claim: it worked before
    assert by_name["dan"]["login_works_from"] == ""  # never written
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text  # a formula stays text
    instant = attendance.rows(registered, batches, True, seen, None)
    assert [row[5] for row in instant][:2] == ["2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z"]  # from registering
    assert json.dumps(instant)  # plain strings


def test_a_publisher_that_read_the_roster_before_the_end_and_the_logins_after_it_writes_nothing():
    """The race: a publisher reads the roster (a login pending), the end marks it and takes the lines out,
    then the publisher reads the logins — without looking again it would write the line back after the end."""
    clock = FakeClock()
    logins, roster_doc = MemoryDocument(), MemoryDocument()
    documents = Documents(logins, roster_doc, RecordingMirror(), max_age=0, clock=clock)
    waiting = Registration("bob", "Bob", "bob@example.com", utc(clock.at - 60),
                           pending_login=htpasswd.make_entry("bob", "pw", 4).decode())
    roster_doc.external_write(roster.render_store([waiting]).encode())
    pace = Pace(grace=0.0, unseen_interval=0.0)
    publisher = Publisher(documents, OAuthWatch(ScriptedOAuth(), pace, clock), Policy(pace, ledger.Limits()), clock)
    reads = []

    def end_meanwhile(_document):  # between the publisher's read of the roster and of the logins
        reads.append(1)
        if len(reads) == 2:
            ended = dataclasses.replace(waiting, pending_login="", ended=True)
            roster_doc.external_write(roster.render_store([ended]).encode())
    logins.before_read = end_meanwhile
    publisher.step()
    publisher.step()
    assert len(reads) >= 2 and logins.writes == 0 and logins.content == b""


def test_the_end_keeps_someone_elses_line_for_a_name_and_counts_exact_names():
    clock = FakeClock()
    settings = Settings(data_dir=Path(tempfile.mkdtemp()) / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)
    store = make_store(settings, clock)
    handover = make_handover(store, Runtime(clock), provision=False)
    ours = htpasswd.make_entry("alice", "pw", 4)
    clobbered = Registration("bob", "Bob", "bob@example.com", utc(clock.at),
                             pending_login=htpasswd.make_entry("bob", "pw", 4).decode())  # someone's bob: came first
    logins = ours + b"\nbob:{SHA}someone-elses\nAlice:{SHA}another-user\n"
    store.documents.logins.write(store.documents.logins.read(), logins)
    store.documents.roster.write(store.documents.roster.read(), roster.render_store(
        [Registration("alice", "Alice", "a@example.com", utc(clock.at)), clobbered]).encode())
    end = ending.EndOfEvent(store, handover, clock)
    plan = end.plan()
    assert (plan.lines, plan.foreign) == (1, 2)  # alice's goes; someone's bob and Alice stay
    end.carry_out(store.state.end())
    assert store.documents.read().logins.content == b"bob:{SHA}someone-elses\nAlice:{SHA}another-user\n"
    assert [(r.username, r.ended) for r in store.documents.latest().records] == [("alice", True)]


def test_after_the_end_no_seat_is_claimed_reset_or_released_even_by_a_replica_that_has_not_heard(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None, seats=True)
    service = instructor(make_store(settings))
    service.create_seats(2, "user", 1)
    service.end_event()
    records = service.documents.read().records
    assert all(r.ended and not r.seat_nonce for r in records)  # no seat's password can be derived again
    plan = seats.plan_claims(records, [seats.Claim("late@example.com", roster.now(), "10.0.0.1")],
                             ledger.AGAIN_WINDOW)
    assert isinstance(plan.refused[0], EventEnded) and not plan.claimed  # a stale replica's claim, refused
    with pytest.raises(EventOver):
        service.reset_password("user1")
    with pytest.raises(EventOver):
        service.release_seats(["user2"])
    with pytest.raises(SeatsRefused, match="This event has ended"):
        service.create_seats(1, "user", 3)


class Group:
    """Our own Group adapter's fake: its members, and every write."""

    name = "workshop-attendees"

    def __init__(self):
        self.users: set[str] = set()
        self.writes: list[set[str]] = []

    def members(self) -> set[str]:
        return set(self.users)

    def set_members(self, names) -> bool:
        names = names() if callable(names) else names
        if names == self.users:
            return False
        self.users = set(names)
        self.writes.append(set(names))
        return True


def test_the_group_is_written_only_from_a_fresh_reading_and_is_empty_after_the_end():
    clock = FakeClock()
    logins, roster_doc, state_doc = MemoryDocument(), MemoryDocument(), MemoryDocument()
    rows = [Registration(f"attendee-{i}", "A", f"a{i}@example.com", utc(clock.at)) for i in range(3)]
    roster_doc.external_write(roster.render_store(rows).encode())
    logins.external_write(b"".join(htpasswd.make_entry(r.username, "pw", 4) + b"\n" for r in rows))
    replicas = []
    for _ in range(2):
        documents = Documents(logins, roster_doc, RecordingMirror(), max_age=math.inf, clock=clock)
        documents.read()
        replicas.append((documents, EventState(state_doc, True, max_age=math.inf, clock=clock)))
    group = Group()
    syncs = [GroupSync(types.SimpleNamespace(documents=d, state=s, group=group, settings=Settings()),
                       types.SimpleNamespace(instant=False), clock) for d, s in replicas]
    syncs[0].step()
    assert group.users == {"attendee-0", "attendee-1", "attendee-2"} and len(group.writes) == 1
    syncs[1].step()
    assert len(group.writes) == 1  # equal: no write

    # Replica 0 removes attendee-2; replica 1 still holds its copy from before.
    roster_doc.external_write(roster.render_store(rows[:2]).encode())
    logins.external_write(logins.content.split(b"attendee-2:")[0])
    replicas[0][0].read()
    syncs[0].step()
    assert group.users == {"attendee-0", "attendee-1"}
    syncs[1].step()  # its copy says three members: it reads again before writing, and puts nobody back
    assert group.users == {"attendee-0", "attendee-1"} and len(group.writes) == 2

    # Replica 0 ends the event; replica 1 still holds its copy from before.
    replicas[0][1].end()
    ended = [dataclasses.replace(r, ended=True) for r in rows[:2]]
    roster_doc.external_write(roster.render_store(ended).encode())
    logins.external_write(b"")
    syncs[0].step()
    assert group.users == set()
    for _ in range(3):
        syncs[1].step()
    assert group.users == set() and len(group.writes) == 3
