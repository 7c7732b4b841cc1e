"""users.csv: RFC 4180, formula cells neutralised, and whatever is written parses back exactly."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import roster
from app.roster import Registration, RosterError

WHEN = datetime(2026, 11, 26, 9, 30, 5, tzinfo=timezone.utc)


def test_header_quoting_and_times():
    text = roster.render([Registration("alice", 'Alice "Al" Liddell, PhD', "alice@example.com", WHEN)])
    assert text == (
        "username,full_name,email,registered_at,seat,claimed_at\r\n"
        'alice,"Alice ""Al"" Liddell, PhD",alice@example.com,2026-11-26T09:30:05Z,,\r\n'
    )


def test_a_seat_shows_who_claimed_it_and_when_never_its_nonce():
    made = Registration("user1", "", "", WHEN, seat=True, seat_nonce="n0nce")
    claimed = Registration("user2", "", "b@example.com", WHEN, seat=True, claimed_at=WHEN.replace(minute=45),
                           seat_nonce="n0nce")
    text = roster.render([made, claimed])
    assert text.splitlines()[1:] == ["user1,,,2026-11-26T09:30:05Z,yes,",
                                     "user2,,b@example.com,2026-11-26T09:30:05Z,yes,2026-11-26T09:45:05Z"]
    assert "n0nce" not in text and "n0nce" in roster.render_store([made])
    assert made.unclaimed and not claimed.unclaimed
    assert roster.parse_store(roster.render_store([made, claimed])) == [made, claimed]


def test_a_roster_stored_before_seats_existed_is_read_as_it_is():
    old = ("username,full_name,email,registered_at,pending_login\r\n"
           "alice,Alice,a@example.com,2026-11-26T09:30:05Z,alice:$2y$10$x\r\n")
    assert roster.parse_store(old) == [Registration("alice", "Alice", "a@example.com", WHEN,
                                                    pending_login="alice:$2y$10$x")]
    users_csv = "username,full_name,email,registered_at\r\nalice,Alice,a@example.com,2026-11-26T09:30:05Z\r\n"
    assert roster.parse(users_csv)[0].email == "a@example.com"


def test_a_roster_stored_before_the_end_existed_is_read_as_it_is_and_an_ended_row_as_a_record():
    before = ("username,full_name,email,registered_at,seat,claimed_at,pending_login,seat_nonce,claimed_from\r\n"
              "alice,Alice,a@example.com,2026-11-26T09:30:05Z,,,,,\r\n")
    (alice,) = roster.parse_store(before)
    assert not alice.ended
    ended = roster.render_store([Registration("alice", "Alice", "a@example.com", WHEN, ended=True)])
    assert ended.endswith(",yes\r\n") and roster.parse_store(ended)[0].ended
    assert "yes" not in roster.render([roster.parse_store(ended)[0]])  # users.csv shows no such column
    with pytest.raises(RosterError):
        roster.parse_store(ended.replace(",yes\r\n", ",2026-12-01T17:00:00Z\r\n"))


def test_a_seat_cell_other_than_yes_or_empty_is_refused():
    text = "username,full_name,email,registered_at,seat,claimed_at\r\nuser1,,,2026-11-26T09:30:05Z,maybe,\r\n"
    with pytest.raises(RosterError):
        roster.parse(text)


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("'quoted", "''quoted"),
        ("Plain = fine", "Plain = fine"),
        ("\u200b=1+1", "'\u200b=1+1"),  # a zero-width space first: spreadsheets may skip it
        ("\ufeff=1+1", "'\ufeff=1+1"),
        ("\u00a0=1+1", "'\u00a0=1+1"),
        (" =1+1", "' =1+1"),
        ("\u2060@SUM(A1)", "'\u2060@SUM(A1)"),
        ("Émile", "Émile"),
    ],
)
def test_formula_cells_are_neutralised(cell, shown):
    text = roster.render([Registration("alice", cell, "alice@example.com", WHEN)])
    row = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert row[1] == shown
    assert roster.parse(text)[0].full_name == cell


def test_users_csv_never_holds_the_pending_login():
    record = Registration("alice", "Alice", "a@example.com", WHEN, pending_login="alice:$2y$10$secret")
    assert "$2y$" not in roster.render([record])
    assert "$2y$" in roster.render_store([record])
    assert roster.parse_store(roster.render_store([record])) == [record]


@pytest.mark.parametrize(
    "text",
    ["name,email\r\nalice,a@b\r\n", "username,full_name,email,registered_at\r\nalice,A\r\n",
     "username,full_name,email,registered_at\r\nalice,A,a@b,yesterday\r\n",
     'username,full_name,email,registered_at\r\nalice,"unterminated,a@b,2026-11-26T09:30:05Z\r\n'],
)
def test_unreadable_rosters_raise(text):
    with pytest.raises(RosterError):
        roster.parse(text)


def test_empty_text_is_an_empty_roster():
    assert roster.parse("") == [] and roster.parse_store("   ") == []


cells = st.text(max_size=30)  # any unicode, including commas, quotes, newlines, NUL
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
seconds = times.map(lambda t: t.replace(microsecond=0))
records = st.builds(Registration, cells, cells, cells, seconds, cells, st.booleans(), st.none() | seconds, cells,
                    cells, st.booleans())


@given(st.lists(records, max_size=8))
def test_store_round_trip_is_exact(registrations):
    assert roster.parse_store(roster.render_store(registrations)) == registrations


@given(st.lists(records, max_size=8))
def test_no_input_adds_a_row_or_a_column(registrations):
    text = roster.render(registrations)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(registrations) + 1
    assert all(len(row) == 6 for row in rows)
    for row, record in zip(rows[1:], registrations, strict=True):
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert roster.restore(row[1]) == record.full_name
