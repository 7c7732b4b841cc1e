"""What a group of registrations does to the logins and the roster: pure planning, as tables."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from app import htpasswd, ledger, roster
from app.errors import AlreadyTaken, RegistrationFull
from app.ledger import Limits
from app.roster import Registration

NOW = datetime(2026, 11, 26, 9, 0, 0, tzinfo=timezone.utc)
LIMITS = Limits()


def cand(name: str, email: str | None = None, age: float = 0, salt: str = "a") -> Registration:
    return Registration(name, name.title(), email or f"{name}@example.com", NOW - timedelta(seconds=age),
                        pending_login=f"{name}:$2y$04${salt}")


def row(name: str, email: str | None = None, age: float = 0) -> Registration:
    return dataclasses.replace(cand(name, email, age), pending_login="")


def plan(logins: bytes, records, candidates, limits=LIMITS):
    return ledger.plan_roster(logins, records, candidates, limits)


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


def test_a_pending_registration_is_never_replaced_even_by_the_same_email():
    old = cand("alice", age=10, salt="old")
    retry = cand("alice", salt="new")  # the same attendee is recognised by their password, before this
    result = plan(b"", [old], [retry])
    assert result.refused[0].errors == {"username": ledger.USERNAME_TAKEN} and not result.changed


def test_an_attempt_whose_row_is_stored_already_counts_as_reserved():
    mine = cand("alice")  # its roster write landed, its answer was lost, it is tried again
    result = plan(b"", [mine], [mine])
    assert result.reserved == [0] and not result.refused and not result.changed


def test_two_attempts_at_one_name_in_one_group_one_wins():
    result = plan(b"", [], [cand("alice", salt="1"), cand("alice", salt="2"), cand("alice", "x@example.com")])
    assert result.reserved == [0] and set(result.refused) == {1, 2}


def test_a_candidate_whose_exact_line_is_published_is_done():
    mine = cand("alice")
    result = plan(mine.pending_login.encode() + b"\n", [mine], [mine])
    assert result.written == [0] and not result.refused


def test_pending_rows_are_kept_however_old_removed_users_dropped_and_hashes_cleared():
    records = [
        cand("waiting", age=86_400),  # its login waits, however long: kept
        cand("fresh"),
        row("gone"),  # its login was removed by hand: dropped
        row("kept"),
        cand("published"),  # its line is in the logins: hash dropped
        cand("clobbered"),  # someone else's line took the name: dropped
    ]
    logins = b"kept:x\npublished:$2y$04$a\nclobbered:$apr1$other\n"
    kept = ledger.normalise(logins, records)
    assert [(r.username, r.pending_login) for r in kept] == [
        ("waiting", "waiting:$2y$04$a"), ("fresh", "fresh:$2y$04$a"), ("kept", ""), ("published", "")]
    found = ledger.registered(logins, records)
    assert [(r.username, login) for r, login in found] == [
        ("waiting", ledger.Line.PENDING), ("fresh", ledger.Line.PENDING), ("kept", ledger.Line.WRITTEN),
        ("published", ledger.Line.WRITTEN)]
    assert all(r.pending_login == "" for r, _ in found)  # users.csv never shows a hash
    assert [r.username for r in ledger.pending(logins, records)] == ["waiting", "fresh"]


def test_withdrawn_logins_are_never_published():
    records = [cand("alice"), cand("bob")]
    withdrawn = ledger.withdrawn(records, {"alice"})
    assert ledger.plan_logins(b"", withdrawn, LIMITS) == b"bob:$2y$04$a\n"
    assert [r.username for r in ledger.normalise(b"bob:$2y$04$a\n", withdrawn)] == ["bob"]


def test_max_users_counts_pending_registrations_too():
    limits = dataclasses.replace(LIMITS, max_users=2)
    result = plan(b"a:x\n", [row("a"), cand("b")], [cand("c")], limits)
    assert isinstance(result.refused[0], RegistrationFull)


def test_a_roster_or_logins_over_the_secret_limit_means_full():
    small = dataclasses.replace(LIMITS, max_bytes=200)
    result = plan(b"x" * 190, [], [cand("alice")], small)  # 190 + 14-byte line + newline > 200
    assert isinstance(result.refused[0], RegistrationFull)
    roomy = dataclasses.replace(LIMITS, max_bytes=400)
    many = plan(b"", [], [cand(f"user{i:03d}") for i in range(10)], roomy)
    assert many.reserved and isinstance(many.refused[max(many.refused)], RegistrationFull)
    # Room is left for the event's end to mark every row (app.ending): the marked roster still fits.
    ended = [dataclasses.replace(r, pending_login="", ended=True) for r in many.records]
    assert len(roster.render_store(ended).encode()) <= roomy.max_bytes


def test_unchanged_roster_is_not_rewritten():
    records = [row("alice")]
    result = plan(b"alice:x\n", records, [cand("alice", salt="z")])
    assert not result.changed and result.refused


def test_plan_logins_publishes_every_pending_login_once_however_old():
    records = [cand("a"), cand("b", age=17), cand("c", age=3600), row("d"), cand("e")]
    content = ledger.plan_logins(b"# hand\ne:$2y$04$other\n", records, LIMITS)
    assert content == b"# hand\ne:$2y$04$other\na:$2y$04$a\nb:$2y$04$a\nc:$2y$04$a\n"


def test_plan_logins_respects_the_secret_limit():
    limits = dataclasses.replace(LIMITS, max_bytes=27)  # alice (15 bytes) fits, bob (13) would make 28
    assert ledger.plan_logins(b"", [cand("alice"), cand("bob")], limits) == b"alice:$2y$04$a\n"


def test_where_a_reserved_candidates_line_stands():
    mine = cand("alice")
    def line(content: bytes):
        return ledger.line_of(mine, htpasswd.entries(content))
    assert line(b"") == ledger.Line.PENDING
    assert line(b"alice:$2y$04$a\n") == ledger.Line.JUST_WRITTEN
    assert line(b"alice:$2y$04$b\n") == ledger.Line.CLOBBERED
    assert ledger.line_of(dataclasses.replace(mine, pending_login=""), htpasswd.entries(b"")) == ledger.Line.REMOVED


def test_taken_reports_both_fields():
    records = [row("alice"), cand("bob")]
    def taken(logins, rows, username, email):
        return ledger.Index.of(logins, rows, 0).taken(username, email)
    assert taken(b"alice:x\n", records, "alice", "bob@example.com") == {
        "username": ledger.USERNAME_TAKEN, "email": ledger.EMAIL_TAKEN}
    assert taken(b"carol:x\n", [], "carol", None) == {"username": ledger.USERNAME_TAKEN}
    assert taken(b"", [], "dave", "dave@example.com") == {}


@pytest.mark.parametrize("logins, records, probe", [
    (b"", [], cand("alice")),
    (b"# hand\nAlice:{SHA}x\n", [], cand("alice")),
    (b"bob:x\n", [row("bob", "shared@example.com")], cand("carol", "Shared@example.com")),
    (b"", [cand("alice", age=10)], cand("alice", "other@example.com")),
    (b"", [cand("alice", age=10)], cand("alice")),
    (b"alice:x\n", [row("alice", "x@example.com")], cand("alice", "x@example.com")),
    (b"a:x\n", [row("a"), cand("b")], cand("c")),
    (b"x" * 190, [], cand("alice")),
])
@pytest.mark.parametrize("limits", [LIMITS, dataclasses.replace(LIMITS, max_users=2),
                                    dataclasses.replace(LIMITS, max_bytes=200)])
def test_the_pre_check_and_the_planner_refuse_by_the_one_rule(logins, records, probe, limits):
    probe = dataclasses.replace(probe, pending_login="")  # the pre-check's probe carries no line
    import app.roster as roster_module
    size = len(roster_module.render_store(records).encode())
    planned = ledger.plan_roster(logins, records, [probe], limits, stored_size=size).refused.get(0)
    indexed = ledger.refusal(probe, ledger.Index.of(logins, records, size), limits)
    assert type(indexed) is type(planned) and getattr(indexed, "errors", None) == getattr(planned, "errors", None)
