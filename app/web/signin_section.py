"""The page's "sign back in": an attendee who closed the tab, or comes back on another device, gives their
username and password (and the page's access code) and gets their login's details and its live state
again, at any time of the event, open or closed (app.service.sign_back_in). A seat holder signs back in
with the seat's username and password.

Element ids are a contract with tests and automation: signin-username, signin-password, the page's
access-code (when an access code is configured), the button signin, and the page's register-result.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, State, html

from app import rules
from app.errors import RegistrationError, ServiceUnavailable
from app.service import RegistrationService
from app.web import forms
from app.web.http import callback

log = logging.getLogger(__name__)
LABEL = "Sign back in"


class SignInSection:
    ident = "signin-section"
    label = LABEL  # in the page's choice

    def __init__(self, service: RegistrationService, outcomes: forms.Outcomes):
        self.service = service
        self.settings = service.settings
        self.outcomes = outcomes
        self.code = self.settings.access_code_required
        self.ids = ["signin-username", "signin-password"] + ([forms.CODE] if self.code else [])

    def layout(self, shown: bool, alone: bool = False) -> html.Section:
        """The form; `alone`: the only way in now (registration closed), under its own heading."""
        return html.Section(id=self.ident, style=None if shown else forms.HIDDEN, children=[
            html.H2("Already registered? Sign back in", className="h5" if alone else "h5 visually-hidden"),
            dbc.Form(id="signin-form", children=[
                html.P("Your login's details and whether it works, again: the username and password you chose "
                       "(or your seat's).", className="small text-body-secondary"),
                forms.field("signin-username", "Username", "text", "username", rules.USERNAME_MAX, None,
                            verbatim=True),
                forms.field("signin-password", "Password", "password", "current-password", rules.BCRYPT_MAX_BYTES,
                            None),
                forms.submit("Sign back in", "signin"),
            ]),
        ])

    def register(self, app: dash.Dash) -> None:
        state = dict(values=[State(i, "value") for i in self.ids])
        if self.code:
            state["code_style"] = State(f"{forms.CODE}-group", "style")
        app.callback(output=forms.outputs(self.ids, self.code),
                     inputs=dict(_submitted=Input("signin-form", "n_submit")), state=state,
                     prevent_initial_call=True)(callback(self.sign_in))

    def sign_in(self, _submitted, values, code_style=None) -> dict:
        given = dict(zip(self.ids, values, strict=True))
        form = {"username": given.get("signin-username") or "", "password": given.get("signin-password") or "",
                "access_code": given.get(forms.CODE) or ""}
        try:
            result = self.service.sign_back_in(form, client=forms.client())
        except RegistrationError as error:
            return self.outcomes.failure(self.ids, error.errors, "signin-error", code_style == forms.HIDDEN)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=sign_in outcome=failed reason=internal_error")
            return self.outcomes.failure(self.ids, ServiceUnavailable().errors, "signin-error")
        return self.outcomes.success(self.ids, result.username, result.registered_at.timestamp(), form["password"],
                                     result.line, again=True, shown_password=None)
