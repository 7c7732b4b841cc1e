"""What the page's ways in (app.web.claim_section, app.web.register_section, app.web.signin_section)
share: a labelled field with its feedback and hint, the submit button, the one access-code field, and
what a submitted form shows — its outcome with the login check started and the rest of the page put
away, or every problem at its field. Callbacks return their outputs as dicts by name.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Output, html

from app import rules
from app.ledger import Line
from app.web import outcome

HIDDEN = {"display": "none"}
SHOWN = {}
# Form element id -> field name in the service and the JSON API (app.rules.FIELDS).
FIELDS = {name.replace("_", "-"): name for name in rules.FIELDS}
CODE = "access-code"  # the one access-code field, above the ways in (all of them read it)
LINK_CODE_WRONG = "The code in your link is out of date: type the one your instructor shows."


def field(field_id: str, label: str, kind: str, autocomplete: str, max_length: int, hint: str | None,
          verbatim: bool = False):
    """A labelled input; `verbatim`: typed as is (no capital, correction or spell check on phones,
    assets/a11y.js), for usernames, codes and emails."""
    children = [
        dbc.Label(label, html_for=field_id),
        dbc.Input(id=field_id, type=kind, autoComplete=autocomplete, maxLength=max_length,
                  inputMode="email" if field_id.endswith("email") else None, debounce=False,
                  className="verbatim" if verbatim else None),
        dbc.FormFeedback(id=f"{field_id}-feedback", type="invalid"),
    ]
    if hint:
        children.append(dbc.FormText(hint, id=f"{field_id}-hint"))
    return html.Div(children, className="mb-3", id=f"{field_id}-group")


def code_field() -> html.Div:
    """The event's access code, asked once for every way in; with the join link's code, a quiet note in
    its place (assets/joinlink.js), and the field again if that code turns out wrong."""
    return html.Div(className="mb-3", children=[
        field(CODE, "Event access code", "text", "off", rules.ACCESS_CODE_MAX,
              "Your instructor shows it (capitals do not matter).", verbatim=True),
        html.P("✓ Code from your link", id="code-from-link", className="small text-success", style=HIDDEN),
    ])


def submit(label: str, ident: str):
    return dbc.Button(label, id=ident, type="submit", color="primary", className="w-100 mt-2")


def outputs(ids: list[str], code: bool) -> dict:
    """A way in's callback outputs: the outcome, the rest of the page (put away on success), each field's
    error, the login check (its data, the poll and the state line), and the access code's field."""
    def out(ident, prop):
        return Output(ident, prop, allow_duplicate=True)
    found = dict(result=out("register-result", "children"), ways=out("ways", "style"), intro=out("page-intro", "style"),
                 invalid=[out(i, "invalid") for i in ids], feedback=[out(f"{i}-feedback", "children") for i in ids],
                 check=out("login-check", "data"), poll_off=out("login-poll", "disabled"),
                 polls=out("login-poll", "n_intervals"), status=out("login-status", "children"))
    if code:
        found.update(code_shown=out(f"{CODE}-group", "style"), from_link=out("code-from-link", "style"))
    return found


def client() -> str:
    return flask.request.remote_addr or "unknown"


class Outcomes:
    """Renders a way in's outcome, with the login check it starts (app.logincheck) and the addresses; when a
    stored login works at once (app.handover, BasicAuth), it says so, with nothing to check."""

    def __init__(self, settings, check, discovery, handover):
        self.settings = settings
        self.check = check
        self.discovery = discovery
        self.handover = handover

    def success(self, ids: list[str], username: str, at: float, password: str, line: Line, again: bool,
                shown_password: str | None) -> dict:
        """The outcome view, the rest of the page put away, and the login check started."""
        instant = self.handover.instant
        check = None if instant else self.check.start(username, at, password)
        pending = line == Line.PENDING and not instant
        view = outcome.success_view(username, self.discovery.console_url(), self.discovery.api_url(), again,
                                    live=instant or check is not None, pending=pending,
                                    links=self.settings.links_for(username), password=shown_password,
                                    provider=self.settings.identity_provider_name)
        status = (outcome.login_status("ready") if instant else
                  outcome.login_status("waiting" if pending else "activating") if check else None)
        found = dict(result=view, ways=HIDDEN, intro=HIDDEN, invalid=[False] * len(ids), feedback=[""] * len(ids),
                     check=check, poll_off=check is None, polls=0, status=status)
        if self.settings.access_code_required:
            found.update(code_shown=dash.no_update, from_link=dash.no_update)
        return found

    def failure(self, ids: list[str], errors: dict[str, str], ident: str, code_hidden: bool = False) -> dict:
        """Every problem at its field, and the form-level message. A wrong code that came with the join link
        (its field hidden): the field again, saying so."""
        keep = dash.no_update
        errors = dict(errors)
        if CODE in ids and "access_code" in errors and code_hidden:
            errors["access_code"] = LINK_CODE_WRONG
        messages = [errors.get(FIELDS.get(i, i), "") for i in ids]
        found = dict(result=outcome.error_view(errors, ident), ways=keep, intro=keep,
                     invalid=[bool(m) for m in messages], feedback=messages,
                     check=keep, poll_off=keep, polls=keep, status=keep)
        if self.settings.access_code_required:
            wrong = "access_code" in errors and code_hidden
            found.update(code_shown=SHOWN if wrong else keep, from_link=HIDDEN if wrong else keep)
        return found
