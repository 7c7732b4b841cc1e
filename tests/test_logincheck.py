"""The login check: its tickets (signed with a key every replica shares), the OAuth probe against a STAND-IN
for the OAuth server (tests/oauth_standin.py), and what one poll costs."""

from __future__ import annotations

import dataclasses
import math

import pytest

from app import logincheck, oauthcheck
from app.discovery import Discovery
from app.documents import Documents
from app.ledger import Limits
from app.oauthcheck import Answer
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.settings import Settings
from app.tickets import SharedKey, Tickets
from tests.fakes import MemoryDocument, RecordingMirror
from tests.oauth_standin import OAuthStandIn
from tests.servers import free_port

PASSWORD = "velvet otter marmalade"


@pytest.fixture
def standin():
    server = OAuthStandIn({"alice": PASSWORD, "zoë": "ünïcödé pässwörd", "bob": PASSWORD, "carol": PASSWORD},
                          ready_after=2, never={"bob"}, claimed={"carol"})
    yield server
    server.stop()


def test_not_yet_then_ready_and_every_token_revoked_with_itself(standin):
    checker = oauthcheck.LoginChecker(standin.url)
    answers = [checker.check("alice", PASSWORD) for _ in range(4)]
    assert answers == [Answer.NOT_YET, Answer.NOT_YET, Answer.WORKS, Answer.WORKS]
    assert standin.requests.count("/.well-known/oauth-authorization-server") == 1  # discovered once
    assert standin.revoked == ["alice", "alice"] and standin.tokens == {}  # no token outlives its check


def test_the_token_object_is_named_as_the_oauth_server_names_it():
    # oauth-apiserver's own test: the object of token "sha256~" + X is "sha256~" + base64url(SHA-256(X)).
    assert oauthcheck.token_object_name("sha256~abc") == "sha256~ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


def test_never_ready_and_wrong_passwords(standin):
    checker = oauthcheck.LoginChecker(standin.url)
    assert {checker.check("bob", PASSWORD) for _ in range(5)} == {Answer.NOT_YET}
    assert {checker.check("alice", "wrong password here") for _ in range(5)} == {Answer.NOT_YET}


def test_a_name_held_by_another_identity_is_refused_at_once(standin):
    assert oauthcheck.LoginChecker(standin.url).check("carol", PASSWORD) == Answer.REFUSED


def test_non_ascii_credentials_are_sent_as_utf8(standin):
    checker = oauthcheck.LoginChecker(standin.url)
    assert [checker.check("zoë", "ünïcödé pässwörd") for _ in range(3)][-1] == Answer.WORKS


def test_an_unreachable_server_is_not_yet():
    assert oauthcheck.LoginChecker(f"http://127.0.0.1:{free_port()}").check("alice", PASSWORD) == Answer.NOT_YET


# --- Tickets ----------------------------------------------------------------------------------------------

def tickets(document=None, lifetime=60) -> Tickets:
    return Tickets(SharedKey(document or MemoryDocument()), lifetime)


def test_tickets_bind_the_username_and_the_password():
    issuer = tickets()
    ticket = issuer.issue("alice", 1_800_000_000, PASSWORD)
    assert issuer.verify(ticket, "alice", PASSWORD)["u"] == "alice"
    assert issuer.verify(ticket, "alice", PASSWORD + "x") is None  # no oracle for other passwords
    assert issuer.verify(ticket, "mallory", PASSWORD) is None
    body, signature = ticket.split(".")
    forged = issuer.issue("mallory", 1_800_000_000, PASSWORD).split(".")[0] + "." + signature
    assert issuer.verify(forged, "mallory", PASSWORD) is None


def test_every_replica_shares_one_key_made_once():
    document = MemoryDocument()
    one, two = tickets(document), tickets(document)  # two replicas
    ticket = one.issue("alice", 1_800_000_000, PASSWORD)
    assert two.verify(ticket, "alice", PASSWORD) is not None
    assert document.writes == 1 and len(document.content) > 40


def test_registering_again_gets_the_same_ticket_budget():
    issuer = tickets()
    first, again = (issuer.verify(issuer.issue("alice", 1_800_000_000, PASSWORD), "alice", PASSWORD)
                    for _ in range(2))
    assert first["id"] == again["id"]


def test_tickets_expire():
    issuer = tickets(lifetime=-1)
    claims = issuer.verify(issuer.issue("alice", 1_800_000_000, PASSWORD), "alice", PASSWORD)
    assert claims is not None and issuer.expired(claims)


@pytest.mark.parametrize("junk", [None, 5, "", "x.y", "....", "eyJ1IjoxfQ.abc", ["a"], "é.é", "x" * 100_000])
def test_malformed_tickets_are_refused(junk):
    assert tickets().verify(junk, "alice", PASSWORD) is None


# --- One poll: what it costs ----------------------------------------------------------------------------

CountingDocument = MemoryDocument  # it counts its reads


@pytest.fixture
def poller(tmp_path):
    """A LoginCheck over fakes of our own documents, counting their reads."""
    logins, roster_doc = CountingDocument(), CountingDocument()
    documents = Documents(logins, roster_doc, RecordingMirror(), max_age=math.inf)
    settings = dataclasses.replace(Settings(data_dir=tmp_path), login_check=True, api_url="http://127.0.0.1:9")
    issuer = tickets()
    counters = tmp_path / "c.sqlite3"
    check = logincheck.LoginCheck(settings, Discovery(settings, None), issuer, documents,
                                  per_ticket=ClientLimiter("30/minute", counters, scope="t"),
                                  per_client=ClientLimiter("5/minute", counters, scope="c"))
    return check, issuer, logins, roster_doc, documents


def test_a_forged_ticket_costs_no_read_and_no_limit(poller):
    check, issuer, logins, roster_doc, _ = poller
    forged = issuer.issue("ghost", 1_800_000_000, "guess").split(".")[0] + ".0000"
    for _ in range(50):
        assert check.poll({"username": "ghost", "password": "guess", "ticket": forged}, 1, "10.0.0.9").state == "ended"
    assert logins.reads == roster_doc.reads == 0
    valid = issuer.issue("ghost", 1_800_000_000, "guess")  # the client's budget is untouched by the forgeries
    assert check.poll({"username": "ghost", "password": "guess", "ticket": valid}, 1, "10.0.0.9").state == "stuck"


def test_valid_tickets_are_limited_per_client_address_before_any_read(poller, start):
    check, issuer, logins, roster_doc, documents = poller
    start(Reserver(documents, Limits(), timeout=5)).submit(_candidate("alice"))
    states = [check.poll({"username": "alice", "password": PASSWORD,
                          "ticket": issuer.issue("alice", n, PASSWORD)}, 1, "10.0.0.7").state for n in range(8)]
    assert states == ["waiting"] * 5 + ["slow"] * 3  # eight tickets, one address: five polls a minute
    reads = logins.reads + roster_doc.reads
    check.poll({"username": "alice", "password": PASSWORD, "ticket": issuer.issue("alice", 9, PASSWORD)}, 1,
               "10.0.0.7")
    assert logins.reads + roster_doc.reads == reads


def _candidate(name):
    from app import htpasswd, roster
    from app.roster import Registration

    return Registration(name, "A", f"{name}@example.com", roster.now(),
                        pending_login=htpasswd.make_entry(name, PASSWORD, 4).decode())


def test_a_tab_still_asking_after_the_end_hears_that_the_event_is_over(poller):
    from app import roster
    from app.web import outcome

    check, issuer, _, roster_doc, documents = poller
    ended = dataclasses.replace(_candidate("alice"), pending_login="", ended=True)
    roster_doc.external_write(roster.render_store([ended]).encode())
    documents.read()
    answer = check.poll({"username": "alice", "password": PASSWORD, "ticket": issuer.issue("alice", 1, PASSWORD)},
                        1, "10.0.0.8")
    assert answer == logincheck.Poll("over", None)  # not "still not active": nothing to tell the instructor
    assert "This event has ended" in str(outcome.login_status("over"))
