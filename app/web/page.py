"""The registration page's layout and its result views: pure builders of Dash components.

Element ids are a contract with tests and automation: username, password, password-confirm, full-name,
email, access-code (only when an access code is configured), the button register, and register-result;
with SEATS, claim-email, claim-access-code, the button claim, and claim-result.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.dash import _default_index

from app import rules
from app.errors import FORM, RegistrationClosed, SeatsTaken
from app.settings import Settings

# Dash's page template with the document's language, which screen readers need (both Dash apps use it).
INDEX_STRING = _default_index.replace("<html>", '<html lang="en">', 1)

SEATS_TAKEN_BELOW = "All seats are taken: choose your own login below."
# Form element id -> field name in the service and the JSON API (app.rules.FIELDS).
FIELDS = {name.replace("_", "-"): name for name in rules.FIELDS}


def field_ids(settings: Settings) -> list[str]:
    """The registration form's input ids, in page order (the access code only when one is configured;
    none without SELF_REGISTRATION)."""
    if not settings.self_registration:
        return []
    return [i for i in FIELDS if i != "access-code" or settings.access_code_required]


def layout(settings: Settings, closed: RegistrationClosed | None = None, seats_left: int | None = None) -> html.Main:
    """The whole page: a heading, the form (or why it is closed), and where the outcome appears.

    With SEATS the page offers claiming a seat, first (or says that all are taken, when seats_left is 0);
    with SELF_REGISTRATION, choosing one's own login (below, when both are on)."""
    registration_open = closed is None
    hidden = None if registration_open else {"display": "none"}
    taken = []
    if settings.seats and seats_left == 0 and registration_open:
        hidden_claim = {"display": "none"}
        taken = [dbc.Alert(SEATS_TAKEN_BELOW if settings.self_registration else SeatsTaken().errors[FORM],
                           color="info", id="seats-taken")]
    else:
        hidden_claim = hidden
    both = settings.seats and settings.self_registration
    intro = ("Claim a seat (an OpenShift login made for this event), or create your own login." if both else
             "Claim your OpenShift login for this event." if settings.seats else
             "Create your OpenShift login for this event.")
    sections = []
    if settings.seats:
        sections.append(html.Section(id="claim-section", className="mb-4", children=[
            *([html.H2("Claim a seat", className="h5")] if both else []),
            html.Div(taken, id="claim-result", role="status", **{"aria-live": "polite"}),
            dbc.Form(id="claim-form", style=hidden_claim, children=[
                html.P("Enter your email: you get a username and its password, shown once on this page.",
                       className="small text-body-secondary"),
                *_claim_fields(settings), _submit("Claim a seat", "claim")]),
        ]))
    if settings.self_registration:
        sections.append(html.Section(id="register-section", children=[
            *([html.H2("Or choose your own login", className="h5")] if both else []),
            dbc.Form(id="registration-form", children=_fields(settings) + [_submit("Register", "register")],
                     style=hidden),
        ]))
    return html.Main(
        className="container py-4 registration",
        children=[
            dcc.Location(id="url", refresh=False),  # the join link's ?code= (assets/joinlink.js)
            html.H1(settings.event_name, className="h3 mb-1"),
            html.P(intro, className="text-body-secondary mb-4"),
            html.Div([] if registration_open else [error_view(closed.errors)], id="register-result",
                     role="status", **{"aria-live": "polite"}),
            *sections,
            # The live "can I log in yet?" line, below whichever outcome shows (the forms are hidden then).
            # The check's data (with the password) lives only in this browser tab's memory and is dropped
            # once the answer is known.
            html.Div(id="login-status", role="status", className="mb-3", **{"aria-live": "polite"}),
            dcc.Store(id="login-check", storage_type="memory"),
            dcc.Interval(id="login-poll", interval=3000, disabled=True),
        ],
    )


def claim_field_ids(settings: Settings) -> list[str]:
    """The claim form's input ids (the access code only when one is configured; none without SEATS)."""
    if not settings.seats:
        return []
    return ["claim-email"] + (["claim-access-code"] if settings.access_code_required else [])


def _claim_fields(settings: Settings) -> list:
    fields = [_field("claim-email", "Email", "text", "email", rules.EMAIL_MAX, None)]
    if settings.access_code_required:
        fields.append(_field("claim-access-code", "Event access code", "text", "off", rules.ACCESS_CODE_MAX,
                             "Your instructor gives you this code."))
    return fields


def _fields(settings: Settings) -> list:
    specs = [
        ("username", "Username", "text", "username", rules.USERNAME_MAX,
         f"{rules.USERNAME_MIN}–{rules.USERNAME_MAX} characters: lowercase letters, digits and hyphens. "
         "This is your OpenShift login."),
        ("password", "Password", "password", "new-password", rules.BCRYPT_MAX_BYTES,
         f"At least {settings.min_password_length} characters. A few uncommon words work well."),
        ("password-confirm", "Confirm password", "password", "new-password", rules.BCRYPT_MAX_BYTES, None),
        ("full-name", "Full name", "text", "name", rules.FULL_NAME_MAX, None),
        ("email", "Email", "text", "email", rules.EMAIL_MAX, None),
    ]
    if settings.access_code_required:
        specs.append(("access-code", "Event access code", "text", "off", rules.ACCESS_CODE_MAX,
                      "Your instructor gives you this code."))
    return [_field(*spec) for spec in specs]


def _field(field_id: str, label: str, kind: str, autocomplete: str, max_length: int, hint: str | None):
    children = [
        dbc.Label(label, html_for=field_id),
        dbc.Input(
            id=field_id,
            type=kind,
            autoComplete=autocomplete,
            maxLength=max_length,
            inputMode="email" if field_id.endswith("email") else None,
            debounce=False,
        ),
        dbc.FormFeedback(id=f"{field_id}-feedback", type="invalid"),
    ]
    if hint:
        children.append(dbc.FormText(hint, id=f"{field_id}-hint"))
    return html.Div(children, className="mb-3", id=f"{field_id}-group")


def _submit(label: str, ident: str):
    return dbc.Button(label, id=ident, type="submit", color="primary", className="w-100 mt-2")


def success_view(username: str, console_url: str | None, api_url: str | None, again: bool = False,
                 checking: bool = False, pending: bool = True, links: list[dict[str, str]] = (),
                 password: str | None = None) -> dbc.Alert:
    """What an attendee sees once their registration is stored (or their seat is theirs): the username,
    a seat's password (shown here once), and how to log in."""
    if password is not None:
        heading = f"Your seat again: {username}." if again else f"Seat {username} is yours."
    else:
        heading = f"Welcome back, {username}: you are registered." if again else f"Account {username} registered."
    if checking:
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
