"""Slow request bodies against gunicorn as deployed (2 workers of 32 threads, config.py): connections that
declare a large body and send it a byte at a time must not take the threads that answer the probes and
the room (app.web.bodies). The OpenShift router forwards a body as it arrives (its template has no
`option http-buffer-request`), so this is what the pod sees through the Route too.
"""

from __future__ import annotations

import socket
import threading
import time

import requests

from app.web import bodies
from tests.helpers import person, wait_until
from tests.servers import gunicorn

API = "/api/v1/registrations"
ATTACKERS = 140  # the figure: more than the pod's 64 threads
ATTACK_SECONDS = 14  # longer than a body may take (bodies.DEADLINE): the slow ones are answered before


class Trickle:
    """The attack: connections declaring a 60,000-byte body, each sending one byte a second (the issue's was
    one every 4 s; faster is harder on the server), re-opened when the server closes them, for at most
    ATTACK_SECONDS and 1,000 connections in all. Counts the answers the server gave them."""

    def __init__(self, base: str, concurrent: int):
        self.address = ("127.0.0.1", int(base.rsplit(":", 1)[1]))
        self.concurrent = concurrent
        self.answers: list[tuple[bytes, float]] = []  # each answer's status line, and how long it took
        self.opened = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> tuple[socket.socket, float]:
        self.opened += 1
        connection = socket.create_connection(self.address, timeout=5)
        connection.sendall(b"POST " + API.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"X-Forwarded-For: 10.9.9.9\r\nContent-Length: 60000\r\n\r\n{")
        connection.setblocking(False)
        return connection, time.monotonic()

    def _run(self) -> None:
        connections = [self._open() for _ in range(self.concurrent)]
        ends = time.monotonic() + ATTACK_SECONDS
        while not self.stopping.wait(1.0) and time.monotonic() < ends:
            for index, (connection, opened_at) in enumerate(connections):
                try:
                    answer = connection.recv(200)
                except BlockingIOError:
                    answer = None
                except OSError:
                    answer = b""
                if answer is None:
                    try:
                        connection.send(b" ")
                        continue
                    except OSError:
                        answer = b""
                self.answers.append((answer.split(b"\r\n", 1)[0], time.monotonic() - opened_at))
                connection.close()
                if self.opened < 1000:
                    connections[index] = self._open()
        for connection, _ in connections:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=30)


def test_slow_bodies_leave_the_probes_and_the_room_served(tmp_path):
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT": "off", "BCRYPT_ROUNDS": "4", "TRUSTED_PROXY_HOPS": "1"}
    with gunicorn(env, workers=2) as base, Trickle(base, ATTACKERS) as attack:
        wait_until(lambda: attack.opened >= ATTACKERS, timeout=10)
        probes = []
        started = time.monotonic()
        while time.monotonic() - started < ATTACK_SECONDS - 3:  # probes, back to back, through the attack
            probes.append(requests.get(base + "/healthz", timeout=2).status_code)
        registered = requests.post(base + API, json=person(1), headers={"X-Forwarded-For": "10.1.1.1"}, timeout=5)
        page = requests.get(base + "/", timeout=5)
        assert set(probes) == {200} and len(probes) >= 10
        assert registered.status_code == 201, registered.text
        assert page.status_code == 200
        wait_until(lambda: len(attack.answers) >= ATTACKERS, timeout=ATTACK_SECONDS)
    statuses = {status.split(b" ")[1] for status, _ in attack.answers if status}
    assert statuses <= {b"408", b"503"}, statuses  # told, and their connections closed
    assert max(took for _, took in attack.answers) < bodies.DEADLINE + 3  # no body holds a thread longer
