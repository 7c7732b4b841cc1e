"""The registration page: a heading, the ways in this event offers (app.web.claim_section,
app.web.register_section: each owns its layout and its callback), and the live "can I log in yet?" line
with its poll (app.logincheck). Which ways in there are is decided here, once, from the settings.
"""

from __future__ import annotations

import re

import dash
from dash import Input, Output, State, dcc, html
from dash.dash import _default_index
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import BadRequest

from app import logincheck
from app.claims import ClaimService
from app.handover import Handover
from app.logincheck import LoginCheck
from app.service import RegistrationService
from app.settings import Settings
from app.web import forms, outcome
from app.web.claim_section import ClaimSection
from app.web.http import callback
from app.web.register_section import RegisterSection

# Dash's page template with the document's language, which screen readers need (both Dash apps use it).
INDEX_STRING = _default_index.replace("<html>", '<html lang="en">', 1)
# What Dash's page configuration says of the software it runs: nothing for a visitor to match against
# advisories (the renderer does not need them with its dev tools off, as here).
_VERSIONS = re.compile(r'"(?:dash_version|python_version|dash_version_url|plotly_version|ddk_version)"'
                       r':(?:null|"(?:[^"\\]|\\.)*"),?')


class Dash(dash.Dash):
    """dash.Dash, its page's configuration without versions (both Dash apps are made with it)."""

    def interpolate_index(self, **kwargs) -> str:
        kwargs["config"] = _VERSIONS.sub("", kwargs.get("config", ""))
        return super().interpolate_index(**kwargs)
INTRO = {("claim-section",): "Claim your OpenShift login for this event.",
         ("register-section",): "Create your OpenShift login for this event.",
         ("claim-section", "register-section"): "Claim a seat (an OpenShift login made for this event), or create "
                                                "your own login."}


class Page:
    def __init__(self, settings: Settings, service: RegistrationService, claims: ClaimService, check: LoginCheck,
                 discovery, handover: Handover):
        self.settings = settings
        self.service = service
        self.claims = claims
        self.check = check
        outcomes = forms.Outcomes(settings, check, discovery, handover)
        # The ways in, in page order: a seat first (SEATS), then one's own login (SELF_REGISTRATION).
        self.sections = ([ClaimSection(claims, outcomes)] if settings.seats else []) + \
            ([RegisterSection(service, outcomes)] if settings.self_registration else [])

    def layout(self) -> html.Main:
        """The whole page as it stands now: open or closed, and how many seats are left."""
        closed = self.service.closure()
        seats_left = self.claims.seats_left()
        among_others = len(self.sections) > 1
        return html.Main(className="container py-4 registration", children=[
            dcc.Location(id="url", refresh=False),  # the join link's ?code= (assets/joinlink.js)
            html.H1(self.settings.event_name, className="h3 mb-1"),
            html.P(INTRO[tuple(s.ident for s in self.sections)], className="text-body-secondary mb-4"),
            html.Div([] if closed is None else [outcome.error_view(closed.errors)], id="register-result",
                     role="status", **{"aria-live": "polite"}),
            *(section.layout(closed is None, among_others, seats_left) for section in self.sections),
            # The live "can I log in yet?" line, below whichever outcome shows (the forms are hidden then).
            # The check's data (with the password) lives only in this browser tab's memory and is dropped
            # once the answer is known.
            html.Div(id="login-status", role="status", className="mb-3", **{"aria-live": "polite"}),
            dcc.Store(id="login-check", storage_type="memory"),
            dcc.Interval(id="login-poll", interval=3000, disabled=True),
        ])

    def register(self, app: dash.Dash) -> None:
        """Attach every section's callback, and the login check's poll."""
        for section in self.sections:
            section.register(app, [other.ident for other in self.sections if other is not section])
        app.callback(
            output=dict(status=Output("login-status", "children", allow_duplicate=True),
                        interval=Output("login-poll", "interval"),
                        poll_off=Output("login-poll", "disabled", allow_duplicate=True),
                        check=Output("login-check", "data", allow_duplicate=True)),
            inputs=dict(polls=Input("login-poll", "n_intervals")), state=dict(data=State("login-check", "data")),
            prevent_initial_call=True,
        )(callback(self.poll))

    def poll(self, polls, data) -> dict:
        """One login check; the password is dropped from the tab once the answer is known."""
        if not polls or data is None:
            raise PreventUpdate
        if not isinstance(polls, int) or isinstance(polls, bool) or not 0 < polls <= logincheck.MAX_POLLS:
            raise BadRequest("This request is not one the page sends.")  # n_intervals is the tab's count
        answer = self.check.poll(data, polls, forms.client())
        keep = dash.no_update
        if answer.state == "ended":
            return dict(status=None, interval=keep, poll_off=True, check=None)
        if answer.state == "slow":
            return dict(status=keep, interval=answer.next_ms, poll_off=False, check=keep)
        status = outcome.login_status(answer.state, answer.due_in, answer.after_rollout)
        if answer.next_ms is None:
            return dict(status=status, interval=keep, poll_off=True, check=None)
        kept = dict(data, waited=answer.waited) if answer.waited is not None else keep
        return dict(status=status, interval=answer.next_ms, poll_off=False, check=kept)
