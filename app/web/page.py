"""The registration page: a heading, the one access-code field, a choice between the ways in this event
offers (app.web.claim_section, app.web.register_section, app.web.signin_section: each owns its layout and
its callback; the choice shows one at a time, in the browser), and above them the outcome with the live
"can I log in yet?" state and its poll (app.logincheck). Closed or not yet open, the page says so in a
neutral panel and offers only signing back in. Which ways in there are is decided here, from the settings.
"""

from __future__ import annotations

import re

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html
from dash.dash import _default_index
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import BadRequest

from app import logincheck, roster
from app.claims import ClaimService
from app.errors import EventEnded
from app.handover import Handover
from app.logincheck import LoginCheck
from app.service import RegistrationService
from app.settings import Settings
from app.web import forms, outcome
from app.web.claim_section import ClaimSection
from app.web.http import callback
from app.web.register_section import RegisterSection
from app.web.signin_section import SignInSection

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
INTRO = "Get your OpenShift login for this event."
WAYS_LEGEND = "How do you want to get your login?"


class Page:
    def __init__(self, settings: Settings, service: RegistrationService, claims: ClaimService, check: LoginCheck,
                 discovery, handover: Handover):
        self.settings = settings
        self.service = service
        self.claims = claims
        self.check = check
        outcomes = forms.Outcomes(settings, check, discovery, handover)
        # The ways in, in the choice's order: a seat (SEATS), one's own login (SELF_REGISTRATION), and
        # always signing back in.
        self.seat = ClaimSection(claims, outcomes) if settings.seats else None
        self.own = RegisterSection(service, outcomes) if settings.self_registration else None
        self.back = SignInSection(service, outcomes)
        self.sections = [s for s in (self.seat, self.own) if s is not None] + [self.back]

    def layout(self) -> html.Main:
        """The whole page as it stands now: open or closed, and how many seats are left."""
        closed = self.service.closure()
        ended = isinstance(closed, EventEnded)  # nothing to do any more: no way in is shown
        seats_left = self.claims.seats_left()
        ways = [s for s in self.sections if closed is None or s is self.back]
        first = ways[0]
        choices = [dict(label=s.label, value=s.ident) for s in ways]
        return html.Main(className="container py-4 registration", children=[
            dcc.Location(id="url", refresh=False),  # the join link's ?code= (assets/joinlink.js)
            html.H1(self.settings.event_name, className="h3 mb-1"),
            html.P(INTRO, className="text-body-secondary mb-4", id="page-intro"),
            *([] if closed is None else [outcome.closed_view(closed.errors["form"], closed.at, self._now(closed),
                                                                    closed.ended if ended else None)]),
            # The outcome, above everything: the login's live state (the check's data, with the password,
            # lives only in this tab's memory and is dropped once the answer is known), then the card or error.
            html.Section(id="outcome", children=[
                html.Div(id="login-status", role="status", className="mb-2", **{"aria-live": "polite"}),
                html.Div([], id="register-result", role="status", **{"aria-live": "polite"}),
            ]),
            html.Div(id="ways", style=forms.HIDDEN if ended else None, children=[
                *([forms.code_field()] if self.settings.access_code_required else []),
                # The choice, one section shown at a time (assets/ways.js); there even with one way in, hidden.
                html.Fieldset(id="way-in-group", className="mb-3", style=None if len(ways) > 1 else forms.HIDDEN,
                              children=[
                    html.Legend(WAYS_LEGEND, className="form-label fs-6"),
                    dbc.RadioItems(id="way-in", options=choices, value=first.ident, inline=True,
                                   className="ways", inputClassName="btn-check",
                                   labelClassName="btn btn-outline-primary", labelCheckedClassName="active"),
                ]),
                *(self._section(s, s is first, closed is None, seats_left, len(ways)) for s in self.sections),
            ]),
            dcc.Store(id="login-check", storage_type="memory"),
            dcc.Interval(id="login-poll", interval=3000, disabled=True),
        ])

    def _section(self, section, shown: bool, open_: bool, seats_left: int | None, ways: int):
        if section is self.back:
            return section.layout(shown, alone=ways == 1)
        if section is self.seat:
            return section.layout(shown and open_, seats_left, another_way=self.own is not None)
        return section.layout(shown and open_)

    def _now(self, closed):
        return roster.now().astimezone(closed.at.tzinfo) if closed.at else roster.now()

    def register(self, app: dash.Dash) -> None:
        """Attach every section's callback, the choice between them, the join link's code, and the login
        check's poll."""
        for section in self.sections:
            section.register(app)
        app.clientside_callback(ClientsideFunction("ways", "show"),
                                [Output(s.ident, "style") for s in self.sections],
                                Input("way-in", "value"), prevent_initial_call=True)
        if self.settings.access_code_required:  # the join link's code fills the field (assets/joinlink.js)
            app.clientside_callback(ClientsideFunction("join", "code"), Output(forms.CODE, "value"),
                                    Output(f"{forms.CODE}-group", "style"), Output("code-from-link", "style"),
                                    Input("url", "search"))
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
