"""What the page shows around the ways in: the login's state (waiting → activating → ready), the card that
says how to log in, the form-level error, the closed or not-yet-open panel, and the `oc login` command.
Pure builders of Dash components.

The card leads with one action, "Open the web console", says which button to choose on OpenShift's login
page, and gives the command line in a code block; every copy control is a real button (assets/copy.js).
The live state sits above it, in the page (`login-status`), so the card never contradicts it.
"""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html

from app import schedule
from app.errors import FORM

STEPS = ("Registered", "Activating", "Ready")
STATUS = {
    "waiting": ("Registered. Your login goes out with the next batch{due}; OpenShift then takes a minute or two "
                "to apply it.", 0),
    "activating": ("Activating your account… OpenShift is applying the new logins (checking every few seconds).",
                   1),
    "ready": ("Ready: you can log in now.", 2),
    "refused": ("OpenShift refused this login: the name belongs to another account on this cluster. Please "
                "tell your instructor.", None),
    "stuck": ("Your account is still not active. Please tell your instructor.", None),
    "over": ("This event has ended: this login no longer works. Thank you for taking part!", None),
}


def success_view(username: str, console_url: str | None, api_url: str | None, again: bool = False,
                 live: bool = False, pending: bool = True, links: list[dict[str, str]] = (),
                 password: str | None = None, provider: str | None = None) -> html.Div:
    """What an attendee sees once their registration is stored (or their seat is theirs, or they signed
    back in): the username, a seat's password (shown here once), and how to log in. `live`: the state line
    above says when the login works (else the card says what to expect)."""
    if password is not None:
        heading = f"Your seat again: {username}." if again else f"Seat {username} is yours."
    else:
        heading = f"Welcome back, {username}." if again else f"Account {username} registered."
    items = [html.H2(heading, className="h4 card-title")]
    if not live:
        items.append(html.P("Your login is being activated: new logins are written in batches, then OpenShift "
                            "takes a minute or two to apply them. If your first login fails, wait a little and "
                            "try again." if pending else "OpenShift accepts a new login within a minute or two: "
                            "if your first login fails, wait a moment and try again."))
    if console_url:
        items.append(html.Div(className="d-flex flex-wrap gap-2 align-items-center my-3", children=[
            html.A("Open the web console", href=console_url, id="console-url", target="_blank",
                   rel="noopener noreferrer", className="btn btn-primary btn-lg"),
            copy_button("console-url", "Copy address", "of the web console"),
        ]))
        if provider:
            items.append(html.P(["On the login page, choose ", html.Strong(provider, id="result-provider"), "."]))
    items.append(html.Dl(className="row mb-2", children=[
        html.Dt("Username", className="col-sm-3"),
        html.Dd([html.Code(username, id="result-username", className="fs-6 me-2"),
                 copy_button("result-username", "Copy", "the username")], className="col-sm-9"),
        *([html.Dt("Password", className="col-sm-3"),
           html.Dd([html.Code(password, id="result-password", className="fs-5 me-2"),
                    copy_button("result-password", "Copy", "the password"),
                    html.Div("Write it down or copy it now: this page shows it once, and it is not stored "
                             "anywhere.", className="small text-body-secondary")], className="col-sm-9")]
          if password is not None else []),
    ]))
    if api_url:
        items.append(html.Div([
            html.H3("Command line", className="h6 mb-1"),
            html.Div(className="d-flex gap-2 align-items-start", children=[
                html.Pre(html.Code(login_command(username, api_url), id="login-command"),
                         className="command mb-0 flex-grow-1"),
                copy_button("login-command", "Copy", "the oc login command"),
            ]),
        ], className="mb-2"))
    if links:
        items.append(html.Div([
            html.H3("Your lab", className="h6 mt-3 mb-1"),
            html.Ul([html.Li(html.A(link["title"], href=link["url"], target="_blank", rel="noopener noreferrer"))
                     for link in links], id="lab-links", className="mb-0"),
        ]))
    ident = "claim-success" if password is not None else "register-success"
    # Focused when it appears (assets/a11y.js): a screen reader starts here, a keyboard goes on from here.
    return html.Div(html.Div(items, className="card-body"), id=ident, className="card result-card border-success",
                    tabIndex="-1", **{"data-focus": "on-show"})


def copy_button(target: str, text: str, what: str) -> html.Button:
    """A button that copies the text (or, for a link, the address) of `target` (assets/copy.js). Its name
    begins with what it shows ("Copy", then for a screen reader what: "Copy the password")."""
    return html.Button([html.Span(text, className="copy-label"), html.Span(f" {what}", className="visually-hidden")],
                       type="button", className="btn btn-outline-dark btn-sm copy", **{"data-copy": target})


def login_status(state: str, due_in: float | None = None, after_rollout: bool = False) -> html.Div:
    """The login's state, above the card: where it is among registered → activating → ready, and in words
    (with, while it waits for its batch, when that is due)."""
    text, step = STATUS[state]
    due = ""
    if after_rollout:
        due = ", as soon as OpenShift has applied the previous one"
    elif due_in is not None:
        due = " in a few seconds" if due_in < 10 else f" in about {_duration(due_in)}"
    words = html.P(text.format(due=due), className="mb-0 login-words", id=f"login-status-{state}")
    if step is None:
        return html.Div(words, className="login-state login-state-problem")
    steps = html.Ol([html.Li(name, className="done" if i < step else "current" if i == step else "todo",
                             **({"aria-current": "step"} if i == step else {}))
                     for i, name in enumerate(STEPS)], className="login-steps", **{"aria-label": "Your login"})
    return html.Div([steps, words], className=f"login-state login-state-{state}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds / 10) * 10:.0f} seconds"
    return f"{round(seconds / 60):.0f} minutes"


def error_view(errors: dict[str, str], ident: str = "register-error") -> dbc.Alert:
    """The form-level message: the error for the whole form, or a pointer to the fields."""
    only_the_code = set(errors) == {"access_code"}  # its own message stands for the form
    message = errors.get(FORM) or (errors["access_code"] if only_the_code else "Please correct the fields marked "
                                   "below.")
    return dbc.Alert(message, color="danger", id=ident)


def closed_view(message: str, opens_at: datetime | None, now: datetime, ended: datetime | None = None) -> dbc.Alert:
    """Closed, not open yet or ended: a neutral panel (nobody did anything wrong), with how long until it opens,
    or when it ended."""
    children = [html.P(message, className="mb-0", id="register-closed-message")]
    if ended is not None:
        children.append(html.P(f"It ended at {schedule.moment(ended)}. Your instructor has the list of attendees.",
                               className="mb-0 small", id="register-ended-at"))
    if opens_at is not None and opens_at > now:
        children.append(html.P(f"That is in {_until(opens_at - now)}.", className="mb-0 small"))
    return dbc.Alert(children, color="secondary", id="register-closed")


def _until(delta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours < 10 and rest else f"{hours} h"


def login_command(username: str, api_url: str | None) -> str | None:
    """The `oc login` command for this user (the password is asked for by oc, never shown)."""
    if not api_url:
        return None
    return f"oc login --username={username} {api_url}"
