"""The app's background work has one owner with a visible lifetime (app.runtime): building the app and
serving requests start nothing; start() runs the workers, stop() ends them; requests do not wake the
publisher, a registration does."""

from __future__ import annotations

import threading

import pytest

from app.factory import create_app
from app.runtime import Loop, Queue, Runtime, runtime_of
from app.settings import Settings, digest
from tests.helpers import GOOD, wait_until

TOKEN = "instructor-token-123"


def threads() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_building_the_app_and_serving_requests_starts_no_thread(tmp_path):
    before = threads()
    settings = Settings(data_dir=tmp_path / "data", rate_limit=None, bcrypt_rounds=4, admin_token_digest=digest(TOKEN))
    app = create_app(settings)
    client = app.server.test_client()
    for path in ("/", "/healthz", "/readyz", "/admin/", "/_dash-layout"):
        assert client.get(path).status_code == 200, path
    refused = client.post("/api/v1/registrations", json=GOOD)  # nothing runs to store it: said at once
    assert refused.status_code == 503
    assert threads() == before
    runtime = runtime_of(app.server)
    runtime.start()
    try:
        assert threads() - before == {"publisher", "history", "seat-nonces", "reserver", "body-deadlines",
                                                 "event-end"}
        assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
    finally:
        runtime.stop()
    assert threads() == before


def test_requests_do_not_wake_the_publisher_a_registration_does(make_app, tmp_path):
    app = make_app()
    publisher = next(w for w in runtime_of(app.server).workers if w.name == "publisher")
    steps = []
    step = publisher.step
    publisher.step = lambda: steps.append(1) or step()
    client = app.server.test_client()
    wait_until(lambda: steps)  # its first look, at start
    seen = len(steps)
    for _ in range(20):
        client.get("/healthz")
        client.get("/readyz")
    assert len(steps) == seen  # the idle pace is REFRESH_INTERVAL (5 s): no request made it look
    assert client.post("/api/v1/registrations", json=GOOD).status_code == 201
    wait_until(lambda: len(steps) > seen, timeout=3)


def test_a_loop_steps_at_the_pace_it_asks_wakes_early_and_stops():
    ran = threading.Event()
    calls = []
    loop = Loop("test", lambda: calls.append(1) or ran.set() or 3600.0)
    runtime = Runtime()
    runtime.add(loop)
    runtime.start()
    runtime.start()  # twice changes nothing
    wait_until(ran.is_set)
    ran.clear()
    loop.wake()
    wait_until(ran.is_set)
    runtime.stop(timeout=5)
    assert len(calls) == 2 and "test" not in threads()


def test_a_loop_whose_step_raises_keeps_going(caplog):
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return 3600.0
    loop = Loop("flaky", step)
    runtime = Runtime()
    runtime.add(loop)
    runtime.start()
    wait_until(lambda: calls)
    loop.wake()  # after a bug it waits AFTER_A_BUG, unless woken
    wait_until(lambda: len(calls) == 2)
    runtime.stop()
    assert "event=worker_failed worker=flaky" in caplog.text


def test_a_queue_is_bounded_and_drained_by_its_worker():
    handled = []
    gate = threading.Event()
    queue = Queue("test-queue", lambda item: gate.wait(5) and handled.append(item), size=2)
    runtime = Runtime()
    runtime.add(queue)
    runtime.start()
    assert queue.put("a")
    wait_until(lambda: queue._items.qsize() == 0)  # the worker took it and waits at the gate
    assert queue.put("b") and queue.put("c") and not queue.put("d")  # full: refused, the caller says so
    gate.set()
    wait_until(lambda: handled == ["a", "b", "c"])
    runtime.stop()


@pytest.mark.parametrize("seats", [False, True])
def test_the_command_line_builds_its_parts_and_starts_nothing(tmp_path, seats, capsys):
    from app.__main__ import main

    before = threads()
    settings = Settings(data_dir=tmp_path / "data", bcrypt_rounds=4, seats=seats)
    args = ["seats", "create", "--count", "2"] if seats else ["status"]
    assert main(args, settings=settings) == 0
    assert threads() == before
