"""gunicorn's configuration (APP_CONFIG in .s2i/environment); settings of the app itself are read by app.settings."""

import os
import shutil


def _number(name: str, default: int, low: int, high: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit() or not low <= int(value) <= high:
        raise SystemExit(f"invalid settings:\n  {name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


bind = f"0.0.0.0:{_number('PORT', 8080, 1, 65535)}"
workers = _number("WEB_CONCURRENCY", 2, 1, 64)
# Threads let one worker hash (bcrypt releases the GIL) and wait for a group commit at the same time.
# Most of them wait (for a commit, or through an API outage of up to COMMIT_TIMEOUT) at no cost, and
# enough must stay free to answer the kubelet's probes: hence many.
worker_class = "gthread"
threads = _number("GUNICORN_THREADS", 32, 1, 256)
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# gunicorn 27's control socket lives under $HOME, which may not be writable under restricted-v2.
control_socket_disable = True


# Metrics from every worker, summed by prometheus_client's multiprocess mode: the folder must be known
# before a worker imports prometheus_client, emptied when gunicorn starts, and told when a worker dies.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(os.environ.get("DATA_DIR") or "data", ".runtime", "metrics"))


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
