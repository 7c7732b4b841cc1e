"""The login check against a STAND-IN for the OAuth server (tests/oauth_standin.py), and its tickets."""

from __future__ import annotations


import pytest

from app import htpasswd, logincheck
from tests.oauth_standin import OAuthStandIn
from tests.servers import free_port

PASSWORD = "velvet otter marmalade"


@pytest.fixture
def standin():
    server = OAuthStandIn({"alice": PASSWORD, "zoë": "ünïcödé pässwörd"}, ready_after=2, never={"bob"})
    server.passwords["bob"] = PASSWORD
    yield server
    server.stop()


def test_not_yet_then_ready(standin):
    checker = logincheck.LoginChecker(standin.url)
    assert [checker.check("alice", PASSWORD) for _ in range(4)] == [False, False, True, True]
    assert standin.requests.count("/.well-known/oauth-authorization-server") == 1  # discovered once


def test_never_ready(standin):
    checker = logincheck.LoginChecker(standin.url)
    assert not any(checker.check("bob", PASSWORD) for _ in range(5))


def test_a_wrong_password_is_never_ready(standin):
    checker = logincheck.LoginChecker(standin.url)
    assert not any(checker.check("alice", "wrong password here") for _ in range(5))


def test_non_ascii_credentials_are_sent_as_utf8(standin):
    checker = logincheck.LoginChecker(standin.url)
    assert [checker.check("zoë", "ünïcödé pässwörd") for _ in range(3)] == [False, False, True]


def test_an_unreachable_server_is_not_ready():
    assert logincheck.LoginChecker(f"http://127.0.0.1:{free_port()}").check("alice", PASSWORD) is False


ENTRY = htpasswd.make_entry("alice", PASSWORD, 4)


def test_tickets_bind_the_username_the_password_and_the_entry():
    ticket = logincheck.issue_ticket(ENTRY, "alice", PASSWORD, 60)
    assert logincheck.read_ticket(ticket)["u"] == "alice"
    assert logincheck.ticket_matches(ticket, ENTRY, PASSWORD)
    assert not logincheck.ticket_matches(ticket, ENTRY, PASSWORD + "x")  # no oracle for other passwords
    other_entry = htpasswd.make_entry("alice", PASSWORD, 4)  # a reset password: a new entry
    assert not logincheck.ticket_matches(ticket, other_entry, PASSWORD)
    body, signature = ticket.split(".")
    forged = logincheck.issue_ticket(ENTRY, "mallory", PASSWORD, 60).split(".")[0] + "." + signature
    assert not logincheck.ticket_matches(forged, ENTRY, PASSWORD)


def test_tickets_expire():
    ticket = logincheck.issue_ticket(ENTRY, "alice", PASSWORD, -1)
    assert not logincheck.ticket_matches(ticket, ENTRY, PASSWORD)


@pytest.mark.parametrize("junk", [None, 5, "", "x.y", "....", "eyJ1IjoxfQ.abc", ["a"]])
def test_malformed_tickets_are_refused(junk):
    assert logincheck.read_ticket(junk) is None or not logincheck.ticket_matches(str(junk), ENTRY, PASSWORD)
