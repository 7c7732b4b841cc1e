"""The page's "claim a seat" (SEATS): its form, and its callback, which gives the attendee a seat
(app.claims) and shows its username and password once (app.web.forms).

Element ids are a contract with tests and automation: claim-email, the page's access-code (only when an
access code is configured), the button claim, claim-result holding seats-taken (the note when none is
left), and the page's register-result for the outcome.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from app import rules
from app.claims import ClaimService
from app.errors import FORM, RegistrationError, SeatsTaken, ServiceUnavailable
from app.web import forms
from app.web.http import callback

log = logging.getLogger(__name__)
FIELDS = (("email", "claim-email"),)  # the claim's field -> its input (the code's is the page's, app.web.forms)
LABEL = "Claim a seat"
TAKEN_BELOW = "All seats are taken: choose your own login instead."


class ClaimSection:
    ident = "claim-section"
    label = LABEL  # in the page's choice

    def __init__(self, claims: ClaimService, outcomes: forms.Outcomes):
        self.claims = claims
        self.settings = claims.settings
        self.outcomes = outcomes
        self.ids = ["claim-email"] + ([forms.CODE] if self.settings.access_code_required else [])
        self.code = self.settings.access_code_required

    def layout(self, shown: bool, seats_left: int | None = None, another_way: bool = False) -> html.Section:
        """The form; when no seat is left, a note instead (with another way in, a pointer to it)."""
        taken = []
        form_style = None
        if seats_left == 0:
            form_style = forms.HIDDEN
            taken = [dbc.Alert(TAKEN_BELOW if another_way else SeatsTaken().errors[FORM], color="info",
                               id="seats-taken")]
        return html.Section(id=self.ident, style=None if shown else forms.HIDDEN, children=[
            html.H2(LABEL, className="h5 visually-hidden"),
            html.Div(taken, id="claim-result", role="status", **{"aria-live": "polite"}),
            # The claim's token, kept by this browser: only whoever claimed a seat sees it again (app.claims).
            dcc.Store(id="claim-token", storage_type="local"),
            dbc.Form(id="claim-form", style=form_style, children=[
                html.P("Enter your email: you get a username and its password, shown once on this page.",
                       className="small text-body-secondary"),
                *self._fields(), forms.submit("Claim a seat", "claim")]),
        ])

    def register(self, app: dash.Dash) -> None:
        state = dict(values=[State(i, "value") for i in self.ids], token=State("claim-token", "data"))
        if self.code:  # hidden: the code came with the join link
            state["code_style"] = State(f"{forms.CODE}-group", "style")
        app.callback(output=dict(forms.outputs(self.ids, self.code), token=Output("claim-token", "data")),
                     inputs=dict(_submitted=Input("claim-form", "n_submit")), state=state,
                     prevent_initial_call=True)(callback(self.claim))

    def claim(self, _submitted, values, token=None, code_style=None) -> dict:
        """Give the attendee a seat; show its username and password once, and start the login check."""
        given = dict(zip(self.ids, values, strict=True))
        form = {"email": given.get("claim-email") or "", "access_code": given.get(forms.CODE) or "",
                "claim_token": token if isinstance(token, str) else ""}
        try:
            result = self.claims.claim(form, client=forms.client())
        except RegistrationError as error:
            return self._failure(error.errors, code_style == forms.HIDDEN)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=seat_claim outcome=failed reason=internal_error")
            return self._failure(ServiceUnavailable().errors)
        shown = self.outcomes.success(self.ids, result.username, result.claimed_at.timestamp(),
                                      result.password, result.line, result.again, shown_password=result.password)
        return dict(shown, token=result.token)

    def _failure(self, errors: dict[str, str], code_hidden: bool = False) -> dict:
        errors = dict(errors, **{field: errors[name] for name, field in FIELDS if name in errors})
        return dict(self.outcomes.failure(self.ids, errors, "claim-error", code_hidden), token=dash.no_update)

    def _fields(self) -> list:
        return [forms.field("claim-email", "Email", "text", "email", rules.EMAIL_MAX, None, verbatim=True)]
