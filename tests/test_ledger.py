"""What a group of registrations does to the logins and the roster: pure planning, as tables."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from app import ledger
from app.errors import AlreadyTaken, RegistrationFull
from app.ledger import Limits
from app.roster import Registration

NOW = datetime(2026, 11, 26, 9, 0, 0, tzinfo=timezone.utc)
LIMITS = Limits(publish_window=timedelta(seconds=18), reservation_ttl=timedelta(seconds=120))


def cand(name: str, email: str | None = None, age: float = 0, salt: str = "a") -> Registration:
    return Registration(name, name.title(), email or f"{name}@example.com", NOW - timedelta(seconds=age),
                        pending_login=f"{name}:$2y$04${salt}")


def row(name: str, email: str | None = None, age: float = 0) -> Registration:
    return dataclasses.replace(cand(name, email, age), pending_login="")


def plan(logins: bytes, records, candidates, limits=LIMITS):
    return ledger.plan_roster(logins, records, candidates, NOW, limits)


def test_new_candidates_are_reserved_in_order():
    result = plan(b"", [], [cand("alice"), cand("bob")])
    assert result.reserved == [0, 1] and not result.refused and result.changed
    assert [r.username for r in result.records] == ["alice", "bob"]


def test_a_name_in_the_logins_is_taken_even_when_not_ours():
    result = plan(b"# by hand\nAlice:{SHA}x\n", [], [cand("alice")])
    assert isinstance(result.refused[0], AlreadyTaken) and result.refused[0].errors == {
        "username": ledger.USERNAME_TAKEN}


def test_an_email_is_taken_ignoring_case():
    result = plan(b"bob:x\n", [row("bob", "Shared@Example.com")], [cand("carol", "shared@example.COM")])
    assert result.refused[0].errors == {"email": ledger.EMAIL_TAKEN}


def test_a_fresh_reservation_holds_its_username_and_email_against_others():
    pending = cand("alice", age=10)
    result = plan(b"", [pending], [cand("alice", "other@example.com"), cand("carol", "alice@example.com")])
    assert result.refused[0].errors == {"username": ledger.USERNAME_TAKEN}
    assert result.refused[1].errors == {"email": ledger.EMAIL_TAKEN}


def test_the_same_attendee_retrying_takes_over_their_reservation():
    old = cand("alice", age=10, salt="old")
    retry = cand("alice", salt="new")
    result = plan(b"", [old], [retry])
    assert result.reserved == [0] and result.records == [retry]


def test_two_attempts_at_one_name_in_one_group_one_wins():
    result = plan(b"", [], [cand("alice", salt="1"), cand("alice", salt="2"), cand("alice", "x@example.com")])
    assert result.reserved == [0] and set(result.refused) == {1, 2}


def test_a_candidate_whose_exact_line_is_published_is_done():
    mine = cand("alice")
    result = plan(mine.pending_login.encode() + b"\n", [mine], [mine])
    assert result.published == [0] and not result.refused


def test_stale_reservations_and_removed_users_are_dropped_and_hashes_cleared():
    records = [
        cand("stale", age=121),  # its group died: dropped
        cand("fresh", age=119),  # still reserved
        row("gone"),  # its login was removed by hand: dropped
        row("kept"),
        cand("published"),  # its line is in the logins: hash dropped
        cand("clobbered"),  # someone else's line took the name: dropped
    ]
    logins = b"kept:x\npublished:$2y$04$a\nclobbered:$apr1$other\n"
    kept = ledger.normalise(logins, records, NOW, LIMITS)
    assert [(r.username, r.pending_login) for r in kept] == [
        ("fresh", "fresh:$2y$04$a"), ("kept", ""), ("published", "")]
    assert [r.username for r in ledger.active(logins, records)] == ["kept", "published"]
    assert all(r.pending_login == "" for r in ledger.active(logins, records))


def test_max_users_counts_reservations_too():
    limits = dataclasses.replace(LIMITS, max_users=2)
    result = plan(b"a:x\n", [row("a"), cand("b")], [cand("c")], limits)
    assert isinstance(result.refused[0], RegistrationFull)


def test_a_roster_or_logins_over_the_secret_limit_means_full():
    small = dataclasses.replace(LIMITS, max_bytes=200)
    result = plan(b"x" * 190, [], [cand("alice")], small)  # 190 + 14-byte line + newline > 200
    assert isinstance(result.refused[0], RegistrationFull)
    many = plan(b"", [], [cand(f"user{i:03d}") for i in range(10)], small)
    assert many.reserved and isinstance(many.refused[max(many.refused)], RegistrationFull)


def test_unchanged_roster_is_not_rewritten():
    records = [row("alice")]
    result = plan(b"alice:x\n", records, [cand("alice", salt="z")])
    assert not result.changed and result.refused


def test_plan_logins_publishes_every_fresh_pending_login_once():
    records = [cand("a"), cand("b", age=17), cand("c", age=19), row("d"), cand("e")]
    content = ledger.plan_logins(b"# hand\ne:$2y$04$other\n", records, NOW, LIMITS)
    assert content == b"# hand\ne:$2y$04$other\na:$2y$04$a\nb:$2y$04$a\n"


def test_plan_logins_respects_the_secret_limit():
    limits = dataclasses.replace(LIMITS, max_bytes=27)  # alice (15 bytes) fits, bob (13) would make 28
    assert ledger.plan_logins(b"", [cand("alice"), cand("bob")], NOW, limits) == b"alice:$2y$04$a\n"


def test_outcome_of_a_reserved_candidate():
    mine = cand("alice")
    assert ledger.outcome(b"", mine) == ledger.Login.PENDING
    assert ledger.outcome(b"alice:$2y$04$a\n", mine) == ledger.Login.PUBLISHED
    assert ledger.outcome(b"alice:$2y$04$b\n", mine) == ledger.Login.CLOBBERED


def test_taken_reports_both_fields():
    records = [row("alice"), cand("bob")]
    assert ledger.taken(b"alice:x\n", records, "alice", "bob@example.com", NOW, LIMITS) == {
        "username": ledger.USERNAME_TAKEN, "email": ledger.EMAIL_TAKEN}
    assert ledger.taken(b"carol:x\n", [], "carol", None, NOW, LIMITS) == {"username": ledger.USERNAME_TAKEN}
    assert ledger.taken(b"", [], "dave", "dave@example.com", NOW, LIMITS) == {}
