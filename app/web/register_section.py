"""The page's "choose my own login" (SELF_REGISTRATION): its form, and its callback, which registers
(app.service) and shows the outcome (app.web.forms).

Element ids are a contract with tests and automation: username, password, password-confirm, full-name,
email, access-code (the page's one code field, only when an access code is configured), the button
register, and register-result (the page's outcome, above every way in).
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
FIELDS = forms.FIELDS
LABEL = "Choose my own login"


class RegisterSection:
    ident = "register-section"
    label = LABEL  # in the page's choice

    def __init__(self, service: RegistrationService, outcomes: forms.Outcomes):
        self.service = service
        self.settings = service.settings
        self.outcomes = outcomes
        self.ids = [i for i in FIELDS if i != forms.CODE or self.settings.access_code_required]
        self.code = self.settings.access_code_required

    def layout(self, shown: bool) -> html.Section:
        return html.Section(id=self.ident, style=None if shown else forms.HIDDEN, children=[
            html.H2(LABEL, className="h5 visually-hidden"),
            dbc.Form(id="registration-form", children=self._fields() + [forms.submit("Register", "register")]),
        ])

    def register(self, app: dash.Dash) -> None:
        state = dict(values=[State(i, "value") for i in self.ids])
        if self.code:  # hidden: the code came with the join link
            state["code_style"] = State(f"{forms.CODE}-group", "style")
        app.callback(output=forms.outputs(self.ids, self.code),
                     inputs=dict(_submitted=Input("registration-form", "n_submit")), state=state,
                     prevent_initial_call=True)(callback(self.submit))

    def submit(self, _submitted, values, code_style=None) -> dict:
        """Register the attendee; show the outcome, and start the login check on success."""
        form = {FIELDS[i]: (v if v is not None else "") for i, v in zip(self.ids, values, strict=True)}
        try:
            result = self.service.register(form, client=forms.client())
        except RegistrationError as error:
            return self.outcomes.failure(self.ids, error.errors, "register-error", code_style == forms.HIDDEN)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return self.outcomes.failure(self.ids, ServiceUnavailable().errors, "register-error")
        return self.outcomes.success(self.ids, result.username, result.registered_at.timestamp(),
                                     form["password"], result.line, result.again, shown_password=None)

    def _fields(self) -> list:
        specs = [
            ("username", "Username", "text", "username", rules.USERNAME_MAX,
             f"{rules.USERNAME_MIN}–{rules.USERNAME_MAX} characters: lowercase letters, digits and hyphens, "
             "e.g. bob-smith. This is your OpenShift login."),
            ("password", "Password", "password", "new-password", rules.BCRYPT_MAX_BYTES,
             f"At least {self.settings.min_password_length} characters. A few uncommon words work well."),
            ("password-confirm", "Confirm password", "password", "new-password", rules.BCRYPT_MAX_BYTES, None),
            ("full-name", "Full name", "text", "name", rules.FULL_NAME_MAX, None),
            ("email", "Email", "text", "email", rules.EMAIL_MAX, None),
        ]
        return [forms.field(*spec, verbatim=spec[0] in ("username", "email")) for spec in specs]
