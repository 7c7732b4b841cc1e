"""The process's background work: one owner, with a visible lifetime. The only module that starts threads.

Building the app starts nothing. `create_app` gathers the app's workers into its `Runtime` (kept on the
Flask app: `runtime_of(server)`); gunicorn's `post_worker_init` (config.py) and `python wsgi.py` start
it once the worker process is ready to serve, tests start and stop it, and the instructor's command line
never does (it runs the steps it needs itself). Each gunicorn worker builds its own app, so threads are
always started in the process that runs them.

A worker is a `Loop` (a step repeated at the pace it returns, woken early by `wake()`), a `Queue` (a
consumer of items handed to it, bounded) or any object with `run(stopping)` and `interrupt()`. Every
worker reads the time from the one `Clock` (app.clock) the runtime is given.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from app.clock import SYSTEM, Clock

log = logging.getLogger(__name__)
EXTENSION = "workshop_registration_runtime"  # where create_app keeps the runtime on the Flask app
AFTER_A_BUG = 5.0  # seconds before a loop whose step raised (a bug, logged) tries again


class Backoff:
    """How long a worker waits after each failure in a row (an API outage): doubling, within bounds."""

    FIRST, MOST = 0.1, 2.0

    def __init__(self):
        self._last = 0.0

    def next(self) -> float:
        self._last = min(self.MOST, max(self.FIRST, self._last * 2))
        return self._last

    def reset(self) -> None:
        self._last = 0.0


class Worker(Protocol):
    name: str

    def run(self, stopping: threading.Event) -> None:
        """Work until `stopping` is set (then return soon)."""

    def interrupt(self) -> None:
        """Make a waiting `run` look at `stopping` now."""


class Loop:
    """A step repeated until the runtime stops: `step()` returns the seconds until the next one."""

    def __init__(self, name: str, step: Callable[[], float]):
        self.name = name
        self.step = step
        self._wake = threading.Event()

    def wake(self) -> None:
        """Run the step now rather than when it asked (a registration was just reserved)."""
        self._wake.set()

    def interrupt(self) -> None:
        self._wake.set()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                delay = self.step()
            except Exception:  # keep going whatever happens; the log says what
                log.exception("event=worker_failed worker=%s reason=internal_error", self.name)
                delay = AFTER_A_BUG
            self._wake.wait(max(0.0, delay))
            self._wake.clear()


class Queue:
    """Items handed over by `put`, handled one by one by `handle`; at most `size` wait (more are refused)."""

    _STOP = object()

    def __init__(self, name: str, handle: Callable[[object], None], size: int):
        self.name = name
        self.handle = handle
        self._items: queue.Queue = queue.Queue(maxsize=size)

    def put(self, item: object) -> bool:
        """Hand an item over without waiting; False when the queue is full (the caller says so)."""
        try:
            self._items.put_nowait(item)
            return True
        except queue.Full:
            return False

    def interrupt(self) -> None:
        try:
            self._items.put_nowait(self._STOP)
        except queue.Full:
            pass  # run() looks at `stopping` between items anyway

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            item = self._items.get()
            if item is self._STOP:
                continue
            try:
                self.handle(item)
            except Exception:
                log.exception("event=worker_failed worker=%s reason=internal_error", self.name)


@dataclasses.dataclass
class Runtime:
    """The workers of one app in one process, started and stopped together."""

    clock: Clock = SYSTEM
    workers: list[Worker] = dataclasses.field(default_factory=list)
    _threads: list[threading.Thread] = dataclasses.field(default_factory=list)
    _stopping: threading.Event = dataclasses.field(default_factory=threading.Event)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, worker: Worker) -> Worker:
        self.workers.append(worker)
        return worker

    def loop(self, name: str, step: Callable[[], float]) -> Loop:
        return self.add(Loop(name, step))

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stopping.is_set()

    def start(self) -> None:
        """Start every worker's thread (once: a second call changes nothing)."""
        with self._lock:
            if self._threads:
                return
            self._stopping.clear()
            for worker in self.workers:
                thread = threading.Thread(target=worker.run, args=(self._stopping,), name=worker.name, daemon=True)
                thread.start()
                self._threads.append(thread)
        log.info("event=runtime_started workers=%s", ",".join(w.name for w in self.workers) or "-")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop, and wait for them (a worker still busy after timeout is left)."""
        with self._lock:
            self._stopping.set()
            for worker in self.workers:
                worker.interrupt()
            threads, self._threads = self._threads, []
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def runtime_of(server) -> Runtime | None:
    """The runtime create_app keeps on a Flask app (None for any other WSGI app)."""
    return getattr(server, "extensions", {}).get(EXTENSION)
