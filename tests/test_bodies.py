"""The body gate (app.web.bodies) on real socket pairs, with time moved by hand: the app gets whole bodies
from memory; a body late for its slot gets 408, one without a slot that does not come at once 503."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from app.web import bodies
from tests.fakes import FakeClock
from tests.helpers import wait_until


class Answered:
    """One request through the gate, in its own thread as gunicorn's would be."""

    def __init__(self, gate: bodies.BodyGate, client: str, length: int | None, sent: bytes = b""):
        self.peer, server_side = socket.socketpair()
        self.peer.sendall(sent)
        environ = {"REMOTE_ADDR": client, "gunicorn.socket": server_side, "wsgi.input": server_side.makefile("rb")}
        if length is None:
            environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        else:
            environ["CONTENT_LENGTH"] = str(length)
        self.status = self.headers = self.body = None
        self.thread = threading.Thread(target=self._run, args=(gate, environ), daemon=True)
        self.thread.start()

    def _run(self, gate, environ):
        def start_response(status, headers):
            self.status, self.headers = status, dict(headers)
        self.body = b"".join(gate(environ, start_response))

    def done(self, within: float = 5) -> bool:
        self.thread.join(timeout=within)
        return not self.thread.is_alive()

    def waiting(self) -> bool:
        """Still reading, a moment after (a body in a slot is not cut before its deadline)."""
        return not self.done(within=0.2)


def echo(environ, start_response):
    """The app behind the gate: what it read, and the length it was told."""
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("X-Length", environ["CONTENT_LENGTH"])])
    return [body]


@pytest.fixture
def clock():
    return FakeClock()


def test_a_whole_body_reaches_the_app_from_memory(clock):
    gate = bodies.BodyGate(echo, threads=8, max_bytes=100, clock=clock)
    answer = Answered(gate, "10.0.0.1", 5, b"hello")
    assert answer.done() and answer.status == "200 OK" and answer.body == b"hello"
    assert answer.headers["X-Length"] == "5" and gate.reading() == 0


def test_a_body_late_for_its_slot_gets_408_and_a_closed_connection(clock):
    gate = bodies.BodyGate(echo, threads=8, max_bytes=100, clock=clock)
    answer = Answered(gate, "10.0.0.1", 50, b"{")  # one byte of fifty, then nothing
    wait_until(lambda: gate.reading() == 1, timeout=5)
    clock.at += bodies.DEADLINE - 1
    assert gate.step() == pytest.approx(1) and answer.waiting()  # still within its deadline
    answer.peer.sendall(b"x")  # a byte now and then does not buy more time
    clock.at += 1
    gate.step()
    assert answer.done() and answer.status.startswith("408") and answer.headers["Connection"] == "close"
    assert json.loads(answer.body)["errors"]
    assert gate.reading() == 0


def test_without_a_free_slot_a_body_must_come_at_once(clock):
    gate = bodies.BodyGate(echo, threads=4, max_bytes=100, clock=clock)  # two slots
    holders = [Answered(gate, f"10.0.0.{n}", 50, b"{") for n in (1, 2)]
    wait_until(lambda: gate.reading() == 2, timeout=5)
    quick = Answered(gate, "10.0.0.3", 5, b"hello")  # all there: no slot needed
    assert quick.done() and quick.body == b"hello"
    slow = Answered(gate, "10.0.0.3", 50, b"{")
    wait_until(lambda: gate.reading() == 3, timeout=5)
    clock.at += bodies.GRACE
    gate.step()
    assert slow.done() and slow.status.startswith("503") and slow.headers["Retry-After"] == "1"
    assert all(holder.waiting() for holder in holders)  # the slots' own deadline is later
    holders[0].peer.sendall(b"x" * 49)  # a slot frees when its body is in
    assert holders[0].done() and holders[0].status == "200 OK"
    again = Answered(gate, "10.0.0.3", 50, b"{")
    wait_until(lambda: gate.reading() == 2, timeout=5)
    clock.at += bodies.GRACE
    gate.step()
    assert again.waiting()  # it has the freed slot


def test_one_client_takes_at_most_its_share_of_the_slots(clock):
    gate = bodies.BodyGate(echo, threads=64, max_bytes=100, clock=clock)
    mine = [Answered(gate, "10.0.0.9", 50, b"{") for _ in range(bodies.PER_CLIENT + 1)]
    other = Answered(gate, "10.0.0.1", 50, b"{")
    wait_until(lambda: gate.reading() == bodies.PER_CLIENT + 2, timeout=5)
    clock.at += bodies.GRACE
    gate.step()
    refused = [answer for answer in mine if answer.done(within=1)]
    assert len(refused) == 1 and refused[0].status.startswith("503")
    assert other.waiting()


def test_a_chunked_body_over_the_limit_reaches_the_app_as_too_large(clock):
    seen = {}

    def app(environ, start_response):
        seen["length"] = int(environ["CONTENT_LENGTH"])
        start_response("413 Request Entity Too Large", [])
        return [b""]

    gate = bodies.BodyGate(app, threads=8, max_bytes=10, clock=clock)
    peer, server_side = socket.socketpair()
    peer.sendall(b"x" * 20)
    peer.shutdown(socket.SHUT_WR)
    environ = {"REMOTE_ADDR": "10.0.0.1", "gunicorn.socket": server_side, "wsgi.input": server_side.makefile("rb"),
               "HTTP_TRANSFER_ENCODING": "chunked"}
    statuses = []
    gate(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["413 Request Entity Too Large"] and seen["length"] == 11


def test_a_body_cut_short_by_its_client_gets_400(clock):
    gate = bodies.BodyGate(echo, threads=8, max_bytes=100, clock=clock)
    answer = Answered(gate, "10.0.0.1", 50, b"{")
    wait_until(lambda: gate.reading() == 1, timeout=5)
    answer.peer.shutdown(socket.SHUT_WR)
    assert answer.done() and answer.status.startswith("400")


def test_without_gunicorn_the_body_is_still_read_first(clock):
    gate = bodies.BodyGate(echo, threads=8, max_bytes=100, clock=clock)
    peer, server_side = socket.socketpair()
    peer.sendall(b"hi")
    statuses = []
    body = gate({"CONTENT_LENGTH": "2", "wsgi.input": server_side.makefile("rb")},
                lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"] and b"".join(body) == b"hi" and gate.reading() == 0
