"""Seats, local files: made by the instructor in one write, claimed by email, passwords never stored."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from app import ledger, roster, seats
from app.admin import SeatsRefused
from app.errors import SeatsTaken
from app.ledger import AGAIN_WINDOW
from app.roster import Registration
from app.settings import Settings, digest
from app.store import make_store
from tests.helpers import FAST_ROUNDS, GOOD, instructor, person, published

CLAIMS = "/api/v1/claims"
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=10)


def seat(number: int, **changes) -> Registration:
    return dataclasses.replace(Registration(f"user{number}", "", "", T0, seat=True, seat_nonce=f"nonce{number}"),
                               **changes)


def htpasswd_verifies(path, username: str, password: str) -> bool:
    """Apache's own check of a password against an htpasswd file."""
    return subprocess.run(["htpasswd", "-vb", str(path), username, password], capture_output=True).returncode == 0


# --- The decisions (app.ledger), pure -------------------------------------------------------------------

def test_each_claim_gets_the_next_free_seat_and_none_is_given_twice():
    records = [seat(1), seat(2), seat(3)]
    claims = [seats.Claim(f"a{i}@example.com", T0) for i in range(5)]
    plan = seats.plan_claims(records, claims, WINDOW)
    assert [plan.claimed[i].seat.username for i in range(3)] == ["user1", "user2", "user3"]
    assert all(isinstance(plan.refused[i], SeatsTaken) for i in (3, 4))
    assert [(r.email, r.claimed_at) for r in plan.records] == [(f"a{i}@example.com", T0) for i in range(3)]


def test_the_same_email_gets_its_seat_again_only_within_the_window():
    first = seats.plan_claims([seat(1), seat(2)], [seats.Claim("A@example.com", T0)], WINDOW)
    again = seats.plan_claims(first.records, [seats.Claim("a@example.com", T0 + WINDOW)], WINDOW)
    assert again.claimed[0] == seats.Claimed(first.claimed[0].seat, again=True) and not again.changed
    late = seats.plan_claims(first.records, [seats.Claim("a@example.com", T0 + WINDOW + timedelta(seconds=1))],
                              WINDOW)
    assert late.refused[0].errors == {"email": seats.seat_held("user1")}
    assert late.records[0].seat_nonce == "" and late.changed  # its password can never be derived again
    assert late.records[1] == seat(2)  # an unclaimed seat keeps its nonce


def test_a_registered_email_cannot_claim_and_a_seat_without_nonce_is_not_handed_out():
    alice = Registration("alice", "Alice", "alice@example.com", T0)
    plan = seats.plan_claims([alice, seat(1, seat_nonce="")], [seats.Claim("alice@example.com", T0),
                                                               seats.Claim("bob@example.com", T0)], WINDOW)
    assert plan.refused[0].errors == {"email": ledger.EMAIL_TAKEN}
    assert isinstance(plan.refused[1], SeatsTaken)


def test_unclaimed_seats_hold_no_email_against_each_other_or_registrations():
    rows = [seat(1, pending_login="user1:x"), seat(2, pending_login="user2:y")]
    plan = ledger.plan_roster(b"", [], rows, ledger.Limits())
    assert plan.reserved == [0, 1]
    index = ledger.Index.of(b"", plan.records, 0)
    assert index.free_seats == 2 and index.taken("bob", "") == {} and index.taken("user1", None)
    assert ledger.plan_roster(b"", plan.records, [Registration("bob", "Bob", "bob@example.com", T0, "bob:z")],
                              ledger.Limits()).reserved == [0]


def test_a_seat_password_is_derived_from_the_key_the_name_and_the_nonce():
    key = bytes(32)
    made = seats.password(key, "user1", "n1")
    assert made == seats.password(key, "user1", "n1")
    assert len({made, seats.password(key, "user2", "n1"), seats.password(key, "user1", "n2"),
                seats.password(bytes([1]) * 32, "user1", "n1")}) == 4
    assert len(made) == 19 and made.count("-") == 3


# --- Made by the instructor, claimed through the API ----------------------------------------------------

@pytest.fixture
def seated(tmp_path, app_for):
    """Settings with seats on (and an access code), the app's client, and the admin service."""
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None, seats=True,
                        access_code_digest=digest("velvet-otter"))
    app = app_for(settings)
    store = make_store(settings)
    return settings, app.server.test_client(), instructor(store)


def claim(client, email: str, code: str = "velvet-otter", token: str | None = None):
    return client.post(CLAIMS, json={"email": email, "access_code": code,
                                     **({"claim_token": token} if token is not None else {})})


def test_seats_are_made_in_one_write_and_their_passwords_are_stored_nowhere(seated):
    settings, _, admin = seated
    made = admin.create_seats(5, prefix="seat", start=11)
    assert [name for name, _ in made] == [f"seat{n}" for n in range(11, 16)]
    data = settings.data_dir
    assert not (data / "htpasswd").exists() or b"seat" not in (data / "htpasswd").read_bytes()  # pending
    admin.handover.publish()
    content = published(data, *(name for name, _ in made))
    assert content.count(b"\n") == 5
    for name, password in made:
        assert htpasswd_verifies(data / "htpasswd", name, password)
    every_file = b"".join(path.read_bytes() for path in data.rglob("*") if path.is_file())
    assert not any(password.encode() in every_file for _, password in made)
    users = roster.parse((data / "users.csv").read_text())
    assert [(u.username, u.email, u.seat, u.claimed_at) for u in users] == [(n, "", True, None) for n, _ in made]


def test_taken_names_refuse_the_whole_batch_and_say_where_to_start(seated):
    _, client, admin = seated
    admin.create_seats(3)
    before = (admin.settings.data_dir / "registrations.csv").read_bytes()
    with pytest.raises(SeatsRefused, match=r"taken: user2, user3; the next free numbers start at 4"):
        admin.create_seats(3, start=2)
    with pytest.raises(SeatsRefused, match="not a valid username"):
        admin.create_seats(2, prefix="Bad_")
    with pytest.raises(SeatsRefused, match="1 to 500"):
        admin.create_seats(0)
    assert (admin.settings.data_dir / "registrations.csv").read_bytes() == before


def test_a_claim_gives_a_working_login_once_then_again_only_to_its_claimant(seated):
    settings, client, admin = seated
    admin.create_seats(2)
    admin.handover.publish()
    first = claim(client, "Ann@Example.com")
    assert first.status_code == 201
    body = first.json
    assert body["username"] == "user1" and body["login"] == "active" and not body["again"]
    assert htpasswd_verifies(settings.data_dir / "htpasswd", "user1", body["password"])
    token = body["claim_token"]
    one_off = token[:-1] + ("B" if token.endswith("A") else "A")  # one character wrong (never the token itself)
    for stranger in (None, "", "forged-token", one_off, 5):  # the email alone: no
        refused = claim(client, "ann@example.com", token=stranger)
        assert refused.status_code == 409 and refused.json["errors"] == {"email": seats.seat_held("user1")}
        assert body["password"] not in refused.get_data(as_text=True)
    again = claim(client, "ann@example.com", token=body["claim_token"])  # the claimant's lost tab
    assert again.status_code == 200 and again.json["again"]
    assert (again.json["username"], again.json["password"]) == ("user1", body["password"])
    second = claim(client, "bob@example.com")
    assert second.status_code == 201 and second.json["username"] == "user2"
    full = claim(client, "carol@example.com")
    assert full.status_code == 409 and full.json == {"errors": SeatsTaken().errors}
    users = {u.username: u for u in roster.parse((settings.data_dir / "users.csv").read_text())}
    assert users["user1"].email == "Ann@example.com" and users["user1"].claimed_at is not None


def test_past_the_window_the_seat_stays_theirs_but_its_password_is_gone(seated):
    settings, client, admin = seated
    admin.create_seats(2)
    admin.handover.publish()
    claim(client, "ann@example.com")
    stored = settings.data_dir / "registrations.csv"
    records = roster.parse_store(stored.read_text())
    backdated = [dataclasses.replace(r, claimed_at=r.claimed_at - AGAIN_WINDOW - timedelta(seconds=5))
                 if r.claimed_at else r for r in records]
    stored.write_text(roster.render_store(backdated))
    late = claim(client, "ann@example.com")
    assert late.status_code == 409 and late.json["errors"] == {"email": seats.seat_held("user1")}
    assert [r.seat_nonce == "" for r in roster.parse_store(stored.read_text())] == [True, False]
    assert claim(client, "bob@example.com").json["username"] == "user2"


def test_a_wrong_access_code_gets_only_its_own_error_and_touches_nothing(seated):
    settings, client, admin = seated
    admin.create_seats(1)
    before = (settings.data_dir / "registrations.csv").read_bytes()
    for code in ("wrong", ""):
        response = claim(client, "not an email", code=code)
        assert response.status_code == 403 and list(response.json["errors"]) == ["access_code"]
    assert claim(client, "not an email").json["errors"]["email"].startswith("This does not look like an email")
    assert client.post(CLAIMS, data="nope").status_code == 400
    assert (settings.data_dir / "registrations.csv").read_bytes() == before


def test_emails_are_one_per_attendee_across_registrations_and_seats(seated, app_for):
    settings, _, admin = seated
    client = app_for(dataclasses.replace(settings, access_code_digest=None)).server.test_client()
    admin.create_seats(2)
    assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
    assert claim(client, GOOD["email"]).json["errors"] == {"email": ledger.EMAIL_TAKEN}
    assert claim(client, "bob@example.com").status_code == 201
    taken = client.post("/api/v1/registrations", json=person(2, email="bob@example.com"))
    assert taken.status_code == 409 and "email" in taken.json["errors"]


def test_each_way_in_is_offered_only_when_it_is_on(make_app):
    off = make_app().server.test_client()
    assert claim(off, "ann@example.com").status_code == 404
    only_seats = make_app(seats=True, self_registration=False).server.test_client()
    response = only_seats.post("/api/v1/registrations", json=GOOD)
    assert response.status_code == 404 and "claim" in response.json["errors"]["form"]
    assert claim(only_seats, "ann@example.com").json == {"errors": SeatsTaken().errors}  # none made yet
    layout = only_seats.get("/_dash-layout").get_data(as_text=True)
    assert "claim-form" in layout and "registration-form" not in layout
    assert SeatsTaken().errors["form"] in layout  # none made: said at once, the form hidden
    layout = off.get("/_dash-layout").get_data(as_text=True)
    assert "registration-form" in layout and "claim-form" not in layout


def test_the_page_says_when_the_last_seat_is_gone_and_points_to_registering(seated):
    from app.web.claim_section import TAKEN_BELOW as SEATS_TAKEN_BELOW

    _, client, admin = seated
    admin.create_seats(1)
    assert SEATS_TAKEN_BELOW not in client.get("/_dash-layout").get_data(as_text=True)
    assert claim(client, "ann@example.com").status_code == 201
    layout = client.get("/_dash-layout").get_json()
    claim_form = _find(layout, "claim-form")
    assert claim_form["props"]["style"] == {"display": "none"}
    assert SEATS_TAKEN_BELOW in json.dumps(_find(layout, "claim-result"))


def _find(component, ident):
    """The component with this id in a Dash layout (as JSON)."""
    if isinstance(component, dict):
        if component.get("props", {}).get("id") == ident:
            return component
        children = component.get("props", {}).get("children")
        return _find(children, ident) if children is not None else None
    if isinstance(component, list):
        return next((found for item in component if (found := _find(item, ident)) is not None), None)
    return None


def test_reset_keeps_an_unclaimed_seat_claimable_and_retires_a_claimed_ones_password(seated):
    settings, client, admin = seated
    made = dict(admin.create_seats(2))
    admin.handover.publish()
    published(settings.data_dir, "user1", "user2")
    new_unclaimed = admin.reset_password("user2")
    assert new_unclaimed != made["user2"]
    body = claim(client, "ann@example.com").json  # user1
    assert admin.reset_password("user1") != body["password"]
    assert claim(client, "ann@example.com").json["errors"] == {"email": seats.seat_held("user1")}  # nonce gone
    second = claim(client, "bob@example.com").json
    assert second["username"] == "user2" and second["password"] == new_unclaimed
    assert htpasswd_verifies(settings.data_dir / "htpasswd", "user2", new_unclaimed)


def test_remove_takes_a_seat_away_like_any_attendee(seated):
    settings, client, admin = seated
    admin.create_seats(2)
    admin.handover.publish()
    published(settings.data_dir, "user1", "user2")
    admin.remove("user1")
    assert b"user1:" not in (settings.data_dir / "htpasswd").read_bytes()
    assert claim(client, "ann@example.com").json["username"] == "user2"
    overview = admin.overview()
    assert [r.username for r in overview.attendees] == ["user2"] and len(overview.seats) == 1


def test_the_cli_prints_the_seats_once_as_csv(settings, tmp_path):
    import sys

    env = {"DATA_DIR": str(settings.data_dir), "BCRYPT_ROUNDS": str(FAST_ROUNDS), "PATH": "/usr/bin:/bin"}
    made = subprocess.run([sys.executable, "-m", "app", "seats", "create", "--count", "3", "--prefix", "lab"],
                          capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert lines[0] == "username,password" and [line.split(",")[0] for line in lines[1:]] == ["lab1", "lab2", "lab3"]
    assert "made 3 seats" in made.stderr and "SEATS is off" in made.stderr  # a hint: nobody can claim them yet
    for line in lines[1:]:  # the CLI published them itself: nothing else runs here
        assert htpasswd_verifies(settings.data_dir / "htpasswd", *line.split(","))
    again = subprocess.run([sys.executable, "-m", "app", "seats", "create", "--count", "1", "--prefix", "lab"],
                           capture_output=True, text=True, env=env)
    assert again.returncode == 1 and "start at 4" in again.stderr and again.stdout == ""
    listing = subprocess.run([sys.executable, "-m", "app", "list"], capture_output=True, text=True, env=env)
    assert listing.stdout.split()[:6] == ["USERNAME", "FULL", "NAME", "EMAIL", "REGISTERED", "AT"]
    assert "unclaimed" in listing.stdout
    status = subprocess.run([sys.executable, "-m", "app", "status"], capture_output=True, text=True, env=env)
    assert status.stdout.splitlines()[:3] == ["registration open; 0 registered", "seats: 0 of 3 claimed",
                                              "logins: 0 pending, 0 active, 0 refused"]  # seats are not attendees


def test_a_claimed_seats_nonce_is_forgotten_after_the_window_even_with_no_later_claim(seated):
    from app.claims import NonceExpiry

    settings, client, admin = seated
    admin.create_seats(2)
    admin.handover.publish()
    assert claim(client, "ann@example.com").status_code == 201
    stored = settings.data_dir / "registrations.csv"
    expiry = NonceExpiry(admin.documents, interval=5)  # the runtime loop that applies app.seats' rule
    expiry.forget(admin.documents.latest(fresh=True), roster.now() + AGAIN_WINDOW - timedelta(seconds=30))
    assert [bool(r.seat_nonce) for r in roster.parse_store(stored.read_text())] == [True, True]
    expiry.forget(admin.documents.latest(fresh=True), roster.now() + AGAIN_WINDOW + timedelta(seconds=30))
    assert [bool(r.seat_nonce) for r in roster.parse_store(stored.read_text())] == [False, True]


def test_a_seat_whose_login_is_not_written_yet_is_not_reset_and_stays_claimable(seated):
    from app.admin import NotYetWritten

    settings, client, admin = seated
    made = dict(admin.create_seats(1))  # not published: nobody has stepped the publisher
    with pytest.raises(NotYetWritten):
        admin.reset_password("user1")
    body = claim(client, "ann@example.com").json
    assert body["username"] == "user1" and body["password"] == made["user1"]


@pytest.mark.parametrize("body", [
    {"email": ["ann@example.com"]}, {"email": {"$gt": ""}}, {"email": 7}, {"email": None}, {"email": "a" * 10_000},
    {"email": "ann@example.com\u202e"}, {}, [], "ann@example.com",
])
def test_hostile_claims_get_a_4xx_and_change_nothing(seated, body):
    settings, client, admin = seated
    admin.create_seats(1)
    before = (settings.data_dir / "registrations.csv").read_bytes()
    response = client.post(CLAIMS, json=dict(body, access_code="velvet-otter") if isinstance(body, dict) else body)
    assert 400 <= response.status_code < 500 and "errors" in response.json
    assert (settings.data_dir / "registrations.csv").read_bytes() == before


def test_claims_share_the_registrations_rate_limit(tmp_path, app_for):
    client = app_for(Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit="2/minute",
                                 seats=True)).server.test_client()
    codes = [claim(client, f"a{i}@example.com").status_code for i in range(2)]
    codes.append(client.post("/api/v1/registrations", json=GOOD).status_code)
    assert codes == [409, 409, 429]  # no seats, then too many attempts from this address


# --- One attendee taking every seat ------------------------------------------------------------------------

def test_bursts_are_addresses_claiming_faster_than_people_type_and_a_room_spread_out_is_none():
    room = [seat(n, email=f"p{n}@example.com", claimed_at=T0 + timedelta(seconds=20 * n), claimed_from="10.0.0.1")
            for n in range(1, 9)]  # a room behind one NAT: one claim every 20 s
    script = [seat(n, email=f"x{n}@example.com", claimed_at=T0 + timedelta(milliseconds=100 * n),
                   claimed_from="10.9.9.9") for n in range(9, 15)]  # six in 0.6 s
    found = seats.bursts(room + script + [seat(20)])
    assert found == [seats.Burst("10.9.9.9", 6, tuple(f"user{n}" for n in range(9, 15)))]
    assert seats.bursts(room, least=3) == [seats.Burst("10.0.0.1", 4, tuple(f"user{n}" for n in range(1, 9)))]


def test_one_client_taking_many_seats_is_shown_and_the_seats_given_back_with_new_passwords(seated):
    settings, client, admin = seated
    admin.create_seats(8)
    admin.handover.publish()
    taken = [claim(client, f"someone{n}@example.com").json for n in range(6)]  # one script, one address
    assert [t["username"] for t in taken] == [f"user{n}" for n in range(1, 7)]
    overview = admin.overview()
    assert [(b.client, b.most) for b in overview.claim_bursts] == [("127.0.0.1", 6)]
    from app.web import admin_views

    warning = str(admin_views.summary(overview))
    assert "127.0.0.1 claimed 6 seats within a minute" in warning and "seats release --from 127.0.0.1" in warning
    assert "127.0.0.1" not in str(admin_views.summary(overview, streamer=True))  # a streamed screen: no address
    assert admin.release_seats(["user1", "user2", "user7"]) == ["user1", "user2"]  # user7 was never claimed
    admin.handover.publish()
    for given in taken[:2]:  # the passwords the script saw no longer work
        assert not htpasswd_verifies(settings.data_dir / "htpasswd", given["username"], given["password"])
    assert htpasswd_verifies(settings.data_dir / "htpasswd", "user3", taken[2]["password"])  # the rest: theirs
    again = claim(client, "real-attendee@example.com").json  # a real attendee gets one, with a new password
    assert again["username"] == "user1" and again["password"] != taken[0]["password"]
    assert htpasswd_verifies(settings.data_dir / "htpasswd", "user1", again["password"])
    import os
    import sys

    env = dict(os.environ, DATA_DIR=str(settings.data_dir), BCRYPT_ROUNDS=str(FAST_ROUNDS), CLUSTER_SYNC="off",
               SEATS="true")
    status = subprocess.run([sys.executable, "-m", "app", "status"], env=env, capture_output=True, text=True)
    assert "seats claimed fast: 127.0.0.1 claimed 5 within a minute" in status.stdout  # the rest, and user1 again
    done = subprocess.run([sys.executable, "-m", "app", "seats", "release", "--from", "127.0.0.1"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "released 5 seats: user1, user3, user4, user5, user6" in done.stderr
    assert all(not r.claimed_at for r in roster.parse_store((settings.data_dir / "registrations.csv").read_text()))
