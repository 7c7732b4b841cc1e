"""Start-up: an invalid setting stops the server with a message naming the variable, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.servers import ROOT, free_port


def test_gunicorn_stops_with_a_message_naming_the_variable(tmp_path):
    env = dict(os.environ, DATA_DIR=str(tmp_path), BCRYPT_ROUNDS="99", MAX_USERS="many", CLUSTER_SYNC="off")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "config.py", "--bind", f"127.0.0.1:{free_port()}",
         "wsgi:application"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0  # it stops ("worker failed to boot") instead of restarting workers forever
    assert "BCRYPT_ROUNDS must be a whole number from 4 to 16, got '99'" in result.stderr
    assert "MAX_USERS must be a whole number" in result.stderr
    assert "SettingsError" not in result.stderr and "app/settings.py" not in result.stderr  # no traceback of ours


def test_gunicorn_config_checks_its_own_numbers(tmp_path):
    env = dict(os.environ, DATA_DIR=str(tmp_path), GUNICORN_THREADS="0", CLUSTER_SYNC="off")
    result = subprocess.run([sys.executable, "-c", "import config"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "GUNICORN_THREADS must be a whole number from 1 to 256" in result.stderr


def test_javascript_bundles_are_served_from_the_very_first_request(make_app, monkeypatch):
    """Dash sets itself up during a process's first request and flags that done before doing it; with a slow
    layout (in cluster mode it reads a Secret) a bundle requested meanwhile got a 500 and the page stayed
    blank. create_app makes that first request itself, so a worker's first real requests are served."""
    import threading
    import time

    from app.service import RegistrationService

    monkeypatch.setattr(RegistrationService, "closure", lambda self: time.sleep(0.5) or None)
    client = make_app().server.test_client()
    results = {}
    page = threading.Thread(target=lambda: results.update(page=client.get("/").status_code))
    page.start()
    time.sleep(0.1)  # the page's request is inside Dash's setup (the slow layout) now, if setup is not done
    results["bundle"] = client.get("/_dash-component-suites/dash/deps/react@18.3.1.min.js").status_code
    page.join()
    assert results == {"page": 200, "bundle": 200}
