"""`create_app(settings)`: build the Dash app with everything wired, register its routes, return it.

The store (local files or cluster Secrets, chosen by app.store.make_store), the handover of logins to
OpenShift (app.handover), the reserver, the rate limiters, the registration and seat-claim services and
the login check; then the page and its sections, the JSON API, health and metrics, and /admin when
ADMIN_TOKEN is set. Building starts nothing: the background work is gathered in the app's runtime
(app.runtime), which gunicorn's post_worker_init (config.py), `python wsgi.py` or a test starts.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import dash
import flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import activation, ending, files
from app.admin import AdminService
from app.claims import ClaimService, NonceExpiry
from app.clock import SYSTEM, Clock
from app.discovery import Discovery
from app.errors import StoreError
from app.handover import Handover, make_handover
from app.ledger import Limits
from app.logincheck import LoginCheck
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.runtime import EXTENSION, Runtime
from app.service import RegistrationService
from app.settings import Settings
from app.store import Store, make_store
from app.tickets import SharedKey, Tickets
from app.web import admin_page, bodies, bundles, http, page

ASSETS = Path(__file__).parent / "assets"
ADMIN_SIGN_IN_RATE = "10/minute"  # wrong admin tokens per client address before /admin says so (and logs it)
LOGIN_CHECKS_PER_TICKET = "30/minute"  # the page polls every 3-15 s; more is someone replaying a ticket
POLLS_PER_ATTENDEE_MINUTE = 12  # a room behind one address polls about this many times per attendee
PASSWORD_CHECKS_PER_NAME = "6/minute"  # signing back in (or registering again) as one name, whoever asks


def _confirm(store: Store, handover: Handover, username: str) -> None:
    """A live check found this login working: it is active, whether or not its rollout was seen done (one
    write of the event state, only while it still counts as pending)."""
    try:
        if handover.activations().get(username) == activation.PENDING:
            store.state.confirm(username)
    except StoreError:
        pass  # it stays "pending" on /admin until its rollout is seen complete


def create_app(settings: Settings | None = None, clock: Clock = SYSTEM) -> dash.Dash:
    """Build the Dash app; settings default to the environment's."""
    settings = settings or Settings.from_env()
    runtime = Runtime(clock)
    store = make_store(settings, clock)
    for name, step in store.refresher.loops():
        runtime.loop(name, step)
    handover = make_handover(store, runtime)
    for name, step in ending.loops(store, handover, clock):
        runtime.loop(name, step)
    runtime.loop("seat-nonces", NonceExpiry(store.documents, settings.refresh_interval, clock).step)
    reserver = runtime.add(Reserver(store.documents, Limits.for_settings(settings), settings.commit_timeout, clock,
                                    on_reserved=handover.wake))
    counters = files.runtime_dir(settings.data_dir) / "ratelimit.sqlite3"
    key = SharedKey(store.key)  # login-check tickets and seats' passwords (app.seats) are made with it
    service = RegistrationService(settings, store, reserver, ClientLimiter(settings.rate_limit, counters),
                                  per_name=ClientLimiter(PASSWORD_CHECKS_PER_NAME, counters, scope="password-checks"))
    claims = ClaimService(service, key)
    discovery = Discovery(settings, store.info, files.runtime_dir(settings.data_dir))
    per_client = settings.rate_per_minute(POLLS_PER_ATTENDEE_MINUTE)  # RATE_LIMIT is sized for the room
    check = LoginCheck(settings, discovery, Tickets(key, settings.login_check_timeout), store.documents,
                       per_ticket=ClientLimiter(LOGIN_CHECKS_PER_TICKET, counters, scope="login-check"),
                       per_client=ClientLimiter(per_client, counters, scope="login-check-client"),
                       publishing=handover.status, on_refused=store.state.refuse,
                       on_works=lambda username: _confirm(store, handover, username))

    server = flask.Flask(__name__)
    bundles.configure(server)
    app = page.Dash(
        __name__,
        server=server,
        assets_folder=str(ASSETS),
        external_stylesheets=[],  # Bootstrap is served from assets/: the page works air-gapped
        serve_locally=True,
        compress=True,
        title=escape(settings.event_name),  # Dash writes the title into <title> as it is
        update_title=None,
        index_string=page.INDEX_STRING,  # with the document's language, for screen readers
    )
    registration_page = page.Page(settings, service, claims, check, discovery, handover)
    app.layout = registration_page.layout
    registration_page.register(app)
    server = app.server
    server.extensions[EXTENSION] = runtime
    server.register_blueprint(http.api(service, claims, discovery, handover))
    server.register_blueprint(http.health(store, handover))
    http.install_error_handlers(server)
    hashes = list(app.csp_hashes())
    if settings.admin_token_digest:
        sign_ins = ClientLimiter(ADMIN_SIGN_IN_RATE, counters, scope="admin-sign-in")
        for admin in admin_page.mount(server, settings, AdminService(store, handover), sign_ins, str(ASSETS),
                                      discovery):
            hashes += admin.csp_hashes()
    else:
        http.disable_admin(server)
    http.install_headers(server, hashes)
    gate = bodies.BodyGate(server.wsgi_app, settings.gunicorn_threads, http.MAX_BODY_BYTES, clock)
    gate.wake = runtime.loop("body-deadlines", gate.step).wake
    server.wsgi_app = gate
    if settings.trusted_proxy_hops:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.trusted_proxy_hops,
                                   x_proto=settings.trusted_proxy_hops)
    _set_dash_up(server)
    return app


def _set_dash_up(server) -> None:
    """Dash registers its JavaScript bundles during a process's first request, after setting the flag that
    says it is done: a bundle requested by another thread meanwhile gets a 500 and the page stays blank
    (seen after every start under gunicorn's threads). Make that first request here, before serving."""
    server.test_client().get("/")
