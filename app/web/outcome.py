"""What either way in shows once it has an outcome: the success card, the live "can I log in yet?" line,
the form-level error, and the `oc login` command. Pure builders of Dash components."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from app.errors import FORM


def success_view(username: str, console_url: str | None, api_url: str | None, again: bool = False,
                 checking: bool = False, pending: bool = True, links: list[dict[str, str]] = (),
                 password: str | None = None, ready: bool = False) -> dbc.Alert:
    """What an attendee sees once their registration is stored (or their seat is theirs): the username,
    a seat's password (shown here once), and how to log in."""
    if password is not None:
        heading = f"Your seat again: {username}." if again else f"Seat {username} is yours."
    else:
        heading = f"Welcome back, {username}: you are registered." if again else f"Account {username} registered."
    if ready:
        timing = "Your login works now."
    elif checking:
        timing = "Your login is being activated: the line below says when it works."
    elif pending:
        timing = ("Your login is being activated: new logins are written in batches, then OpenShift takes a "
                  "minute or two to apply them. If your first login fails, wait a little and try again.")
    else:
        timing = ("OpenShift accepts a new login within a minute or two: if your first login fails, wait a "
                  "moment and try again.")
    items = [
        html.H2(heading, className="h5 alert-heading"),
        html.P(timing),
        html.P(["Username: ", html.Strong(username, id="result-username")]),
    ]
    if password is not None:
        items.append(html.P([
            "Password: ", html.Code(password, id="result-password", className="fs-5"),
            dcc.Clipboard(target_id="result-password", title="Copy the password", className="copy"),
            html.Br(),
            html.Span("Write it down or copy it now: this page shows it once, and it is not stored anywhere.",
                      className="small"),
        ]))
    if console_url:
        items.append(html.P([
            "Web console: ",
            html.A(console_url, href=console_url, id="console-url", target="_blank", rel="noopener noreferrer"),
            dcc.Clipboard(target_id="console-url", title="Copy the console address", className="copy"),
        ]))
    if api_url:
        items.append(html.Div([
            html.Span("Command line: "),
            html.Code(login_command(username, api_url), id="login-command"),
            dcc.Clipboard(target_id="login-command", title="Copy the oc login command", className="copy"),
        ]))
    if links:
        items.append(html.Div([
            html.H3("Your lab", className="h6 mt-3 mb-1"),
            html.Ul([html.Li(html.A(link["title"], href=link["url"], target="_blank", rel="noopener noreferrer"))
                     for link in links], id="lab-links", className="mb-0"),
        ]))
    return dbc.Alert(items, color="success", id="claim-success" if password is not None else "register-success")


STATUS = {
    "waiting": ("Registered. Your login goes out with the next batch{due}; OpenShift then takes a minute or two "
                "to apply it.", "text-body-secondary"),
    "activating": ("Activating your account… OpenShift is applying the new logins (checking every few seconds).",
                   "text-body-secondary"),
    "ready": ("Ready: you can log in now.", "text-success fw-semibold"),
    "refused": ("OpenShift refused this login: the name belongs to another account on this cluster. Please "
                "tell your instructor.", "text-danger fw-semibold"),
    "stuck": ("Your account is still not active. Please tell your instructor.", "text-danger fw-semibold"),
}


def login_status(state: str, due_in: float | None = None, after_rollout: bool = False) -> html.Span:
    """The line saying whether the new login works yet (and, while it waits, when its batch is due)."""
    text, style = STATUS[state]
    due = ""
    if after_rollout:
        due = ", as soon as OpenShift has applied the previous one"
    elif due_in is not None:
        due = " in a few seconds" if due_in < 10 else f" in about {_duration(due_in)}"
    return html.Span(text.format(due=due), className=style, id=f"login-status-{state}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds / 10) * 10:.0f} seconds"
    return f"{round(seconds / 60):.0f} minutes"


def error_view(errors: dict[str, str], ident: str = "register-error") -> dbc.Alert:
    """The form-level message: the error for the whole form, or a pointer to the fields."""
    # The access code's own message stands for the form: its field is hidden when the join link carried it.
    message = errors.get(FORM) or errors.get("access_code") or "Please correct the fields marked below."
    return dbc.Alert(message, color="danger", id=ident)


def login_command(username: str, api_url: str | None) -> str | None:
    """The `oc login` command for this user (the password is asked for by oc, never shown)."""
    if not api_url:
        return None
    return f"oc login --username={username} {api_url}"
