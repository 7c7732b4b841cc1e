"""Who can log in (app.activation) and the chart built from it, as tables: no I/O."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from app import activation
from app.activation import ACTIVE, ENDED, PENDING, REFUSED, Batch
from app.ledger import Line
from app.roster import Registration
from app.web import admin_views

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def record(name: str) -> Registration:
    return Registration(name, name.title(), f"{name}@example.com", T)


@pytest.mark.parametrize("login, waiting, settled, refused, confirmed, expected", [
    (Line.PENDING, False, True, False, False, PENDING),  # not written yet
    (Line.WRITTEN, True, False, False, False, PENDING),  # written, its rollout still running
    (Line.WRITTEN, True, True, False, False, ACTIVE),  # its rollout completed
    (Line.WRITTEN, False, False, False, False, ACTIVE),  # written by an earlier write (served since)
    (Line.WRITTEN, True, False, False, True, ACTIVE),  # a live check logged in: active, rollout or not
    (Line.WRITTEN, True, True, True, False, REFUSED),  # OpenShift refused the name
])
def test_each_login_state(login, waiting, settled, refused, confirmed, expected):
    found = activation.activations([(record("alice"), login)], {"alice"} if waiting else set(), settled,
                              ["alice"] if refused else [], ["alice"] if confirmed else [])
    assert found == {"alice": expected}


@pytest.mark.parametrize("noted", ["", "not json", '{"a": 1}', "[1, 2]"])
def test_a_damaged_note_means_nothing_waits(noted):
    assert activation.unconfirmed({activation.UNCONFIRMED: noted}) == set()


def test_the_note_round_trips_and_counts_add_up():
    assert activation.unconfirmed(activation.note(["bob", "alice"], ["carol", "bob"])) == {"alice", "bob", "carol"}
    assert activation.counts({"a": ACTIVE, "b": PENDING, "c": ACTIVE}) == {PENDING: 1, ACTIVE: 2, REFUSED: 0, ENDED: 0}


def test_the_chart_plots_counts_and_rollouts_and_never_a_name():
    overview = dataclasses.make_dataclass("O", ["attendees", "logins", "batches"])(
        [record("alice"), record("bob"), record("carol")], {"alice": ACTIVE, "bob": ACTIVE, "carol": PENDING},
        [Batch(T.timestamp() + 10, T.timestamp() + 70, 2)])
    figure = admin_views.chart(overview)
    registered, activated = figure["data"]
    assert registered["y"] == [1, 2, 3] and activated["y"] == [2]
    assert activated["x"] == ["2026-12-01T09:01:10Z"]
    [rollout] = figure["layout"]["shapes"]
    assert (rollout["x0"], rollout["x1"]) == ("2026-12-01T09:00:10Z", "2026-12-01T09:01:10Z")
    assert not any(name in json.dumps(figure) for name in ("alice", "bob", "carol", "example.com"))
