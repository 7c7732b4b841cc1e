"""Group commit against fake documents: grouping, the write interval, conflicts, faults and deadlines."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from app import htpasswd, ledger, roster
from app.committer import Committer
from app.errors import AlreadyTaken, RegistrationError, ServiceUnavailable, StoreUnavailable
from app.ledger import Limits
from app.roster import Registration
from app.store import Documents
from tests.fakes import MemoryDocument, RecordingMirror

LIMITS = Limits(publish_window=timedelta(seconds=8), reservation_ttl=timedelta(seconds=120))


def candidate(number: int, name: str | None = None) -> Registration:
    username = name or f"user{number}"
    return Registration(username, f"User {number}", f"user{number}@example.com", roster.now(),
                        pending_login=f"{username}:$2y$04$hash{number}")


def make(logins=None, roster_doc=None, interval=0.0, timeout=10.0, mirror=None):
    logins = logins or MemoryDocument()
    roster_doc = roster_doc or MemoryDocument()
    documents = Documents(logins, roster_doc, mirror or RecordingMirror(), max_age=0)
    return Committer(documents, LIMITS, interval=interval, timeout=timeout), logins, roster_doc


def submit_all(committers, candidates, workers=40):
    """Submit each candidate from its own thread, spread over the committers; return outcome per candidate."""
    def one(item):
        number, c = item
        try:
            committers[number % len(committers)].submit(c)
            return "ok"
        except RegistrationError as error:
            return error
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enumerate(candidates)))


def users_in(document: MemoryDocument) -> list[str]:
    return [line.split(b":")[0].decode() for line in document.content.splitlines()]


def test_a_lone_registration_is_published_at_once():
    committer, logins, roster_doc = make(interval=5.0)
    started = time.monotonic()
    committer.submit(candidate(1))
    assert time.monotonic() - started < 0.5  # nothing written recently: no wait
    assert logins.content == b"user1:$2y$04$hash1\n"
    assert roster.parse_store(roster_doc.content.decode())[0].pending_login == ""  # hash tidied away


def test_a_burst_is_published_in_few_writes():
    committer, logins, _ = make(interval=0.5)
    outcomes = submit_all([committer], [candidate(i) for i in range(60)])
    assert outcomes == ["ok"] * 60
    assert sorted(users_in(logins)) == sorted(f"user{i}" for i in range(60))
    assert logins.writes <= 4, logins.writes
    assert committer.stats.logins_writes == logins.writes


def test_processes_sharing_the_documents_publish_for_each_other():
    logins, roster_doc = MemoryDocument(), MemoryDocument()
    committers = [make(logins, roster_doc, interval=0.4)[0] for _ in range(4)]
    outcomes = submit_all(committers, [candidate(i) for i in range(80)], workers=80)
    assert outcomes == ["ok"] * 80
    assert sorted(users_in(logins)) == sorted(f"user{i}" for i in range(80))  # each exactly once
    records = roster.parse_store(roster_doc.content.decode())
    assert sorted(r.username for r in records) == sorted(f"user{i}" for i in range(80))
    assert logins.writes <= 8, logins.writes


def test_the_interval_is_measured_from_the_documents_last_write():
    logins = MemoryDocument(b"existing:x\n")
    logins.written_at = time.time()  # another replica just wrote
    committer, _, _ = make(logins, interval=0.6)
    started = time.monotonic()
    committer.submit(candidate(1))
    assert 0.45 < time.monotonic() - started < 1.5


def test_lines_written_by_others_are_kept_and_conflicts_retried():
    logins = MemoryDocument(b"# by hand\nadmin:{SHA}x\n")
    storm = {"left": 5}

    def meddle(document):
        if storm["left"]:
            storm["left"] -= 1
            document.external_write(document.content + f"hand{storm['left']}:$apr1$x\n".encode())
    logins.before_write = meddle
    committer, _, _ = make(logins)
    committer.submit(candidate(1))
    assert logins.content.startswith(b"# by hand\nadmin:{SHA}x\n")
    assert set(users_in(logins)) >= {"hand4", "hand0", "user1"}
    assert committer.stats.conflicts >= 5


def test_a_name_taken_by_hand_between_reserve_and_publish():
    logins = MemoryDocument()
    logins.before_write = lambda d: d.external_write(b"user1:$apr1$someone-else\n") if not d.content else None
    committer, _, roster_doc = make(logins)
    with pytest.raises(AlreadyTaken):
        committer.submit(candidate(1))
    assert logins.content == b"user1:$apr1$someone-else\n"
    committer.submit(candidate(2))  # the next roster write drops the clobbered row
    assert [r.username for r in roster.parse_store(roster_doc.content.decode())] == ["user2"]


def test_a_write_whose_answer_was_lost_is_not_repeated():
    logins = MemoryDocument()
    logins.apply_then_fail = 1
    committer, _, _ = make(logins)
    committer.submit(candidate(1))
    assert logins.content == b"user1:$2y$04$hash1\n"


def test_store_failures_are_retried_until_it_recovers():
    logins = MemoryDocument()
    logins.read_faults = [StoreUnavailable("API down")] * 3
    logins.write_faults = [StoreUnavailable("API down")] * 2
    committer, _, _ = make(logins, timeout=15)
    committer.submit(candidate(1))
    assert users_in(logins) == ["user1"]
    assert committer.stats.failures >= 5 and committer.stats.last_error is None


def test_a_store_that_stays_down_gives_a_clear_error_by_the_deadline_and_creates_nothing():
    logins = MemoryDocument()
    logins.read_faults = [StoreUnavailable("API down")] * 1000
    committer, _, roster_doc = make(logins, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        committer.submit(candidate(1))
    assert time.monotonic() - started < 4
    assert "try again" in caught.value.errors["form"]
    assert logins.content == b"" and roster_doc.content == b""


def test_a_publish_that_never_lands_fails_by_the_deadline_and_is_not_published_later():
    logins = MemoryDocument()
    logins.write_faults = [StoreUnavailable("API down")] * 1000
    committer, _, roster_doc = make(logins, timeout=1.5)
    with pytest.raises(ServiceUnavailable):
        committer.submit(candidate(1))
    logins.write_faults = []
    late = candidate(2)
    stale = roster.parse_store(roster_doc.content.decode())
    too_late = ledger.plan_logins(b"", stale, roster.now() + timedelta(seconds=9), LIMITS)
    assert too_late == b""  # past the publish window nobody writes the failed attempt's line
    committer.submit(late)
    assert b"user2:" in logins.content


def test_the_same_name_from_two_processes_one_wins():
    logins, roster_doc = MemoryDocument(), MemoryDocument()
    committers = [make(logins, roster_doc)[0] for _ in range(4)]
    attempts = [Registration("alice", "A", f"a{i}@example.com", roster.now(), pending_login=f"alice:$2y$04${i}")
                for i in range(10)]
    outcomes = submit_all(committers, attempts)
    assert outcomes.count("ok") == 1
    assert all(isinstance(o, AlreadyTaken) for o in outcomes if o != "ok")
    assert len(htpasswd.entries(logins.content)) == 1 and logins.content.count(b"\n") == 1


def test_an_internal_error_answers_everyone_and_the_thread_survives(monkeypatch):
    committer, logins, _ = make()
    real = ledger.plan_roster
    calls = {"n": 0}

    def broken_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug")
        return real(*args, **kwargs)
    monkeypatch.setattr(ledger, "plan_roster", broken_once)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        committer.submit(candidate(1))
    assert time.monotonic() - started < 2  # answered at once, not after its deadline
    committer.submit(candidate(2))
    assert users_in(logins) == ["user2"]


def test_the_mirror_is_shown_every_published_state():
    mirror = RecordingMirror()
    committer, logins, _ = make(mirror=mirror)
    committer.submit(candidate(1))
    assert mirror.shown[-1] == logins.content


def test_waiters_are_answered_even_when_the_loop_is_busy():
    committer, logins, _ = make(interval=0.2)
    done = threading.Event()
    threading.Thread(target=lambda: (committer.submit(candidate(1)), done.set())).start()
    assert done.wait(5)


def test_a_row_published_and_tidied_by_another_process_meanwhile_is_never_dropped():
    """Another process publishes X and tidies X's row between this process's reads of the documents.

    Had the logins been read before the roster, X's tidied row (no pending hash) would look like a user
    whose login was removed, and this process's roster write would drop X's record.
    """
    x = candidate(7, "xavier")
    logins = MemoryDocument()
    roster_doc = MemoryDocument(roster.render_store([x]).encode())  # X reserved by the other process
    injected = {"done": False}

    def other_process_publishes_and_tidies(document):
        if injected["done"]:
            return
        injected["done"] = True
        logins.external_write(x.pending_login.encode() + b"\n")
        tidied = dataclasses.replace(x, pending_login="")
        roster_doc.external_write(roster.render_store([tidied]).encode())

    committer, _, _ = make(logins, roster_doc)
    # Whichever document this process reads first, the other process acts right after that first read.
    first = {"seen": False}

    def after_first_read(document):
        if first["seen"]:
            other_process_publishes_and_tidies(document)
        first["seen"] = True
    logins.before_read = roster_doc.before_read = after_first_read
    committer.submit(candidate(1))
    names = [r.username for r in roster.parse_store(roster_doc.content.decode())]
    assert "xavier" in names and "user1" in names
