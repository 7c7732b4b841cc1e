"""Starting the app under gunicorn for tests: loopback only, a free port, waits for /readyz."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PROCESSES: dict[str, subprocess.Popen] = {}  # base URL -> the gunicorn master serving it (for fault tests)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 4, log_path: Path | None = None, ready_timeout: float = 60,
             ready_path: str = "/readyz", app: str = "wsgi:application", scheme: str = "http",
             verify: str | bool = True):
    """Serve wsgi:application with config.py on 127.0.0.1; yield the base URL once ready_path answers 200
    (https, checked against `verify`, when the environment gives gunicorn a certificate).

    The listening socket is bound here and handed to gunicorn (fd://), so no other process can take the
    port between choosing it and binding it.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.set_inheritable(True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "KUBECONFIG"))}
    full_env.update({"WEB_CONCURRENCY": str(workers), "PORT": str(port), "CLUSTER_SYNC": "off"})
    full_env.update(env)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "config.py", "--bind", f"fd://{listener.fileno()}", app],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()],
    )
    listener.close()  # gunicorn holds its own copy
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        wait_ready(base, process, ready_timeout, ready_path, verify)
        PROCESSES[base] = process
        yield base
    finally:
        PROCESSES.pop(base, None)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()


def wait_ready(base: str, process: subprocess.Popen | None = None, timeout: float = 60,
               path: str = "/readyz", verify: str | bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}{path}", timeout=2, verify=verify).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{base} was not ready within {timeout}s")


def worker_pids(base: str) -> list[int]:
    """The gunicorn worker processes behind a base URL."""
    master = PROCESSES[base].pid
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()]


def children(pid: int) -> list[int]:
    """The process's children (gunicorn's workers under its master), from /proc."""
    return [int(child) for child in open(f"/proc/{pid}/task/{pid}/children").read().split()]
