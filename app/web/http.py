"""Plain HTTP routes on the Flask server: the JSON API, health endpoints and metrics, errors and headers."""

from __future__ import annotations

import functools
import logging
import ssl

import flask
from dash.exceptions import DependencyException, PreventUpdate
from werkzeug.exceptions import HTTPException

from app import metrics, roster
from app.claims import ClaimService
from app.errors import FORM, RateLimited, RegistrationError, ServerBug, ServiceUnavailable
from app.handover import Handover
from app.service import RegistrationService
from app.store import Store
from app.web import outcome
from app.web.forms import FIELDS

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
REGISTRATIONS_PATH = "/api/v1/registrations"
CLAIMS_PATH = "/api/v1/claims"
SIGN_INS_PATH = "/api/v1/sign-ins"
BASIC_AUTH_PATH = "/api/v1/basic-auth"  # OpenShift's OAuth server asks here (IDENTITY_PROVIDER_TYPE=BasicAuth)
CALLBACK_PATH = "/_dash-update-component"
CALLBACK_PATHS = (CALLBACK_PATH, "/admin" + CALLBACK_PATH, "/admin/room" + CALLBACK_PATH)
# Scripts only from the app itself, and inline only Dash's own (by their hashes, app.csp_hashes()): an
# inline script anyone slipped into a page does not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def api(service: RegistrationService, claims: ClaimService, discovery, handover: Handover) -> flask.Blueprint:
    """POST /api/v1/registrations and /api/v1/claims: the page's service for scripts, JSON in and out."""
    blueprint = flask.Blueprint("api", __name__)

    def how_to_log_in(username: str) -> dict:
        """What both answers say about the new login: whether OpenShift accepts it yet (pending or active),
        where and how to log in, the lab links."""
        api_url = discovery.api_url()
        return {"login": handover.activation(username), "console_url": discovery.console_url(), "api_url": api_url,
                "login_command": outcome.login_command(username, api_url),
                "lab_links": service.settings.links_for(username)}

    def served(usage: str, fields, call, event: str):
        """What the three POST endpoints share: the body's fields, the service's refusals as their 4xx,
        and a bug of ours as a 503 logged once with its traceback. (result, None) or (None, response)."""
        body = _json_object()
        if body is None:
            return None, errors(400, {FORM: usage})
        form = {name: body[name] for name in fields if name in body}
        try:
            return call(form, client=flask.request.remote_addr or "unknown"), None
        except RegistrationError as error:
            return None, _refusal(error)
        except Exception:
            log.exception("event=%s outcome=failed reason=internal_error", event)
            return None, errors(503, ServiceUnavailable().errors)

    @blueprint.post(REGISTRATIONS_PATH)
    def create_registration():
        result, refused = served("Send a JSON object with username, password, full_name, email.", FIELDS.values(),
                                 service.register, "registration")
        if refused is not None:
            return refused
        return flask.jsonify(username=result.username, registered_at=roster.format_time(result.registered_at),
                             again=result.again, **how_to_log_in(result.username)), \
            (200 if result.again else 201)

    @blueprint.post(SIGN_INS_PATH)
    def sign_back_in():
        result, refused = served("Send a JSON object with username, password (and access_code).",
                                 ("username", "password", "access_code"), service.sign_back_in, "sign_in")
        if refused is not None:
            return refused
        return flask.jsonify(username=result.username, registered_at=roster.format_time(result.registered_at),
                             again=True, **how_to_log_in(result.username))

    @blueprint.post(CLAIMS_PATH)
    def claim_seat():
        result, refused = served("Send a JSON object with email (and access_code).",
                                 ("email", "access_code", "claim_token"), claims.claim, "seat_claim")
        if refused is not None:
            return refused
        return flask.jsonify(username=result.username, password=result.password, claim_token=result.token,
                             claimed_at=roster.format_time(result.claimed_at), again=result.again,
                             **how_to_log_in(result.username)), \
            (200 if result.again else 201)

    @blueprint.get(BASIC_AUTH_PATH)
    def basic_auth():
        """The remote of OpenShift's BasicAuth identity provider (app.basicauth); only with that mode."""
        remote = handover.remote
        if remote is None:
            return errors(404, {FORM: "This event's logins are in an htpasswd Secret: nothing to ask here."})
        try:
            answer = remote.answer(flask.request.headers.get("Authorization"), _client_verified())
        except Exception:  # a bug of ours: an error the OAuth server logs, never a traceback, never a 200
            log.exception("event=basic_auth outcome=failed reason=internal_error")
            return _json({"error": "the registration app failed; see its log"}, 500)
        return _json(answer.body, answer.status)

    @blueprint.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown_api_route(rest):  # without it, Dash's catch-all route would answer with the page
        if f"/api/{rest}" in (REGISTRATIONS_PATH, CLAIMS_PATH):
            response = errors(405, {FORM: "Use POST with a JSON object."})
            response.headers["Allow"] = "POST"
            return response
        if f"/api/{rest}" == BASIC_AUTH_PATH:
            response = errors(405, {FORM: "The OAuth server asks with GET."})
            response.headers["Allow"] = "GET"
            return response
        return errors(404, {FORM: "No such API endpoint."})

    return blueprint


def _client_verified() -> bool:
    """Whether TLS verified the client's certificate (TLS_CLIENT_CA_FILE): gunicorn hands the connection
    over as `gunicorn.socket`, whose peer certificate is empty unless one that the CA signed was shown."""
    connection = flask.request.environ.get("gunicorn.socket")
    return isinstance(connection, ssl.SSLSocket) and bool(connection.getpeercert())


def _json(body: dict, status: int) -> flask.Response:
    response = flask.jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_object() -> dict | None:
    """The request's JSON object, or None (not JSON, not an object, nested too deep to parse)."""
    try:
        body = flask.request.get_json(silent=True)
    except RecursionError:  # JSON nested thousands deep: Python's parser gives up, the client is at fault
        body = None
    return body if isinstance(body, dict) else None


def _refusal(error: RegistrationError) -> flask.Response:
    response = errors(error.status, error.errors)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def health(store: Store, handover: Handover) -> flask.Blueprint:
    """/healthz, /readyz and /metrics, for the kubelet and for Prometheus.

    Ready means this process can answer: an outage that every replica shares (the API server down, a
    Secret missing, a right not granted) leaves it ready, so attendees keep getting the app's own page
    and its "try again in a minute" instead of the router's bare 503; /readyz says so in "degraded".
    """
    blueprint = flask.Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz():
        return flask.jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz():
        problem = store.readiness()
        if problem:
            return flask.jsonify(status="not ready", reason=problem), 503
        degraded = [reason for reason in [store.degraded(), *handover.problems()] if reason]
        if degraded:
            return flask.jsonify(status="ready", mode=store.mode, degraded="; ".join(degraded))
        return flask.jsonify(status="ready", mode=store.mode)

    @blueprint.get("/metrics")
    def prometheus_metrics():
        # For in-cluster scrapers only: a request through the OpenShift router carries X-Forwarded-For.
        if "X-Forwarded-For" in flask.request.headers:
            return errors(404, {FORM: "Not found."})
        body, content_type = metrics.render(store.settings.prometheus_multiproc_dir)
        return flask.Response(body, content_type=content_type)

    return blueprint


def install_error_handlers(server: flask.Flask) -> None:
    """JSON errors for every route; never a traceback in a response."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    server.register_error_handler(HTTPException, _http_error)
    server.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    if error.code == 413:
        return errors(413, {FORM: f"The request is too large (at most {MAX_BODY_BYTES // 1024} KiB)."})
    return errors(error.code or 500, {FORM: error.description or error.name})


def _unexpected(error: Exception):
    if isinstance(error, ServerBug):  # raised by one of our callbacks, which logged it with its traceback
        return errors(500, {FORM: "Something went wrong on our side. Please try again."})
    if flask.request.path in CALLBACK_PATHS:
        # Our callbacks turn their own failures into ServerBug (see `callback`), so what else escapes
        # Dash's dispatcher is a request the page never sends (a missing key, an unknown output): the
        # client's fault.
        log.warning("event=bad_callback_request cause=%s", type(error).__name__)
        return errors(400, {FORM: "This request is not one the page sends."})
    if isinstance(error, DependencyException):  # a script or style Dash does not have: not found
        return errors(404, {FORM: "Not found."})
    log.exception("event=request_failed path=%r", flask.request.path)
    return errors(500, {FORM: "Something went wrong on our side. Please try again."})


def callback(function):
    """Mark a Dash callback of ours: a failure inside it is a bug, logged once with its traceback and
    answered 500, never taken for a malformed request."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (PreventUpdate, HTTPException):  # no update; a request the page never sends (4xx)
            raise
        except Exception:
            log.exception("event=callback_failed callback=%s", function.__name__)
            raise ServerBug(function.__name__) from None
    return run


def install_headers(server: flask.Flask, script_hashes: list[str]) -> None:
    """Security headers on every response; no caching of anything an attendee sent or was sent. The
    inline scripts allowed are those whose hashes are given (the Dash apps' own)."""
    policy = CONTENT_SECURITY_POLICY.format(hashes=" ".join(sorted(set(script_hashes))))

    def headers(response: flask.Response) -> flask.Response:
        return _security_headers(response, policy)
    server.after_request(headers)


def _security_headers(response: flask.Response, policy: str) -> flask.Response:
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if flask.request.path.startswith("/api/") or flask.request.path == CALLBACK_PATH:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def disable_admin(server: flask.Flask) -> None:
    """Without ADMIN_TOKEN there is no admin page: /admin answers 404 (not the public page)."""
    def not_found(rest: str = ""):
        return errors(404, {FORM: "Not found."})
    server.add_url_rule("/admin", "admin_disabled", not_found)
    server.add_url_rule("/admin/", "admin_disabled_root", not_found, methods=["GET", "POST"])
    server.add_url_rule("/admin/<path:rest>", "admin_disabled_any", not_found, methods=["GET", "POST"])


def errors(status: int, messages: dict[str, str]) -> flask.Response:
    """A JSON error response: {"errors": {field: message}}."""
    response = flask.jsonify(errors=messages)
    response.status_code = status
    return response
