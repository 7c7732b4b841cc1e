"""The registration page's callbacks: each reads the page's values, calls the service, renders the result.

`submit` registers (app.service) and starts the login check; `poll` asks the login check once
(app.logincheck) and shows its answer.
"""

from __future__ import annotations

import logging

import dash
import flask
from dash import ClientsideFunction, Input, Output, State
from dash.exceptions import PreventUpdate

from app.errors import RegistrationError, ServiceUnavailable
from app.ledger import Login
from app.logincheck import LoginCheck
from app.service import RegistrationService
from app.web import page
from app.web.http import callback

log = logging.getLogger(__name__)


class PageCallbacks:
    """The page's two callbacks, with what they need."""

    def __init__(self, service: RegistrationService, check: LoginCheck, discovery, ids: list[str]):
        self.service = service
        self.check = check
        self.discovery = discovery
        self.ids = ids

    def register(self, app: dash.Dash) -> None:
        """Attach both callbacks to the Dash app."""
        ids = self.ids
        app.callback(
            output=[Output("register-result", "children"), Output("registration-form", "style"),
                    [Output(i, "invalid") for i in ids], [Output(f"{i}-feedback", "children") for i in ids],
                    Output("login-check", "data"), Output("login-poll", "disabled"),
                    Output("login-poll", "n_intervals"), Output("login-status", "children")],
            inputs=[Input("registration-form", "n_submit")],
            state=[State(i, "value") for i in ids],
            prevent_initial_call=True,
        )(callback(self.submit))
        app.callback(
            Output("login-status", "children", allow_duplicate=True), Output("login-poll", "interval"),
            Output("login-poll", "disabled", allow_duplicate=True), Output("login-check", "data", allow_duplicate=True),
            Input("login-poll", "n_intervals"), State("login-check", "data"),
            prevent_initial_call=True,
        )(callback(self.poll))
        if "access-code" in ids:  # the join link's code fills the field in the browser (assets/joinlink.js)
            app.clientside_callback(ClientsideFunction("join", "code"), Output("access-code", "value"),
                                    Output("access-code-group", "style"), Input("url", "search"))

    def submit(self, _n_submit, *values):
        """Register the attendee; show the outcome, and start the login check on success."""
        form = {page.FIELDS[i]: (v if v is not None else "") for i, v in zip(self.ids, values)}
        try:
            result = self.service.register(form, client=flask.request.remote_addr or "unknown")
        except RegistrationError as error:
            return self._failure(error.errors)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return self._failure(ServiceUnavailable().errors)
        check = self.check.start(result.username, result.registered_at.timestamp(), form["password"])
        pending = result.login == Login.PENDING
        view = page.success_view(result.username, self.discovery.console_url(), self.discovery.api_url(),
                                 result.again, checking=check is not None, pending=pending,
                                 links=self.service.settings.links_for(result.username))
        status = page.login_status("waiting" if pending else "activating") if check else None
        count = len(self.ids)
        return view, {"display": "none"}, [False] * count, [""] * count, check, check is None, 0, status

    def poll(self, polls, data):
        """One login check; the password is dropped from the tab once the answer is known."""
        if not polls or data is None:
            raise PreventUpdate
        answer = self.check.poll(data, polls, flask.request.remote_addr or "unknown")
        if answer.state == "ended":
            return None, dash.no_update, True, None
        if answer.state == "slow":
            return dash.no_update, answer.next_ms, False, dash.no_update
        status = page.login_status(answer.state, answer.due_in, answer.after_rollout)
        if answer.next_ms is None:
            return status, dash.no_update, True, None
        kept = dict(data, waited=answer.waited) if answer.waited is not None else dash.no_update
        return status, answer.next_ms, False, kept

    def _failure(self, errors: dict[str, str]):
        messages = [errors.get(page.FIELDS[i], "") for i in self.ids]
        return (page.error_view(errors), dash.no_update, [bool(m) for m in messages], messages,
                dash.no_update, dash.no_update, dash.no_update, dash.no_update)
