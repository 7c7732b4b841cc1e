"""What the page's two ways in (app.web.register_section, app.web.claim_section) share: a labelled field
with its feedback and hint, the submit button, and what a submitted form shows — its outcome with the
login check started, or every problem at its field. Callbacks return their outputs as dicts by name.
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
# Form element id -> field name in the service and the JSON API (app.rules.FIELDS).
FIELDS = {name.replace("_", "-"): name for name in rules.FIELDS}


def field(field_id: str, label: str, kind: str, autocomplete: str, max_length: int, hint: str | None):
    children = [
        dbc.Label(label, html_for=field_id),
        dbc.Input(id=field_id, type=kind, autoComplete=autocomplete, maxLength=max_length,
                  inputMode="email" if field_id.endswith("email") else None, debounce=False),
        dbc.FormFeedback(id=f"{field_id}-feedback", type="invalid"),
    ]
    if hint:
        children.append(dbc.FormText(hint, id=f"{field_id}-hint"))
    return html.Div(children, className="mb-3", id=f"{field_id}-group")


def submit(label: str, ident: str):
    return dbc.Button(label, id=ident, type="submit", color="primary", className="w-100 mt-2")


def outputs(result: str, form: str, others: list[str], ids: list[str]) -> dict:
    """A way in's callback outputs: its outcome, its form, the other ways in (hidden on success), each
    field's error, and the login check (its data, the poll and the status line)."""
    return dict(result=Output(result, "children"), form=Output(form, "style"),
                others=[Output(other, "style") for other in others],
                invalid=[Output(i, "invalid") for i in ids],
                feedback=[Output(f"{i}-feedback", "children") for i in ids],
                check=Output("login-check", "data", allow_duplicate=True),
                poll_off=Output("login-poll", "disabled", allow_duplicate=True),
                polls=Output("login-poll", "n_intervals", allow_duplicate=True),
                status=Output("login-status", "children", allow_duplicate=True))


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

    def success(self, ids: list[str], others: list[str], username: str, at: float, password: str, line: Line,
                again: bool, shown_password: str | None) -> dict:
        """The outcome view, the form and the other ways in hidden, and the login check started."""
        instant = self.handover.instant
        check = None if instant else self.check.start(username, at, password)
        pending = line == Line.PENDING and not instant
        view = outcome.success_view(username, self.discovery.console_url(), self.discovery.api_url(), again,
                                    checking=check is not None, pending=pending,
                                    links=self.settings.links_for(username), password=shown_password,
                                    ready=instant)
        status = (outcome.login_status("ready") if instant else
                  outcome.login_status("waiting" if pending else "activating") if check else None)
        return dict(result=view, form=HIDDEN, others=[HIDDEN] * len(others), invalid=[False] * len(ids),
                    feedback=[""] * len(ids), check=check, poll_off=check is None, polls=0, status=status)

    @staticmethod
    def failure(ids: list[str], others: list[str], messages: list[str], errors: dict[str, str], ident: str) -> dict:
        """Every problem at its field, and the form-level message."""
        return dict(result=outcome.error_view(errors, ident), form=dash.no_update,
                    others=[dash.no_update] * len(others), invalid=[bool(m) for m in messages], feedback=messages,
                    check=dash.no_update, poll_off=dash.no_update, polls=dash.no_update, status=dash.no_update)
