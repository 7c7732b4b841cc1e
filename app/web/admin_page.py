"""The instructor's page at /admin/ (only when ADMIN_TOKEN is set): a second Dash app on the same server.

Shows the count against MAX_USERS, the open/closed switch, the last registration, the cluster sync state
and a searchable, sortable table of attendees; "streamer mode" keeps names and emails off the screen
(they are not even sent to the browser). Actions: download users.csv, reset a password (shown once),
remove an attendee. Every callback checks the session; the CSRF check is in app.web.sessions.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, dash_table, dcc, html
from dash.exceptions import PreventUpdate

from app import roster
from app.admin import AdminService, NotRegistered
from app.errors import RateLimited, StoreError
from app.ratelimit import ClientLimiter
from app.settings import Settings
from app.web import sessions

log = logging.getLogger(__name__)
COLUMNS = [("username", "Username"), ("full_name", "Full name"), ("email", "Email"), ("registered_at", "Registered at")]
PRIVATE = {"full_name", "email"}


def create_admin_app(server: flask.Flask, settings: Settings, service: AdminService, limiter: ClientLimiter,
                     assets_folder: str) -> dash.Dash:
    """Mount the admin page under /admin/ on the server."""
    sessions.install(server, settings)
    admin = dash.Dash(
        __name__, server=server, url_base_pathname=sessions.PREFIX, assets_folder=assets_folder,
        external_stylesheets=[], serve_locally=True, compress=True, update_title=None,
        title=f"Instructor · {settings.event_name}", suppress_callback_exceptions=True,
    )
    admin.layout = lambda: _dashboard(settings, service) if sessions.signed_in() else _sign_in_form()

    @server.get("/admin")
    def admin_without_slash():
        return flask.redirect(sessions.PREFIX)

    @server.get("/admin/users.csv")
    def download_users():
        if not sessions.signed_in():
            return flask.jsonify(errors={"form": "Sign in first."}), 403
        log.info("event=admin_action who=admin action=export username=-")
        return flask.Response(service.export_csv(), mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=users.csv", "Cache-Control": "no-store"})

    @admin.callback(Output("admin-location", "href"), Output("sign-in-result", "children"),
                    Input("sign-in", "n_clicks"), Input("admin-token", "n_submit"), State("admin-token", "value"),
                    prevent_initial_call=True)
    def sign_in(_clicks, _submits, token):
        try:
            limiter.check(flask.request.remote_addr or "unknown")
        except RateLimited as error:
            return dash.no_update, dbc.Alert(error.errors["form"], color="danger")
        if not sessions.sign_in(token, settings):
            log.warning("event=admin_sign_in outcome=refused")
            return dash.no_update, dbc.Alert("That is not the admin token.", color="danger", id="sign-in-error")
        log.info("event=admin_sign_in outcome=signed_in")
        return sessions.PREFIX, ""

    @admin.callback(Output("admin-location", "href", allow_duplicate=True), Input("sign-out", "n_clicks"),
                    prevent_initial_call=True)
    def sign_out(_clicks):
        sessions.sign_out()
        return sessions.PREFIX

    @admin.callback(Output("admin-summary", "children"), Output("attendees", "data"),
                    Output("attendees", "columns"),
                    Input("admin-tick", "n_intervals"), Input("streamer-mode", "value"),
                    Input("admin-result", "children"))
    def refresh(_ticks, streamer, _result):
        _require_session()
        overview = service.overview()
        shown = [(key, name) for key, name in COLUMNS if not (streamer and key in PRIVATE)]
        # Each row's id is its username: a selection names an attendee, not a position that a refresh
        # could give to someone else.
        rows = [{"id": r.username, **{key: _cell(getattr(r, key)) for key, _ in shown}} for r in overview.attendees]
        return _summary(overview), rows, [{"id": key, "name": name} for key, name in shown]

    @admin.callback(Output("admin-result", "children"), Input("registration-open", "value"),
                    prevent_initial_call=True)
    def switch(value):
        _require_session()
        return _act(lambda: (service.set_open(bool(value)),
                             dbc.Alert(f"Registration is now {'open' if value else 'closed'}.", color="info"))[1])

    @admin.callback(Output("admin-result", "children", allow_duplicate=True), Input("reset-password", "n_clicks"),
                    State("attendees", "selected_row_ids"), State("streamer-mode", "value"),
                    prevent_initial_call=True)
    def reset(_clicks, selected, streamer):
        _require_session()
        username = _chosen(selected)
        if not username:
            return dbc.Alert("Select an attendee in the table first.", color="warning")
        return _act(lambda: _password_view(username, service.reset_password(username), streamer))

    @admin.callback(Output("confirm-remove", "displayed"), Output("confirm-remove", "message"),
                    Input("remove-attendee", "n_clicks"), State("attendees", "selected_row_ids"),
                    prevent_initial_call=True)
    def ask_remove(_clicks, selected):
        username = _signed_in_and_chosen(selected)
        return True, f"Remove {username}? Their login stops working and their record is deleted."

    @admin.callback(Output("admin-result", "children", allow_duplicate=True),
                    Input("confirm-remove", "submit_n_clicks"), State("attendees", "selected_row_ids"),
                    prevent_initial_call=True)
    def remove(_submitted, selected):
        username = _signed_in_and_chosen(selected)
        return _act(lambda: _removal_view(service.remove(username)))

    return admin


def _require_session() -> None:
    if not sessions.signed_in():
        raise PreventUpdate


def _act(action):
    try:
        return action()
    except NotRegistered as error:
        return dbc.Alert(f"{error.args[0]} is not registered through this app.", color="warning")
    except StoreError as error:
        return dbc.Alert(f"That did not work: {error.cause}", color="danger")


def _chosen(selected) -> str | None:
    """The username of the selected row, if one is selected."""
    return selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], str) else None


def _signed_in_and_chosen(selected) -> str:
    _require_session()
    username = _chosen(selected)
    if not username:
        raise PreventUpdate
    return username


def _cell(value) -> str:
    return roster.format_time(value) if hasattr(value, "astimezone") else value


def _summary(overview) -> dbc.Row:
    limit = f" of {overview.max_users}" if overview.max_users else ""
    last = roster.format_time(overview.last_registration) if overview.last_registration else "none yet"
    sync = overview.sync
    state = f"error: {sync['error']}" if sync["error"] else "ok"
    cards = [
        ("Registered", f"{len(overview.attendees)}{limit}", "admin-count"),
        ("Registration", "open" if overview.registration_open else "closed", "admin-open-state"),
        ("Last registration", last, "admin-last"),
        ("Sync", f"{sync['mode']}: {state}; last write {sync['last_write'] or 'never'}", "admin-sync"),
    ]
    return dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(title, className="small text-body-secondary"),
                                                   html.Div(value, className="fw-semibold", id=ident)])),
                            md=3, className="mb-2") for title, value, ident in cards])


def _password_view(username: str, password: str, streamer: bool) -> dbc.Alert:
    shown = html.Code(password, id="new-password", className="fs-5")
    if streamer:  # on a projected screen: copy, do not show
        shown = html.Code(password, id="new-password", hidden=True)
    return dbc.Alert([
        html.Span(f"New password for {username} (shown once, not stored): "), shown,
        dcc.Clipboard(target_id="new-password", title="Copy the new password", className="copy"),
        html.Div("OpenShift accepts it within a minute or two.", className="small"),
    ], color="success", id="reset-result")


def _removal_view(removal) -> dbc.Alert:
    items = [html.Span(f"Removed {removal.username}: login and record deleted.")]
    if removal.commands:
        items += [html.Div("This deployment may not delete OpenShift users; as a cluster admin, run:"),
                  html.Code(removal.commands[0])]
    return dbc.Alert(items, color="success", id="remove-result")


def _sign_in_form() -> html.Main:
    return html.Main(className="container py-4 registration", children=[
        dcc.Location(id="admin-location", refresh=True),
        html.H1("Instructor sign-in", className="h3 mb-3"),
        dbc.Label("Admin token", html_for="admin-token"),
        dbc.Input(id="admin-token", type="password", autoComplete="current-password", maxLength=200),
        dbc.Button("Sign in", id="sign-in", color="primary", className="mt-3"),
        html.Div(id="sign-in-result", className="mt-3", role="status", **{"aria-live": "polite"}),
    ])


def _dashboard(settings: Settings, service: AdminService) -> html.Main:
    overview = service.overview()
    return html.Main(className="container-fluid py-3 admin", children=[
        dcc.Location(id="admin-location", refresh=True),
        dcc.Interval(id="admin-tick", interval=10_000),
        dcc.ConfirmDialog(id="confirm-remove"),
        html.Div([html.H1(f"Instructor view · {settings.event_name}", className="h4 mb-0 me-auto"),
                  dbc.Button("Sign out", id="sign-out", color="link")], className="d-flex align-items-center mb-3"),
        html.Div(id="admin-summary"),
        dbc.Row([
            dbc.Col(dbc.Switch(id="registration-open", label="Registration open", value=overview.registration_open)),
            dbc.Col(dbc.Switch(id="streamer-mode", label="Streamer mode: hide names and emails", value=False,
                               persistence=True, persistence_type="session")),
            dbc.Col(html.A("Download users.csv", href="/admin/users.csv", id="download-csv",
                           className="btn btn-outline-secondary btn-sm"), className="text-end"),
        ], className="my-2 align-items-center"),
        html.Div(id="admin-result", role="status", **{"aria-live": "polite"}),
        dash_table.DataTable(
            id="attendees", data=[], columns=[], sort_action="native", filter_action="native",
            row_selectable="single", selected_row_ids=[], page_size=50,
            style_cell={"textAlign": "left", "fontFamily": "inherit"},
        ),
        html.Div([dbc.Button("Reset password", id="reset-password", color="secondary", className="me-2"),
                  dbc.Button("Remove attendee", id="remove-attendee", color="danger")], className="mt-3"),
    ])
