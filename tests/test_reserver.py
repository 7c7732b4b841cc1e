"""Group commit of reservations against fakes of our own documents: grouping, conflicts, faults, deadlines.

A reservation is the durable step: the attendee is answered once the row (with its hashed line) is in
the roster; the logins are written later, by the publisher (tests/test_publisher.py).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import htpasswd, ledger, roster
from app.documents import Documents
from app.errors import AlreadyTaken, RegistrationError, ServiceUnavailable, StoreUnavailable
from app.ledger import Limits, Line
from app.reserver import Reserver
from app.roster import Registration
from app.runtime import Runtime
from tests.fakes import MemoryDocument, RecordingMirror

LIMITS = Limits()


def candidate(number: int, name: str | None = None) -> Registration:
    username = name or f"user{number}"
    return Registration(username, f"User {number}", f"user{number}@example.com", roster.now(),
                        pending_login=f"{username}:$2y$04$hash{number}")


RUNNING: list[Runtime] = []


@pytest.fixture(autouse=True)
def _stop_reservers():
    yield
    while RUNNING:
        RUNNING.pop().stop()


def make(logins=None, roster_doc=None, timeout=10.0, on_reserved=lambda: None):
    """A reserver on fakes of our documents, running (as in a started app) until the test ends."""
    logins = logins if logins is not None else MemoryDocument()
    roster_doc = roster_doc if roster_doc is not None else MemoryDocument()
    documents = Documents(logins, roster_doc, RecordingMirror(), max_age=0)
    reserver = Reserver(documents, LIMITS, timeout=timeout, on_reserved=on_reserved)
    runtime = Runtime()
    runtime.add(reserver)
    runtime.start()
    RUNNING.append(runtime)
    return reserver, logins, roster_doc


def submit_all(reservers, candidates, workers=40):
    """Submit each candidate from its own thread, spread over the reservers; the outcome per candidate."""
    def one(item):
        number, c = item
        try:
            return reservers[number % len(reservers)].submit(c)
        except RegistrationError as error:
            return error
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enumerate(candidates)))


def rows(document: MemoryDocument) -> list[Registration]:
    return roster.parse_store(document.content.decode())


def test_a_lone_registration_is_stored_with_its_pending_login_and_the_publisher_woken():
    woken = threading.Event()
    reserver, logins, roster_doc = make(on_reserved=woken.set)
    assert reserver.submit(candidate(1)) == Line.PENDING
    assert [(r.username, r.pending_login) for r in rows(roster_doc)] == [("user1", "user1:$2y$04$hash1")]
    assert logins.content == b"" and logins.writes == 0  # the logins are the publisher's to write
    assert woken.is_set()


def test_a_burst_is_stored_in_few_roster_writes():
    reserver, _, roster_doc = make()
    outcomes = submit_all([reserver], [candidate(i) for i in range(60)])
    assert outcomes == [Line.PENDING] * 60
    assert sorted(r.username for r in rows(roster_doc)) == sorted(f"user{i}" for i in range(60))
    assert roster_doc.writes <= 20, roster_doc.writes


def test_processes_sharing_the_roster_store_everyone_exactly_once():
    logins, roster_doc = MemoryDocument(), MemoryDocument()
    reservers = [make(logins, roster_doc)[0] for _ in range(4)]
    outcomes = submit_all(reservers, [candidate(i) for i in range(80)], workers=80)
    assert outcomes == [Line.PENDING] * 80
    assert sorted(r.username for r in rows(roster_doc)) == sorted(f"user{i}" for i in range(80))


def test_rows_written_by_others_are_kept_and_conflicts_retried():
    roster_doc = MemoryDocument()
    storm = {"left": 5}

    def meddle(document):  # another replica reserves just before each of this one's writes
        if storm["left"]:
            storm["left"] -= 1
            others = rows(document) if document.content else []
            document.external_write(roster.render_store(others + [candidate(100 + storm["left"])]).encode())
    roster_doc.before_write = meddle
    reserver, _, _ = make(roster_doc=roster_doc)
    assert reserver.submit(candidate(1)) == Line.PENDING
    assert {r.username for r in rows(roster_doc)} == {"user1"} | {f"user{100 + i}" for i in range(5)}


def test_a_name_or_email_taken_by_a_pending_registration_is_refused():
    reserver, _, roster_doc = make()
    reserver.submit(candidate(1))
    with pytest.raises(AlreadyTaken) as caught:
        reserver.submit(dataclasses.replace(candidate(2), username="user1", pending_login="user1:$2y$04$other"))
    assert "username" in caught.value.errors
    with pytest.raises(AlreadyTaken) as caught:
        reserver.submit(dataclasses.replace(candidate(3), email="user1@example.com"))
    assert "email" in caught.value.errors
    assert [r.pending_login for r in rows(roster_doc)] == ["user1:$2y$04$hash1"]  # never replaced


def test_a_candidate_already_written_is_written():
    mine = candidate(1)
    logins = MemoryDocument(mine.pending_login.encode() + b"\n")
    reserver, _, _ = make(logins, MemoryDocument(roster.render_store([mine]).encode()))
    assert reserver.submit(mine) == Line.WRITTEN


def test_a_write_whose_answer_was_lost_is_not_repeated():
    roster_doc = MemoryDocument()
    roster_doc.apply_then_fail = 1
    reserver, _, _ = make(roster_doc=roster_doc)
    assert reserver.submit(candidate(1)) == Line.PENDING
    assert [r.username for r in rows(roster_doc)] == ["user1"] and roster_doc.writes == 1


def test_store_failures_are_retried_until_it_recovers():
    roster_doc = MemoryDocument()
    roster_doc.read_faults = [StoreUnavailable("API down")] * 3
    roster_doc.write_faults = [StoreUnavailable("API down")] * 2
    reserver, _, _ = make(roster_doc=roster_doc, timeout=15)
    assert reserver.submit(candidate(1)) == Line.PENDING
    assert [r.username for r in rows(roster_doc)] == ["user1"]


def test_a_store_that_stays_down_gives_a_clear_error_by_the_deadline_and_stores_nothing():
    roster_doc = MemoryDocument()
    roster_doc.read_faults = [StoreUnavailable("API down")] * 1000
    reserver, logins, _ = make(roster_doc=roster_doc, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        reserver.submit(candidate(1))
    assert time.monotonic() - started < 4
    assert "try again" in caught.value.errors["form"]
    assert logins.content == b"" and roster_doc.content == b""


def test_the_same_name_from_two_processes_one_wins():
    logins, roster_doc = MemoryDocument(), MemoryDocument()
    reservers = [make(logins, roster_doc)[0] for _ in range(4)]
    attempts = [Registration("alice", "A", f"a{i}@example.com", roster.now(), pending_login=f"alice:$2y$04${i}")
                for i in range(10)]
    outcomes = submit_all(reservers, attempts)
    assert outcomes.count(Line.PENDING) == 1
    assert all(isinstance(o, AlreadyTaken) for o in outcomes if o != Line.PENDING)
    assert [r.username for r in rows(roster_doc)] == ["alice"]


def test_a_reserver_that_is_not_running_refuses_at_once_and_one_stopped_answers_who_waits():
    documents = Documents(MemoryDocument(), MemoryDocument(), RecordingMirror(), max_age=0)
    idle = Reserver(documents, LIMITS, timeout=30)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):  # never a request that waits for a worker nobody started
        idle.submit(candidate(1))
    assert time.monotonic() - started < 1
    reserver, _, roster_doc = make()
    assert reserver.submit(candidate(2)) == Line.PENDING
    RUNNING.pop().stop()
    with pytest.raises(ServiceUnavailable):
        reserver.submit(candidate(3))
    assert [r.username for r in rows(roster_doc)] == ["user2"]


def test_an_internal_error_answers_everyone_and_the_thread_survives(monkeypatch):
    reserver, _, roster_doc = make()
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
        reserver.submit(candidate(1))
    assert time.monotonic() - started < 2  # answered at once, not after its deadline
    assert reserver.submit(candidate(2)) == Line.PENDING
    assert [r.username for r in rows(roster_doc)] == ["user2"]


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

    reserver, _, _ = make(logins, roster_doc)
    # Whichever document this process reads first, the other process acts right after that first read.
    first = {"seen": False}

    def after_first_read(document):
        if first["seen"]:
            other_process_publishes_and_tidies(document)
        first["seen"] = True
    logins.before_read = roster_doc.before_read = after_first_read
    reserver.submit(candidate(1))
    names = [r.username for r in rows(roster_doc)]
    assert "xavier" in names and "user1" in names
    assert htpasswd.entries(logins.content) == {"xavier": x.pending_login.encode()}
