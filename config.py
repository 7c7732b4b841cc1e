"""gunicorn's configuration (APP_CONFIG in .s2i/environment); settings of the app itself are read by app.settings."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker hash (bcrypt releases the GIL) and wait for a group commit at the same time.
# Most of them wait (for a commit, or through an API outage of up to COMMIT_TIMEOUT) at no cost, and
# enough must stay free to answer the kubelet's probes: hence many.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# gunicorn 27's control socket lives under $HOME, which may not be writable under restricted-v2.
control_socket_disable = True
