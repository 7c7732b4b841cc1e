"""Request bodies read in full before the app runs, within a deadline: slow senders cannot hold the threads.

gunicorn's gthread worker waits for a connection's first bytes without a thread, but once a request has
begun, one of its threads reads the rest as it comes. The OpenShift router cuts slow headers (`timeout
http-request`, 10 s) but streams bodies as they arrive (its template has no `option http-buffer-request`),
so 140 connections each declaring a 60,000-byte body and sending a byte every few seconds took all 64
threads of a pod: /healthz stopped answering and the kubelet would have restarted it. Here, every request
with a body is read before the app sees it (the app then reads it from memory):

- at most half of a worker's threads read bodies at once (SLOT_SHARE), and at most PER_CLIENT of those
  for one client address; a body read in such a slot has DEADLINE seconds in all, else 408;
- without a free slot, the body must already be there or come at once (GRACE), else 503 with Retry-After:
  an honest body comes with its headers, in milliseconds; only a sender that holds it back is refused.

Either answer closes the connection. The deadlines are kept by the runtime's `body-deadlines` loop
(`BodyGate.step`): an overdue read is ended by shutting the reading side of its socket, which wakes the
thread waiting in recv with an end of file. What remains is a flood of fresh connections, each holding a
thread for GRACE at most: the router's `haproxy.router.openshift.io/rate-limit-connections` annotations
are the tool for that (docs/troubleshooting.md).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import socket
import threading
from collections import Counter

from app import metrics
from app.clock import SYSTEM, Clock
from app.errors import FORM

log = logging.getLogger(__name__)
DEADLINE = 10.0  # seconds for a whole body in a read slot: as long as the router gives a request's headers
GRACE = 0.5  # seconds for a body without a free slot (about one round trip of a poor mobile link)
SLOT_SHARE = 2  # one thread in SLOT_SHARE may read a body (the others answer probes, pages and the rest)
PER_CLIENT = 4  # read slots for one client address (a room behind one address sends its bodies in ms)
IDLE = 1.0  # seconds between the loop's looks when nothing is being read


@dataclasses.dataclass
class _Read:
    connection: socket.socket
    client: str
    deadline: float
    slot: bool
    ended: bool = False  # the loop shut its reading side: too late


class BodyGate:
    """WSGI middleware (inside ProxyFix, so the client is the one the router saw) reading bodies first."""

    def __init__(self, app, threads: int, max_bytes: int, clock: Clock = SYSTEM):
        self.app = app
        self.slots = max(1, threads // SLOT_SHARE)
        self.per_client = min(PER_CLIENT, self.slots)
        self.max_bytes = max_bytes
        self.clock = clock
        self.wake = lambda: None  # set to the loop's wake (app.factory): an earlier deadline than it waits for
        self._lock = threading.Lock()
        self._reads: dict[int, _Read] = {}
        self._clients: Counter[str] = Counter()

    def __call__(self, environ, start_response):
        length = _declared(environ)
        if length == 0 or (length is not None and length > self.max_bytes):
            return self.app(environ, start_response)  # nothing to read, or refused unread (413, app.web.http)
        read = self._begin(environ)
        try:
            body = environ["wsgi.input"].read(self.max_bytes + 1 if length is None else length)
        except Exception as error:  # the client's doing: a reset, a broken chunk, an end of file
            body, broken = b"", type(error).__name__
        else:
            broken = None
        late = self._end(read)
        if late or broken or (length is not None and len(body) < length):
            return self._refuse(start_response, read, late, broken)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _begin(self, environ) -> _Read | None:
        connection = environ.get("gunicorn.socket")
        if not isinstance(connection, socket.socket):
            return None  # not under gunicorn (a test client, the development server): nothing to cut
        client = environ.get("REMOTE_ADDR") or "unknown"
        with self._lock:
            slot = len([r for r in self._reads.values() if r.slot]) < self.slots \
                and self._clients[client] < self.per_client
            read = _Read(connection, client, self.clock.monotonic() + (DEADLINE if slot else GRACE), slot)
            earliest = min((r.deadline for r in self._reads.values()), default=None)
            self._reads[id(read)] = read
            if slot:
                self._clients[client] += 1
        if earliest is None or read.deadline < earliest:
            self.wake()
        return read

    def _end(self, read: _Read | None) -> bool:
        """The read is over: free its slot; True when the loop ended it (too late)."""
        if read is None:
            return False
        with self._lock:
            self._reads.pop(id(read), None)
            if read.slot:
                self._clients[read.client] -= 1
                if not self._clients[read.client]:
                    del self._clients[read.client]
            return read.ended

    def step(self) -> float:
        """End the reads past their deadline; the seconds until the next one is due."""
        now = self.clock.monotonic()
        with self._lock:  # held while shutting: a read that just finished is no longer here to be cut
            for read in self._reads.values():
                if not read.ended and read.deadline <= now:
                    read.ended = True
                    try:
                        socket.socket.shutdown(read.connection, socket.SHUT_RD)  # the TCP socket, under TLS too
                    except OSError:
                        pass  # the client has gone already
            due = [r.deadline for r in self._reads.values() if not r.ended]
        return min([IDLE] + [deadline - now for deadline in due])

    def _refuse(self, start_response, read: _Read | None, late: bool, broken: str | None):
        if late and read is not None and not read.slot:
            status, message, outcome = "503 Service Unavailable", "The server is busy. Please try again.", "busy"
        elif late:
            status, message, outcome = "408 Request Timeout", "The request took too long to arrive.", "late"
        else:
            status, message, outcome = "400 Bad Request", "The request ended before its body did.", "broken"
        metrics.SLOW_BODIES.labels(outcome).inc()
        log.info("event=request_body_refused outcome=%s client=%s%s", outcome, read.client if read else "unknown",
                 f" cause={broken}" if broken else "")
        body = json.dumps({"errors": {FORM: message}}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
        if outcome == "busy":
            headers.append(("Retry-After", "1"))
        start_response(status, headers)
        return [body]

    def reading(self) -> int:
        """Bodies being read now (for tests and the curious)."""
        with self._lock:
            return len(self._reads)


def _declared(environ) -> int | None:
    """The body's declared length; None for a chunked body (read up to the limit)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0  # not a number: the app answers as it would
