"""The workshop self-registration app for OpenShift.

`create_app(settings)` builds the Dash app with everything wired: the store (local files or cluster
Secrets), the group committer, the rate limiter, the service, the page and the HTTP routes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dash
from dash.dash import _default_index
from werkzeug.middleware.proxy_fix import ProxyFix

from app import files, logs
from app.admin import AdminService
from app.discovery import Discovery
from app.logincheck import LoginChecks
from app.committer import Committer
from app.ledger import Limits
from app.ratelimit import ClientLimiter
from app.service import RegistrationService
from app.settings import Settings
from app.store import make_store
from app.web import callbacks, http, page

ASSETS = Path(__file__).parent / "assets"
ADMIN_SIGN_IN_RATE = "10/minute"  # per client address: the admin token cannot be guessed by trying
LOGIN_CHECKS_PER_TICKET = "30/minute"  # the page polls every 3-15 s; more is someone replaying a ticket


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build the Dash app; settings default to the environment's."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    store = make_store(settings)
    limits = Limits(
        max_users=settings.max_users,
        # Another process publishes a pending login only while its owner still waits for it...
        publish_window=timedelta(seconds=max(1.0, settings.commit_timeout - 2)),
        # ...and the reservation outlives every request that could still be waiting on it.
        reservation_ttl=timedelta(seconds=max(120.0, 3 * settings.commit_timeout)),
    )
    committer = Committer(
        store.logins,
        store.roster,
        limits,
        interval=settings.commit_interval,
        timeout=settings.commit_timeout,
        on_publish=store.published,
        parse=store.records_for,
    )
    counters = files.runtime_dir(settings.data_dir) / "ratelimit.sqlite3"
    service = RegistrationService(settings, store, committer, ClientLimiter(settings.rate_limit, counters))

    info = None
    if store.cluster:
        from app import cluster

        info = cluster.ClusterInfo(store.logins.api)
    discovery = Discovery(settings, info, files.runtime_dir(settings.data_dir))
    checks = LoginChecks(settings, discovery)
    per_ticket = ClientLimiter(LOGIN_CHECKS_PER_TICKET, counters, scope="login-check")

    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        external_stylesheets=[],  # Bootstrap is served from assets/: the page works air-gapped
        serve_locally=True,
        compress=True,
        title=settings.event_name,
        update_title=None,
        index_string=_default_index.replace("<html>", '<html lang="en">', 1),  # screen readers need the language
    )
    app.layout = lambda: page.layout(settings, registration_open=service.is_open())
    callbacks.register_callbacks(app, settings, service, discovery, checks, per_ticket)
    http.add_routes(app.server, settings, service, store, discovery)
    if settings.admin_token_digest:
        from app.web.admin_page import create_admin_app

        sign_ins = ClientLimiter(ADMIN_SIGN_IN_RATE, counters, scope="admin-sign-in")
        create_admin_app(app.server, settings, AdminService.for_store(settings, store), sign_ins, str(ASSETS))
    else:
        http.disable_admin(app.server)
    if settings.trusted_proxy_hops:
        hops = settings.trusted_proxy_hops
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=hops, x_proto=hops)
    app.server.extensions["workshop_registration"] = service
    store.start()
    # Dash registers its JavaScript bundles during a process's first request, after setting the flag that
    # says it is done: a bundle requested by another thread meanwhile gets a 500 and the page stays blank
    # (seen after every start under gunicorn's threads). Make that first request here, before serving.
    app.server.test_client().get("/")
    return app
