"""The registration page's callbacks: each reads the page's values, calls the service, renders the result.

`submit` registers (app.service) and starts the login check; `claim` gives the attendee a seat and starts
the same check; `poll` asks the login check once (app.logincheck) and shows its answer.
"""

from __future__ import annotations

import logging

import dash
import flask
from dash import ClientsideFunction, Input, Output, State
from dash.exceptions import PreventUpdate

from app.claims import ClaimService
from app.errors import RegistrationError, ServiceUnavailable
from app.ledger import Login
from app.logincheck import LoginCheck
from app.service import RegistrationService
from app.web import page
from app.web.http import callback

log = logging.getLogger(__name__)
CLAIM_FIELDS = (("email", "claim-email"), ("access_code", "claim-access-code"))  # the claim's field -> its input


class PageCallbacks:
    """The page's two callbacks, with what they need."""

    def __init__(self, service: RegistrationService, claims: ClaimService, check: LoginCheck, discovery):
        self.service = service
        self.claims = claims
        self.check = check
        self.discovery = discovery
        self.settings = service.settings
        self.ids = page.field_ids(self.settings)
        self.claim_ids = page.claim_field_ids(self.settings)

    def register(self, app: dash.Dash) -> None:
        """Attach the callbacks the page's sections need to the Dash app."""
        ids, settings = self.ids, self.settings
        check_outputs = [Output("login-check", "data", allow_duplicate=True),
                         Output("login-poll", "disabled", allow_duplicate=True),
                         Output("login-poll", "n_intervals", allow_duplicate=True),
                         Output("login-status", "children", allow_duplicate=True)]
        if settings.self_registration:
            app.callback(
                output=[Output("register-result", "children"), Output("registration-form", "style"),
                        [Output("claim-section", "style")] if settings.seats else [],
                        [Output(i, "invalid") for i in ids], [Output(f"{i}-feedback", "children") for i in ids],
                        *check_outputs],
                inputs=[Input("registration-form", "n_submit")],
                state=[State(i, "value") for i in ids],
                prevent_initial_call=True,
            )(callback(self.submit))
        if settings.seats:
            claim_ids = self.claim_ids
            app.callback(
                output=[Output("claim-result", "children"), Output("claim-form", "style"),
                        [Output("register-section", "style")] if settings.self_registration else [],
                        [Output(i, "invalid") for i in claim_ids],
                        [Output(f"{i}-feedback", "children") for i in claim_ids], *check_outputs],
                inputs=[Input("claim-form", "n_submit")],
                state=[State(i, "value") for i in claim_ids],
                prevent_initial_call=True,
            )(callback(self.claim))
        app.callback(
            Output("login-status", "children", allow_duplicate=True), Output("login-poll", "interval"),
            Output("login-poll", "disabled", allow_duplicate=True), Output("login-check", "data", allow_duplicate=True),
            Input("login-poll", "n_intervals"), State("login-check", "data"),
            prevent_initial_call=True,
        )(callback(self.poll))
        for code in ("access-code", "claim-access-code"):  # the join link's code fills the field in the browser
            if code in ids + self.claim_ids:                # (assets/joinlink.js)
                app.clientside_callback(ClientsideFunction("join", "code"), Output(code, "value"),
                                        Output(f"{code}-group", "style"), Input("url", "search"))

    def submit(self, _n_submit, *values):
        """Register the attendee; show the outcome, and start the login check on success."""
        form = {page.FIELDS[i]: (v if v is not None else "") for i, v in zip(self.ids, values)}
        try:
            result = self.service.register(form, client=flask.request.remote_addr or "unknown")
        except RegistrationError as error:
            return self._failure(self.ids, error.errors, "register-error")
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return self._failure(self.ids, ServiceUnavailable().errors, "register-error")
        return self._success(self.ids, result.username, result.registered_at.timestamp(), form["password"],
                             result.login, result.again, shown_password=None)

    def claim(self, _n_submit, email, code=None):
        """Give the attendee a seat; show its username and password once, and start the login check."""
        form = {"email": email or "", "access_code": code or ""}
        try:
            result = self.claims.claim(form, client=flask.request.remote_addr or "unknown")
        except RegistrationError as error:
            errors = dict(error.errors, **{field: error.errors[name] for name, field in CLAIM_FIELDS
                                           if name in error.errors})
            return self._failure(self.claim_ids, errors, "claim-error")
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=seat_claim outcome=failed reason=internal_error")
            return self._failure(self.claim_ids, ServiceUnavailable().errors, "claim-error")
        return self._success(self.claim_ids, result.username, result.claimed_at.timestamp(), result.password,
                             result.login, result.again, shown_password=result.password)

    def _success(self, ids, username, at, password, login, again, shown_password):
        """The outcome view, the form (and the other section) hidden, and the login check started."""
        check = self.check.start(username, at, password)
        pending = login == Login.PENDING
        view = page.success_view(username, self.discovery.console_url(), self.discovery.api_url(), again,
                                 checking=check is not None, pending=pending,
                                 links=self.settings.links_for(username), password=shown_password)
        status = page.login_status("waiting" if pending else "activating") if check else None
        other = [{"display": "none"}] if self.settings.seats and self.settings.self_registration else []
        count = len(ids)
        return view, {"display": "none"}, other, [False] * count, [""] * count, check, check is None, 0, status

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

    def _failure(self, ids, errors: dict[str, str], ident: str):
        messages = [errors.get(page.FIELDS.get(i, i), "") for i in ids]
        other = [dash.no_update] if self.settings.seats and self.settings.self_registration else []
        return (page.error_view(errors, ident), dash.no_update, other, [bool(m) for m in messages], messages,
                dash.no_update, dash.no_update, dash.no_update, dash.no_update)
