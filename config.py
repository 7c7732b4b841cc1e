"""gunicorn's configuration (APP_CONFIG in .s2i/environment); its numbers are settings of app.settings."""

import os
import shutil
import ssl
import sys

from app import loginguard  # noqa: F401  (its POD_KEY is made here, in gunicorn's master: see below)
from app.errors import SettingsError
from app.settings import Settings

try:
    settings = Settings.from_env()
except SettingsError as error:  # stop before any worker starts, with the message naming the variable
    print(error, file=sys.stderr)
    raise SystemExit(3) from None

bind = f"0.0.0.0:{settings.port}"
workers = settings.web_concurrency
# Threads let one worker hash (bcrypt releases the GIL) and wait for a group commit at the same time.
# Most of them wait (for a commit, or through an API outage of up to COMMIT_TIMEOUT) at no cost, and
# enough must stay free to answer the kubelet's probes: hence many.
worker_class = "gthread"
threads = settings.gunicorn_threads
timeout = 60
graceful_timeout = 30
accesslog = "-"
# gunicorn's default format, without the query string (the join link carries the access code in it:
# it is never logged) and the Referer (sent nowhere anyway: Referrer-Policy no-referrer).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
errorlog = "-"
# gunicorn 27's control socket lives under $HOME, which may not be writable under restricted-v2.
control_socket_disable = True

# HTTPS served by gunicorn itself (TLS_CERT_FILE, TLS_KEY_FILE): on OpenShift the service serving
# certificate, behind a reencrypt Route. With TLS_CLIENT_CA_FILE a client may show a certificate that CA
# signed (the OAuth server does, for /api/v1/basic-auth); one of another CA fails the handshake, and
# clients without one (the router, the kubelet's probes, monitoring) are served as before.
# A client CA that is not there yet (openshift/setup.sh makes it) verifies nobody: the app says so on
# /readyz and /admin, and answers /api/v1/basic-auth to nobody, until it is restarted with it.
if settings.tls_cert_file:
    certfile, keyfile = str(settings.tls_cert_file), str(settings.tls_key_file)
    if settings.tls_client_ca_file and settings.tls_client_ca_file.is_file():
        ca_certs, cert_reqs = str(settings.tls_client_ca_file), ssl.CERT_OPTIONAL

# The logins the pod's workers remember together (app.loginguard) are keyed digests under POD_KEY, made
# when loginguard was imported above, in gunicorn's master: every worker forked from it holds the same key,
# in memory only.

# Metrics from every worker, summed by prometheus_client's multiprocess mode: the folder must be in the
# environment before a worker imports prometheus_client, emptied when gunicorn starts, and told when a
# worker dies.
metrics_folder = str(settings.prometheus_multiproc_dir or settings.data_dir / ".runtime" / "metrics")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_folder


def post_worker_init(worker):
    """The worker has built its app: start the app's background work, in this process (app.runtime)."""
    from app.runtime import runtime_of

    runtime = runtime_of(worker.wsgi)
    if runtime is not None:
        runtime.start()


def worker_exit(server, worker):
    """Let the background work finish what it is writing before the worker process ends."""
    from app.runtime import runtime_of

    runtime = runtime_of(getattr(worker, "wsgi", None))
    if runtime is not None:
        runtime.stop(timeout=graceful_timeout / 2)


def on_starting(server):
    shutil.rmtree(metrics_folder, ignore_errors=True)
    os.makedirs(metrics_folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_folder)
