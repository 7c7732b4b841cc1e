"""The admin page's views: pure builders of Dash components from what app.admin returns."""

from __future__ import annotations

from datetime import datetime, timezone

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from app import activation, roster, schedule
from app.admin import MAX_SEATS, Overview, Removal
from app.roster import Registration
from app.settings import Settings
from app.web import end_section, room_page
from app.web.outcome import copy_button

COLUMNS = [("username", "Username"), ("full_name", "Full name"), ("email", "Email"),
           ("registered_at", "Registered (UTC)"), ("login", "Login"), ("logged_in", "Last logged in (UTC)"),
           ("seat", "Seat")]
PRIVATE = {"full_name", "email"}
REFRESH_MS = 10_000


def table(attendees: list[Registration], streamer: bool, logins: dict[str, str] | None = None,
          login_state: str | None = None, logged_in: dict[str, tuple[float, float]] | None = None,
          now: datetime | None = None) -> tuple[list[dict], list[dict]]:
    """The table's rows and columns; in streamer mode names and emails are not even sent to the browser.

    Each row's id is its username: a selection names an attendee, not a position that a refresh could
    give to someone else. `login_state` keeps only the attendees whose login is in that state. The last
    login OpenShift made shows when the app sees logins (BasicAuth) and someone has logged in.
    """
    logins, logged_in = logins or {}, logged_in or {}
    now = now or roster.now()
    seats = any(r.seat for r in attendees)  # the Seat column only when there are seats
    shown = [(key, name) for key, name in COLUMNS if not (streamer and key in PRIVATE) and (seats or key != "seat")
             and (logged_in or key != "logged_in")]
    rows = []
    for r in attendees:
        state = logins.get(r.username, activation.PENDING)
        if login_state in activation.STATES and state != login_state:
            continue
        seen = logged_in.get(r.username)
        values = {"login": state, "seat": ("unclaimed" if r.unclaimed else "claimed") if r.seat else "",
                  "registered_at": when(r.claimed_at or r.registered_at, now),
                  "logged_in": when(_utc(seen[1]), now) if seen else ""}
        rows.append({"id": r.username, **{key: values[key] if key in values else _cell(getattr(r, key))
                                          for key, _ in shown}})
    return rows, [{"id": key, "name": name} for key, name in shown]


def accounts(overview: Overview) -> list[Registration]:
    """The table's rows: the attendees, newest first (the last arrivals on the first page), then the seats
    nobody claimed yet."""
    newest = sorted(overview.attendees, key=lambda r: r.claimed_at or r.registered_at)[::-1]  # ties: later row first
    return newest + [r for r in overview.seats if r.unclaimed]


def when(at: datetime, now: datetime) -> str:
    """A time as an instructor reads it in a table: its clock time (UTC, sortable within a day; the date
    too when it is not today) and how long ago."""
    ago = max(0, int((now - at).total_seconds()))
    rel = ("just now" if ago < 60 else f"{ago // 60} min ago" if ago < 3600 else f"{ago // 3600} h ago"
           if ago < 86_400 else f"{ago // 86_400} d ago")
    clock = f"{at:%H:%M}" if at.date() == now.date() else f"{at:%d %b %H:%M}"
    return f"{clock} · {rel}"


def _cell(value) -> str:
    return roster.format_time(value) if hasattr(value, "astimezone") else value


def summary(overview: Overview, streamer: bool = False) -> dbc.Row:
    """The cards at the top: counts, open or closed, last registration, sync; fast seat claims, if any."""
    limit = f" of {overview.max_users}" if overview.max_users else ""
    now = roster.now()
    last = when(overview.last_registration, now) if overview.last_registration else "none yet"
    sync = overview.sync
    state = f"error: {sync['error']}" if sync["error"] else "ok"
    counts = activation.counts(overview.attendee_logins())
    cards = [
        ("Registered", f"{len(overview.attendees)}{limit}", "admin-count"),
        ("Registration", [html.Span("open" if overview.registration_open else "closed"),
                          html.Div(overview.schedule or "", className="small fw-normal", id="admin-schedule")],
         "admin-open-state"),
        ("Last registration (UTC)", last, "admin-last"),
        ("Records", f"{'in the cluster' if sync['mode'] == 'cluster' else 'local files'}: {state}", "admin-sync"),
        ("Logins", " · ".join(f"{n} {s}" for s, n in counts.items() if n or s != activation.ENDED),
         "admin-login-counts"),
    ]
    seats_alert = []
    if overview.seats:
        claimed = sum(1 for seat in overview.seats if not seat.unclaimed)
        cards.insert(1, ("Seats", f"{claimed} of {len(overview.seats)} claimed", "admin-seats"))
        if claimed == len(overview.seats):
            seats_alert = [dbc.Col(dbc.Alert(f"{claimed} of {len(overview.seats)} seats claimed: make more below "
                                             f"(the next free number is {overview.next_seat}).", color="warning",
                                             id="admin-seats-full"), md=12, className="mb-2")]
    if overview.logged_in:  # BasicAuth: the app sees every login OpenShift makes
        names = {r.username for r in overview.attendees}
        cards.append(("Logged in", f"{sum(1 for n in overview.logged_in if n in names)} of {len(names)}",
                      "admin-logged-in"))
    lines = overview.publishing.lines() + [
        f"refused by OpenShift: {name} (the name belongs to another identity): remove them and let them register "
        "another name" for name in sorted(overview.refused)]
    status = overview.publishing
    stuck = bool(status.blocked) or status.rollout == "unseen"  # then it is open: something to act on
    publishing = html.Details([html.Summary("How logins reach OpenShift", className="small"),
                               html.Div([html.Div(line) for line in lines], id="admin-publishing", className="small")],
                              open=bool(overview.refused) or stuck)
    blocked = [dbc.Col(dbc.Alert(f"No login is being written to OpenShift: {status.blocked}", color="danger",
                                 id="admin-blocked"), md=12, className="mb-2")] if status.blocked else []
    return dbc.Row([dbc.Col(headline(overview, counts), md=12, className="mb-2"), *blocked, *seats_alert]
                   + [dbc.Col(dbc.Card(dbc.CardBody([html.Div(title, className="small text-body-secondary"),
                                                     html.Div(value, className="fw-semibold", id=ident)])),
                              md=True, className="mb-2") for title, value, ident in cards]
                   + [dbc.Col(publishing, md=12, className="mb-2")] + _bursts(overview, streamer))


def headline(overview: Overview, counts: dict[str, int]) -> html.Div:
    """The one line an instructor looks at: how many of the room can log in, wait, were refused; or that the
    event has ended."""
    if overview.ended_at:
        return html.Div(id="admin-headline", className="fs-4", children=[
            dbc.Badge(f"The event ended at {schedule.moment(overview.ended_at)}", color="secondary"),
            html.Span(f" · {len(overview.attendees)} attendees' records kept", className="fs-6 text-body-secondary")])
    return html.Div(id="admin-headline", className="fs-4", children=[
        dbc.Badge(f"{counts[activation.ACTIVE]} of {len(overview.attendees)} can log in", color="success"),
        html.Span(" · ", className="text-body-secondary"),
        dbc.Badge(f"{counts[activation.PENDING]} pending", color="warning" if counts[activation.PENDING] else "light",
                  text_color="dark"),
        html.Span(" · ", className="text-body-secondary"),
        dbc.Badge(f"{counts[activation.REFUSED]} refused", color="danger" if counts[activation.REFUSED] else "light",
                  text_color="white" if counts[activation.REFUSED] else "dark"),
    ])


def _bursts(overview: Overview, streamer: bool) -> list:
    """A warning per address that claimed many seats within a minute (names kept off a streamed screen)."""
    if not overview.claim_bursts:
        return []
    lines = [html.Div(
        f"{'One address' if streamer else burst.client} claimed {burst.most} seats within a minute "
        f"({len(burst.usernames)} in all" + ("" if streamer else f": {', '.join(burst.usernames)}") + "). A room "
        "behind one network does this too; if it is not one, give them back with new passwords: "
        + ("python -m app seats release --from <address>" if streamer else
           f"python -m app seats release --from {burst.client}")) for burst in overview.claim_bursts]
    return [dbc.Col(dbc.Alert(lines, color="warning", id="admin-claim-bursts"), md=12, className="mb-2")]


def new_password(username: str, password: str, streamer: bool) -> html.Div:
    """A reset password, shown once in the action's dialog (copied, not shown, in streamer mode)."""
    shown = html.Code(password, id="new-password", className="fs-4 text-body")
    if streamer:  # on a projected screen: copy, do not show
        shown = html.Code(password, id="new-password", hidden=True)
    return html.Div([
        html.P(f"New password for {username} (shown once, not stored):"),
        html.Div([shown, copy_button("new-password", "Copy", "the new password")],
                 className="d-flex gap-2 align-items-center mb-2"),
        html.Div("Give it to them now. OpenShift accepts it within a minute or two.", className="small"),
    ], id="reset-result")


def seats_made(made: list[tuple[str, str]]) -> dbc.Alert:
    """What making seats did; their passwords went to the download only (never onto the screen)."""
    return dbc.Alert([
        html.Span(f"Made {len(made)} seats, {made[0][0]} to {made[-1][0]}. "),
        html.Span("seats.csv, with their passwords, was downloaded: it is the only copy (the passwords are not "
                  "stored). Print it, or let attendees claim the seats (SEATS=true)."),
        html.Div("Their logins go out together with the next write; OpenShift accepts them a minute or two later.",
                 className="small"),
    ], color="success", id="seats-result")


def seats_controls(start: int = 1) -> dbc.Form:
    """Make seats: how many, the username prefix, the first number (by default the next free one)."""
    def field(ident, label, **kwargs):
        return dbc.Col([dbc.Label(label, html_for=ident, className="small mb-0"),
                        dbc.Input(id=ident, size="sm", **kwargs)], width="auto")
    return dbc.Form(dbc.Row([
        field("seat-count", "Seats", type="number", min=1, max=MAX_SEATS, value=10),
        field("seat-prefix", "Username prefix", type="text", value="user", maxLength=40),
        field("seat-start", "First number", type="number", min=0, value=start),
        dbc.Col(dbc.Button("Make seats", id="make-seats", color="secondary", size="sm"), width="auto",
                className="align-self-end"),
    ], className="g-2"), id="seats-form", className="mt-3")


def removal(removal: Removal) -> html.Div:
    """What removing an attendee did, and the command left for a cluster admin, if any (in the dialog)."""
    items = [html.P(f"Removed {removal.username}: login and record deleted.")]
    if removal.commands:
        items += [html.Div("This deployment may not delete everything; as a cluster admin, run:")]
        items += [html.Div(html.Code(command, className="text-body")) for command in removal.commands]
    items += [html.Div(note, className="small") for note in removal.notes]
    return html.Div(items, id="remove-result")


def sign_in_form() -> html.Main:
    return html.Main(className="container py-4 registration", children=[
        dcc.Location(id="admin-location", refresh=True),
        html.H1("Instructor sign-in", className="h3 mb-3"),
        dbc.Label("Admin token", html_for="admin-token"),
        dbc.Input(id="admin-token", type="password", autoComplete="current-password", maxLength=200),
        dbc.Button("Sign in", id="sign-in", color="primary", className="mt-3"),
        html.Div(id="sign-in-result", className="mt-3", role="status", **{"aria-live": "polite"}),
    ])


def dashboard(settings: Settings, overview: Overview, streamer: bool = True) -> html.Main:
    return html.Main(className="container-fluid py-3 admin", children=[
        dcc.Location(id="admin-location", refresh=True),
        dcc.Interval(id="admin-tick", interval=REFRESH_MS),
        dcc.ConfirmDialog(id="confirm-remove"),
        dcc.ConfirmDialog(id="confirm-reset"),
        dcc.Store(id="asked-about", storage_type="memory"),  # whom the open confirmation asks about
        # What an action did, in view whatever the table's length (a new password above 50 rows was not).
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("Done", id="action-title")), dbc.ModalBody(id="action-body")],
                  id="action-dialog", is_open=False, labelledby="action-title"),
        dcc.Store(id="room-code", storage_type="local"),  # read by the room screen's window (app.web.room_page)
        html.Div([html.H1(f"Instructor view · {settings.event_name}", className="h4 mb-0 me-auto"),
                  dbc.Button("Sign out", id="sign-out", color="link")], className="d-flex align-items-center mb-3"),
        html.Div(id="admin-summary"),
        dbc.Row([
            dbc.Col(dbc.Switch(id="registration-open", label="Registration open", value=overview.registration_open,
                               disabled=bool(overview.ended_at))),  # nothing reopens an ended event
            dbc.Col(dbc.Switch(id="streamer-mode", label="Streamer mode: hide names and emails", value=streamer)),
            dbc.Col(html.Div([dbc.Label("Show", html_for="login-filter", className="me-2 mb-0"),
                              dbc.Select(id="login-filter", value="all", size="sm", options=[
                                  {"label": "every attendee", "value": "all"},
                                  *({"label": f"logins {state}", "value": state} for state in activation.STATES)])],
                             className="d-flex align-items-center")),
            dbc.Col(html.A("Download users.csv", href="/admin/users.csv", id="download-csv",
                           className="btn btn-outline-secondary btn-sm"), className="text-end"),
        ], className="my-2 align-items-center"),
        html.Div(id="admin-result", role="status", **{"aria-live": "polite"}),
        dash_table.DataTable(
            id="attendees", data=[], columns=[], sort_action="native", filter_action="native",
            row_selectable="single", selected_row_ids=[], page_size=50,
            style_cell={"textAlign": "left", "fontFamily": "inherit"}, style_table={"overflowX": "auto"},
        ),
        # The buttons say whom they act on, and act on nobody until a row is chosen (cleared after each action).
        html.Div([dbc.Button("Reset password", id="reset-password", color="secondary", className="me-2",
                             disabled=True),
                  dbc.Button("Remove attendee", id="remove-attendee", color="danger", disabled=True)],
                 className="mt-3"),
        html.H2("Room screen", className="h6 mt-4 mb-1"),
        html.P("For the projector: the join link as a QR code, and who can log in. No name or email.",
               className="small text-body-secondary mb-2"),
        *room_page.room_controls(settings),
        html.H2("Seats", className="h6 mt-4 mb-0"),
        html.P("Accounts made ahead of time, printed or claimed by attendees with their email.",
               className="small text-body-secondary mb-0"),
        seats_controls(overview.next_seat),
        dcc.Download(id="seats-download"),
        *end_section.layout(settings, overview),
        html.H2("Registrations and activations", className="h6 mt-4"),
        dcc.Graph(id="admin-chart", config={"displaylogo": False, "responsive": True}, style={"height": "320px"}),
    ])


def chart(overview: Overview) -> dict:
    """Registrations and activations over time, each OAuth rollout (a write of the logins) marked: a
    plotly figure as plain data (nothing here names an attendee)."""
    registered = sorted(r.claimed_at or r.registered_at for r in overview.attendees)
    activated, total = [], 0
    for batch in sorted(overview.batches, key=lambda b: b.active):
        total += batch.count
        activated.append((_utc(batch.active), total))
    if not overview.batches:  # no rollout recorded (local files: a login is active once written)
        active = sorted(r.claimed_at or r.registered_at for r in overview.attendees
                        if overview.logins.get(r.username) == activation.ACTIVE)
        activated = [(at, n) for n, at in enumerate(active, 1)]
    data = [
        {"type": "scatter", "mode": "lines+markers", "line": {"shape": "hv"}, "name": "registered",
         "x": [roster.format_time(t) for t in registered], "y": list(range(1, len(registered) + 1))},
        {"type": "scatter", "mode": "lines+markers", "line": {"shape": "hv"}, "name": "can log in",
         "x": [roster.format_time(t) for t, _ in activated], "y": [n for _, n in activated]},
    ]
    rollouts = [{"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "line": {"width": 0},
                 "fillcolor": "rgba(13, 110, 253, 0.12)", "x0": roster.format_time(_utc(b.written)),
                 "x1": roster.format_time(_utc(b.active))} for b in overview.batches]
    layout = {"margin": {"l": 40, "r": 10, "t": 10, "b": 40}, "shapes": rollouts, "legend": {"orientation": "h"},
              "xaxis": {"type": "date", **({} if registered else {"range": _last_hour()})},
              "yaxis": {"rangemode": "tozero", "title": {"text": "attendees"}},
              "annotations": [] if overview.batches else [
                  {"text": "no OAuth rollout completed yet", "showarrow": False, "xref": "paper", "yref": "paper",
                   "x": 0.5, "y": 0.5}]}
    return {"data": data, "layout": layout}


def _last_hour() -> list[str]:
    """The empty chart's time axis: the last hour, not the year 2000 (plotly's default)."""
    now = roster.now()
    return [roster.format_time(datetime.fromtimestamp(now.timestamp() - 3600, timezone.utc)),
            roster.format_time(now)]


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)
