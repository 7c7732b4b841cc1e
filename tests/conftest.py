"""Shared fixtures: settings on a fresh DATA_DIR, the app and its Flask test client."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from app.factory import create_app
from app.runtime import Runtime, runtime_of
from app.settings import Settings
from tests.helpers import FAST_ROUNDS


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)


@pytest.fixture
def app_for():
    """Build an app for settings as a gunicorn worker does, and start its background work (app.runtime),
    as post_worker_init does; every one is stopped when the test ends."""
    runtimes = []

    def build(settings: Settings):
        app = create_app(settings)
        runtime = runtime_of(app.server)
        runtime.start()
        runtimes.append(runtime)
        return app

    yield build
    for runtime in runtimes:
        runtime.stop()


@pytest.fixture
def make_app(tmp_path, app_for):
    """An app on a fresh DATA_DIR (bcrypt's lowest cost, no rate limit), with these settings changed."""
    def make(**changes):
        base = Settings(data_dir=tmp_path / "data", bcrypt_rounds=FAST_ROUNDS, rate_limit=None)
        return app_for(dataclasses.replace(base, **changes))

    return make


@pytest.fixture
def start():
    """Run workers of app.runtime (a Reserver...) for the test, as a started app would; stopped after."""
    runtimes = []

    def run(*workers):
        runtime = Runtime()
        for worker in workers:
            runtime.add(worker)
        runtime.start()
        runtimes.append(runtime)
        return workers[0] if len(workers) == 1 else workers

    yield run
    for runtime in runtimes:
        runtime.stop()


@pytest.fixture
def client(make_app):
    return make_app().server.test_client()


@pytest.fixture(autouse=True)
def _quiet_root_logger():
    yield
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_workshop", False)]


# --- The test cluster tier -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def kube(tmp_path_factory):
    """A real kube-apiserver (with etcd) for the whole session; the build never skips silently."""
    from tests import kube as kube_module

    try:
        cache = kube_module.build()
    except kube_module.BuildError as error:
        pytest.fail(f"the test cluster could not be built:\n{error}", pytrace=False)
    cluster = kube_module.TestCluster(cache, tmp_path_factory.mktemp("kube"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def deployment(kube, tmp_path):
    """openshift/ rendered for a fresh namespace and htpasswd Secret name and applied, as an admin would."""
    from tests.deploy import Deployment

    return Deployment.apply(kube, tmp_path)


@pytest.fixture
def oauth_tokens(kube):
    """The admin's API for OAuth tokens (stand-in CRD): none when the test starts or after it ends (they are
    cluster-wide, and the API server is the session's)."""
    from kubernetes import client

    api = client.CustomObjectsApi(kube.admin())
    api.delete_collection_cluster_custom_object("oauth.openshift.io", "v1", "oauthaccesstokens")
    yield api
    api.delete_collection_cluster_custom_object("oauth.openshift.io", "v1", "oauthaccesstokens")


# --- The real browser ------------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, headless; Playwright downloads no browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)", pytrace=False)
    # Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-quic"]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": flags}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900},
            "permissions": ["clipboard-read", "clipboard-write"]}
