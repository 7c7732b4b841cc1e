"""The page's callbacks: register (read the form, call the service, render the outcome), then say when
the new login works (one check against the OAuth server per poll, with backoff)."""

from __future__ import annotations

import logging
import time

import dash
import flask
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from app import htpasswd, logincheck
from app.errors import RateLimited, RegistrationError, ServiceUnavailable, StoreError
from app.ratelimit import ClientLimiter
from app.service import RegistrationService
from app.settings import Settings
from app.web import page

log = logging.getLogger(__name__)
FIRST_POLL_MS, MAX_POLL_MS, BACKOFF = 3000, 15000, 1.4


def register_callbacks(app: dash.Dash, settings: Settings, service: RegistrationService, discovery,
                       checks, check_limiter: ClientLimiter) -> None:
    """Attach the form's submit callback and the login-status poll to the Dash app."""
    ids = page.field_ids(settings)

    @app.callback(
        output=[
            Output("register-result", "children"),
            Output("registration-form", "style"),
            [Output(i, "invalid") for i in ids],
            [Output(f"{i}-feedback", "children") for i in ids],
            Output("login-check", "data"),
            Output("login-poll", "disabled"),
            Output("login-poll", "n_intervals"),
            Output("login-status", "children"),
        ],
        inputs=[Input("registration-form", "n_submit")],
        state=[State(i, "value") for i in ids],
        prevent_initial_call=True,
    )
    def submit(_n_submit, *values):
        form = {page.FIELDS[i]: (v if v is not None else "") for i, v in zip(ids, values)}
        try:
            result = service.register(form, client=flask.request.remote_addr or "unknown")
        except RegistrationError as error:
            return _failure(ids, error.errors)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return _failure(ids, ServiceUnavailable().errors)
        check = None
        if checks.enabled:
            ticket = logincheck.issue_ticket(result.entry, result.username, form["password"],
                                             settings.login_check_timeout)
            check = {"username": result.username, "password": form["password"], "ticket": ticket}
        view = page.success_view(result.username, discovery.console_url(), discovery.api_url(), result.again,
                                 checking=check is not None)
        status = page.login_status("checking") if check else None
        return view, {"display": "none"}, [False] * len(ids), [""] * len(ids), check, check is None, 0, status

    @app.callback(
        Output("login-status", "children", allow_duplicate=True),
        Output("login-poll", "interval"),
        Output("login-poll", "disabled", allow_duplicate=True),
        Output("login-check", "data", allow_duplicate=True),
        Input("login-poll", "n_intervals"),
        State("login-check", "data"),
        prevent_initial_call=True,
    )
    def poll(polls, check):
        if not polls or not isinstance(check, dict):
            raise PreventUpdate
        username, password, ticket = (check.get(k) for k in ("username", "password", "ticket"))
        claims = logincheck.read_ticket(ticket)
        if not (isinstance(username, str) and isinstance(password, str) and claims and claims["u"] == username):
            return None, dash.no_update, True, None
        if claims.get("exp", 0) < time.time() or not _ticket_valid(service, username, password, ticket):
            return page.login_status("stuck"), dash.no_update, True, None  # and the password is dropped
        try:
            check_limiter.check(str(claims.get("id")))  # a ticket cannot be used to flood the OAuth server
        except RateLimited:
            raise PreventUpdate from None
        if checks.check(username, password):
            log.info("event=login_check outcome=ready username=%s", username)
            return page.login_status("ready"), dash.no_update, True, None  # done: forget the password
        interval = min(MAX_POLL_MS, int(FIRST_POLL_MS * BACKOFF ** polls))
        return page.login_status("checking"), interval, False, dash.no_update


def _ticket_valid(service: RegistrationService, username: str, password: str, ticket: str) -> bool:
    for fresh in (False, True):  # another replica may have written the line after this one last read
        try:
            entry = htpasswd.entries(service.store.current(fresh=fresh).logins).get(username)
        except StoreError:
            return False
        if entry is not None:
            return logincheck.ticket_matches(ticket, entry, password)
    return False


def _failure(ids: list[str], errors: dict[str, str]):
    messages = [errors.get(page.FIELDS[i], "") for i in ids]
    return (page.error_view(errors), dash.no_update, [bool(m) for m in messages], messages,
            dash.no_update, dash.no_update, dash.no_update, dash.no_update)
