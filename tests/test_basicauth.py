"""The BasicAuth remote (app.basicauth) over fakes of our own documents and over local files: OpenShift's
contract, read by the stand-in of its client (tests/basicauth_standin.py), what a login costs, and what a
replica answers from when the Secrets cannot be read. TLS itself: tests/test_basicauth_tls.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import clock as app_clock
from app import htpasswd, roster
from app.basicauth import PROBE_SECONDS, Remote
from app.documents import Documents
from app.errors import StoreUnavailable
from app.eventstate import EventState
from app.loginguard import BUDGET, REFILL, TTL, LoginGuard, PodAnswers
from app.loginlog import LoginLog
from app.roster import Registration
from tests.basicauth_standin import interpret
from tests.fakes import FakeClock, MemoryDocument, RecordingMirror
from tests.helpers import GOOD, person

PASSWORD = GOOD["password"]


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def row(name: str, password: str = PASSWORD, pending: bool = False, seat: bool = False) -> tuple[Registration, bytes]:
    line = htpasswd.make_entry(name, password, 4)
    record = Registration(name, "" if seat else name.title(), "" if seat else f"{name}@example.com", roster.now(),
                          pending_login=line.decode() if pending else "", seat=seat)
    return record, line


class World:
    """One replica's remote over documents that tests can fill, fail and share with another replica."""

    def __init__(self, logins=None, roster_doc=None, clock=None, shared=None):
        self.logins = logins or MemoryDocument()
        self.roster = roster_doc or MemoryDocument()
        self.clock = clock or FakeClock()
        self.checks = []
        self.documents = Documents(self.logins, self.roster, RecordingMirror(), max_age=math.inf, clock=self.clock)
        self.state = EventState(MemoryDocument(), True, max_age=0, clock=self.clock)
        self.seen = LoginLog(self.state, self.clock)
        self.remote = Remote(self.documents, LoginGuard(self.clock, shared=shared), self.seen,
                             threading.BoundedSemaphore(2), self.clock, verify=self._verify)

    def _verify(self, line, password):
        self.checks.append(password)
        return htpasswd.verify(line, password)

    def store(self, *rows: tuple[Registration, bytes]) -> None:
        """Rows in the roster; those not pending have their line in the logins, as once written."""
        self.roster.external_write(roster.render_store([r for r, _ in rows]).encode())
        self.logins.external_write(b"".join(line + b"\n" for r, line in rows if not r.pending_login))

    def ask(self, username, password, verified=True, header=None):
        answer = self.remote.answer(header if header is not None else basic(username, password), verified)
        return interpret(answer.status, json.dumps(answer.body).encode())


def test_the_contract_as_the_oauth_server_reads_it():
    w = World()
    w.store(row("alice"), row("bob", pending=True), row("user7", "k7tq-2mzx-8hpa-3nbw", seat=True))
    assert w.ask("alice", PASSWORD) == ({"sub": "alice", "preferred_username": "alice", "name": "Alice",
                                          "email": "alice@example.com"}, None)
    assert w.ask("bob", PASSWORD)[0]["sub"] == "bob"  # stored, its line not written yet: a login already
    assert w.ask("user7", "k7tq-2mzx-8hpa-3nbw") == ({"sub": "user7", "preferred_username": "user7"}, None)
    for username, password in [("alice", "wrong horse battery"), ("carol", PASSWORD), ("Alice", PASSWORD)]:
        assert w.ask(username, password) == (None, None), username  # 401: "Invalid login or password"
    for header in ["", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                   "Basic " + base64.b64encode(b":pw").decode(), "Basic " + base64.b64encode(b"alice:").decode(),
                   "Basic " + base64.b64encode(b"alice:" + b"x" * 2000).decode(), "Basic " + "A" * 10_000]:
        assert w.ask("", "", header=header) == (None, None), header[:30]
    identity, error = w.ask("alice", PASSWORD, verified=False)
    assert identity is None and "client certificate" in error  # an error the OAuth server logs
    assert PASSWORD not in json.dumps(w.remote.answer(basic("alice", PASSWORD), True).body)


def test_a_repeated_login_costs_no_bcrypt_and_a_reset_or_removal_counts_at_once():
    w = World()
    w.store(row("alice"), row("bob"))
    for _ in range(5):  # the console, then oc login, then again
        assert w.ask("alice", PASSWORD)[0]
    assert len(w.checks) == 1
    for _ in range(3):
        assert w.ask("alice", "not her password") == (None, None)
    assert len(w.checks) == 1  # another password than the one accepted: refused with no bcrypt check
    reset = htpasswd.make_entry("alice", "a brand new password", 4)
    w.logins.external_write(reset + b"\n" + w.logins.content.split(b"\n", 1)[1])  # an instructor's reset
    w.documents.read()
    assert w.ask("alice", PASSWORD) == (None, None)  # the old password, though remembered, no longer works
    assert w.ask("alice", "a brand new password")[0]["sub"] == "alice"
    w.store(row("bob"))  # alice removed
    w.documents.read()
    assert w.ask("alice", "a brand new password") == (None, None)


def test_a_flood_of_guesses_for_one_name_costs_at_most_its_budget():
    w = World()
    w.store(row("alice"), row("bob"))
    assert w.ask("bob", PASSWORD)[0]  # bob logged in before the flood
    assert all(w.ask("alice", "guess number 0") == (None, None) for _ in range(3))
    assert len(w.checks) == 2  # a refused password tried again costs nothing (and no budget)
    guesses = [f"guess number {i}" for i in range(200)]
    assert all(w.ask("alice", g) == (None, None) for g in guesses)
    assert len(w.checks) == 1 + BUDGET  # 200 guesses, BUDGET bcrypt checks: the rest refused unread
    assert w.ask("bob", PASSWORD)[0] and len(w.checks) == 1 + BUDGET  # others' logins: untouched, free
    assert w.remote.guard.refused_unread["alice"] == 200 - BUDGET
    assert w.ask("alice", PASSWORD) == (None, None)  # her own, while the budget is spent: refused too
    w.clock.at += REFILL / BUDGET  # one check back, REFILL / BUDGET seconds later
    assert w.ask("alice", PASSWORD)[0]["sub"] == "alice"
    w.clock.at += 1
    assert all(w.ask("alice", g) == (None, None) for g in guesses[:20])  # the flood again:
    assert w.ask("alice", PASSWORD)[0]  # she is in, at no cost, until her answer's lifetime ends


def test_once_a_name_has_logged_in_a_flood_for_it_costs_no_bcrypt_and_never_locks_it_out():
    w = World()
    w.store(row("alice"))
    assert w.ask("alice", PASSWORD)[0]  # her first login, as the OAuth server asks after registering
    for minute in range(5):  # five minutes of a flood of distinct guesses, 600 a minute
        w.clock.at += 60
        assert all(w.ask("alice", f"guess {minute} {i}") == (None, None) for i in range(600))
        assert w.ask("alice", PASSWORD)[0]["sub"] == "alice"  # she logs in whenever she likes
    assert len(w.checks) == 1  # 3000 guesses, not one bcrypt check: each cost an HMAC
    w.clock.at += 3600  # long after her answer's lifetime
    assert w.ask("alice", "yet another guess") == (None, None) and len(w.checks) == 1
    assert w.ask("alice", PASSWORD)[0] and len(w.checks) == 2  # her own password: checked once more
    reset = htpasswd.make_entry("alice", "a brand new password", 4)
    w.logins.external_write(reset + b"\n")  # an instructor's reset: what was accepted no longer counts
    w.documents.read()
    assert w.ask("alice", PASSWORD) == (None, None) and len(w.checks) == 3
    assert w.ask("alice", "a brand new password")[0]


def test_the_workers_of_a_pod_share_what_was_accepted_and_a_file_of_an_earlier_key_counts_for_nothing(tmp_path):
    path = tmp_path / "logins.sqlite3"
    clock = FakeClock()
    roster_doc, logins = MemoryDocument(), MemoryDocument()
    one = World(logins, roster_doc, clock, shared=PodAnswers(path, clock, key=b"k" * 32))
    two = World(logins, roster_doc, clock, shared=PodAnswers(path, clock, key=b"k" * 32))  # forked: same key
    one.store(row("alice"), row("bob"))
    assert one.ask("alice", PASSWORD)[0]  # the console's login, on one worker
    assert two.ask("alice", PASSWORD)[0] and two.checks == []  # oc login, on another: no bcrypt
    assert all(two.ask("alice", f"guess {i}") == (None, None) for i in range(50))
    assert two.checks == []  # guesses on the other worker: refused with no bcrypt either
    clock.at += TTL + 1  # the answer's lifetime is over: her password is checked again, once
    assert two.ask("alice", PASSWORD)[0] and two.checks == [PASSWORD]
    later = World(logins, roster_doc, clock, shared=PodAnswers(path, clock, key=b"n" * 32))  # a new pod, same file
    assert later.ask("alice", "guess 0") == (None, None) and later.checks == ["guess 0"]  # nothing known
    assert later.ask("alice", PASSWORD)[0]  # the right password is never "another than the one accepted"
    broken = World(logins, roster_doc, clock, shared=PodAnswers(tmp_path / "missing" / "x.sqlite3", clock))
    assert broken.ask("bob", PASSWORD)[0] and broken.ask("bob", PASSWORD)[0]  # a broken file: this process's own
    assert broken.checks == [PASSWORD]


def test_a_registration_stored_by_another_replica_logs_in_at_once():
    roster_doc, logins = MemoryDocument(), MemoryDocument()
    here, there = World(logins, roster_doc), World(logins, roster_doc)
    here.store(row("alice"))
    here.documents.read()
    there.store(row("alice"), row("newcomer", pending=True))  # the other replica's reservation, just now
    assert here.ask("newcomer", PASSWORD)[0]["sub"] == "newcomer"  # not in this copy: read again, found
    began = here.clock.at
    for i in range(20):  # unknown names: a look at the versions each, a read only when they moved on,
        here.ask(f"nobody{i}", PASSWORD)
    assert roster_doc.reads <= 3
    assert here.clock.at - began >= 19 * PROBE_SECONDS  # and looks spaced by PROBE_SECONDS (the flood waits)
    there.store(row("alice"), row("newcomer", pending=True), row("latecomer", pending=True))
    assert here.ask("latecomer", PASSWORD)[0]["sub"] == "latecomer"  # stored right after a look: the next one


def test_logins_asked_at_once_share_the_looks_and_each_sees_what_was_stored_before_it_asked():
    roster_doc, logins = MemoryDocument(), MemoryDocument()
    here, there = World(logins, roster_doc, clock=app_clock.SYSTEM), World(logins, roster_doc)
    here.store(row("alice"))
    here.documents.read()
    there.store(row("alice"), *[row(f"new{i}", pending=True) for i in range(16)])
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: here.ask(f"new{i}", PASSWORD), range(16)))
    assert [identity["sub"] for identity, _ in answers] == [f"new{i}" for i in range(16)]
    assert roster_doc.reads <= 3  # sixteen logins, one read of the roster that moved on


def test_the_last_good_reading_answers_when_the_secrets_cannot_be_read_and_never_a_guess():
    w = World()
    w.store(row("alice"))
    w.documents.read()
    w.roster.read_faults = [StoreUnavailable("API server down")] * 10
    w.logins.read_faults = [StoreUnavailable("API server down")] * 10
    assert w.ask("alice", PASSWORD)[0]["sub"] == "alice"
    assert w.ask("mallory", PASSWORD) == (None, None)
    cold = World()
    cold.roster.read_faults = [StoreUnavailable("API server down")] * 10
    identity, error = cold.ask("alice", PASSWORD)
    assert identity is None and "cannot be read" in error  # an error, not a 200 nor a 401


def test_logins_seen_reach_the_event_state_in_one_write_per_flush():
    w = World()
    w.store(*(row(f"user{i}") for i in range(3)))
    for _ in range(10):
        for i in range(3):
            w.ask(f"user{i}", PASSWORD)
        w.clock.at += 1
    writes = w.state.document.writes
    w.seen.step()
    assert w.state.document.writes == writes + 1
    seen = w.state.logins_seen()
    assert set(seen) == {"user0", "user1", "user2"} and seen["user0"][1] - seen["user0"][0] == 9
    w.seen.step()
    assert w.state.document.writes == writes + 1  # nothing new: no write


def test_the_route_answers_only_in_basic_auth_mode_and_only_get(make_app):
    htpasswd_app = make_app().server.test_client()
    assert htpasswd_app.get("/api/v1/basic-auth").status_code == 404
    client = make_app(identity_provider_type="BasicAuth").server.test_client()
    assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
    answer = client.get("/api/v1/basic-auth", headers={"Authorization": basic("alice", PASSWORD)})
    assert answer.status_code == 403 and "client certificate" in answer.json["error"]  # no TLS here: nobody
    assert answer.headers["Cache-Control"] == "no-store"
    refused = client.post("/api/v1/basic-auth")
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET"


def test_in_basic_auth_mode_a_registration_is_active_at_once(make_app):
    client = make_app(identity_provider_type="BasicAuth").server.test_client()
    answer = client.post("/api/v1/registrations", json=person(1))
    assert answer.status_code == 201 and answer.json["login"] == "active"
    health = client.get("/readyz").json
    assert "TLS_CERT_FILE" in health["degraded"]  # the OAuth server asks over HTTPS only: said at once


def test_the_page_says_ready_at_once_with_nothing_to_poll(make_app):
    from tests.helpers import FORM_FIELDS

    client = make_app(identity_provider_type="BasicAuth").server.test_client()
    dependency = next(d for d in client.get("/_dash-dependencies").json
                      if "register-result.children" in d["output"])
    specs = [spec.rsplit(".", 1) for spec in dependency["output"].strip(".").split("...")]
    body = {"output": dependency["output"], "outputs": [{"id": c, "property": p} for c, p in specs],
            "inputs": [{"id": "registration-form", "property": "n_submit", "value": 1}],
            "changedPropIds": ["registration-form.n_submit"],
            "state": [{"id": i, "property": "value", "value": GOOD[name]} for i, name in FORM_FIELDS]}
    text = client.post("/_dash-update-component", json=body).get_data(as_text=True)
    assert "login-status-ready" in text and "Ready: you can log in now." in text
    assert '"disabled":true' in text.replace(" ", "")  # the poll stays off: no check to wait for


def test_a_stored_user_that_is_not_a_registration_is_not_a_login():
    """Lines without a registration of this app (none should exist in its own Secret) are nobody's."""
    w = World()
    w.store(row("alice"))
    w.logins.external_write(w.logins.content + htpasswd.make_entry("intruder", PASSWORD, 4) + b"\n")
    w.documents.read()
    assert w.ask("intruder", PASSWORD) == (None, None)


@pytest.mark.parametrize("password", ["é" * 40, "x" * 73])
def test_passwords_bcrypt_cannot_hold_are_simply_wrong(password):
    w = World()
    w.store(row("alice"))
    assert w.ask("alice", password) == (None, None)


def test_the_identity_leaves_out_what_a_seat_does_not_have():
    record = dataclasses.replace(row("user1", seat=True)[0])
    from app.basicauth import _identity

    assert _identity(record) == {"sub": "user1", "preferred_username": "user1"}
