"""The page's "claim a seat" (SEATS): its form, and its callback, which gives the attendee a seat
(app.claims) and shows its username and password once (app.web.forms).

Element ids are a contract with tests and automation: claim-email, claim-access-code (only when an
access code is configured), the button claim, and claim-result.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html

from app import rules
from app.claims import ClaimService
from app.errors import FORM, RegistrationError, SeatsTaken, ServiceUnavailable
from app.web import forms
from app.web.http import callback

log = logging.getLogger(__name__)
FIELDS = (("email", "claim-email"), ("access_code", "claim-access-code"))  # the claim's field -> its input
TAKEN_BELOW = "All seats are taken: choose your own login below."


class ClaimSection:
    ident = "claim-section"

    def __init__(self, claims: ClaimService, outcomes: forms.Outcomes):
        self.claims = claims
        self.settings = claims.settings
        self.outcomes = outcomes
        self.ids = ["claim-email"] + (["claim-access-code"] if self.settings.access_code_required else [])

    def layout(self, open_: bool, among_others: bool, seats_left: int | None = None) -> html.Section:
        """The form; when no seat is left (and registration is open), a note instead: with another way in
        below, a pointer to it."""
        taken = []
        hidden = None if open_ else forms.HIDDEN
        if seats_left == 0 and open_:
            hidden = forms.HIDDEN
            taken = [dbc.Alert(TAKEN_BELOW if among_others else SeatsTaken().errors[FORM], color="info",
                               id="seats-taken")]
        return html.Section(id=self.ident, className="mb-4", children=[
            *([html.H2("Claim a seat", className="h5")] if among_others else []),
            html.Div(taken, id="claim-result", role="status", **{"aria-live": "polite"}),
            # The claim's token, kept by this browser: only whoever claimed a seat sees it again (app.claims).
            dcc.Store(id="claim-token", storage_type="local"),
            dbc.Form(id="claim-form", style=hidden, children=[
                html.P("Enter your email: you get a username and its password, shown once on this page.",
                       className="small text-body-secondary"),
                *self._fields(), forms.submit("Claim a seat", "claim")]),
        ])

    def register(self, app: dash.Dash, others: list[str]) -> None:
        """Attach the callback; on success it hides the other ways in (their section ids)."""
        self.others = others
        app.callback(output=dict(forms.outputs("claim-result", "claim-form", others, self.ids),
                                 token=Output("claim-token", "data")),
                     inputs=dict(_submitted=Input("claim-form", "n_submit")),
                     state=dict(values=[State(i, "value") for i in self.ids], token=State("claim-token", "data")),
                     prevent_initial_call=True)(callback(self.claim))
        if "claim-access-code" in self.ids:  # the join link's code (assets/joinlink.js)
            app.clientside_callback(ClientsideFunction("join", "code"), Output("claim-access-code", "value"),
                                    Output("claim-access-code-group", "style"), Input("url", "search"))

    def claim(self, _submitted, values, token=None) -> dict:
        """Give the attendee a seat; show its username and password once, and start the login check."""
        given = dict(zip(self.ids, values, strict=True))
        form = {"email": given.get("claim-email") or "", "access_code": given.get("claim-access-code") or "",
                "claim_token": token if isinstance(token, str) else ""}
        try:
            result = self.claims.claim(form, client=forms.client())
        except RegistrationError as error:
            return self._failure(error.errors)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=seat_claim outcome=failed reason=internal_error")
            return self._failure(ServiceUnavailable().errors)
        shown = self.outcomes.success(self.ids, self.others, result.username, result.claimed_at.timestamp(),
                                      result.password, result.line, result.again, shown_password=result.password)
        return dict(shown, token=result.token)

    def _failure(self, errors: dict[str, str]) -> dict:
        errors = dict(errors, **{field: errors[name] for name, field in FIELDS if name in errors})
        return dict(self.outcomes.failure(self.ids, self.others, [errors.get(i, "") for i in self.ids], errors,
                                          "claim-error"), token=dash.no_update)

    def _fields(self) -> list:
        fields = [forms.field("claim-email", "Email", "text", "email", rules.EMAIL_MAX, None)]
        if self.settings.access_code_required:
            fields.append(forms.field("claim-access-code", "Event access code", "text", "off",
                                      rules.ACCESS_CODE_MAX, "Your instructor gives you this code."))
        return fields
