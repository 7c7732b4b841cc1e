"""The page's "choose your own login" (SELF_REGISTRATION): its form, and its callback, which registers
(app.service) and shows the outcome (app.web.forms).

Element ids are a contract with tests and automation: username, password, password-confirm, full-name,
email, access-code (only when an access code is configured), the button register, and register-result
(which the page places above every way in: it also says when registration is closed).
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, html

from app import rules
from app.errors import RegistrationError, ServiceUnavailable
from app.service import RegistrationService
from app.web import forms
from app.web.http import callback

log = logging.getLogger(__name__)
FIELDS = forms.FIELDS
ALSO = "Or choose your own login"  # its heading when the page offers another way in above it


class RegisterSection:
    ident = "register-section"

    def __init__(self, service: RegistrationService, outcomes: forms.Outcomes):
        self.service = service
        self.settings = service.settings
        self.outcomes = outcomes
        self.ids = [i for i in FIELDS if i != "access-code" or self.settings.access_code_required]

    def layout(self, open_: bool, among_others: bool, seats_left: int | None = None) -> html.Section:
        return html.Section(id=self.ident, children=[
            *([html.H2(ALSO, className="h5")] if among_others else []),
            dbc.Form(id="registration-form", children=self._fields() + [forms.submit("Register", "register")],
                     style=None if open_ else forms.HIDDEN),
        ])

    def register(self, app: dash.Dash, others: list[str]) -> None:
        """Attach the callback; on success it hides the other ways in (their section ids)."""
        self.others = others
        app.callback(output=forms.outputs("register-result", "registration-form", others, self.ids),
                     inputs=dict(_submitted=Input("registration-form", "n_submit")),
                     state=dict(values=[State(i, "value") for i in self.ids]),
                     prevent_initial_call=True)(callback(self.submit))
        if "access-code" in self.ids:  # the join link's code fills the field in the browser (assets/joinlink.js)
            app.clientside_callback(ClientsideFunction("join", "code"), Output("access-code", "value"),
                                    Output("access-code-group", "style"), Input("url", "search"))

    def submit(self, _submitted, values) -> dict:
        """Register the attendee; show the outcome, and start the login check on success."""
        form = {FIELDS[i]: (v if v is not None else "") for i, v in zip(self.ids, values, strict=True)}
        try:
            result = self.service.register(form, client=forms.client())
        except RegistrationError as error:
            return self._failure(error.errors)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return self._failure(ServiceUnavailable().errors)
        return self.outcomes.success(self.ids, self.others, result.username, result.registered_at.timestamp(),
                                     form["password"], result.line, result.again, shown_password=None)

    def _failure(self, errors: dict[str, str]) -> dict:
        return self.outcomes.failure(self.ids, self.others, [errors.get(FIELDS[i], "") for i in self.ids], errors,
                                     "register-error")

    def _fields(self) -> list:
        specs = [
            ("username", "Username", "text", "username", rules.USERNAME_MAX,
             f"{rules.USERNAME_MIN}–{rules.USERNAME_MAX} characters: lowercase letters, digits and hyphens. "
             "This is your OpenShift login."),
            ("password", "Password", "password", "new-password", rules.BCRYPT_MAX_BYTES,
             f"At least {self.settings.min_password_length} characters. A few uncommon words work well."),
            ("password-confirm", "Confirm password", "password", "new-password", rules.BCRYPT_MAX_BYTES, None),
            ("full-name", "Full name", "text", "name", rules.FULL_NAME_MAX, None),
            ("email", "Email", "text", "email", rules.EMAIL_MAX, None),
        ]
        if self.settings.access_code_required:
            specs.append(("access-code", "Event access code", "text", "off", rules.ACCESS_CODE_MAX,
                          "Your instructor gives you this code."))
        return [forms.field(*spec) for spec in specs]
