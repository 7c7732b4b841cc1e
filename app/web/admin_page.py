"""The instructor's page at /admin/ (only when ADMIN_TOKEN is set): a second Dash app on the same server.

Shows the count against MAX_USERS, the open/closed switch, the last registration, the cluster sync state
and a searchable, sortable table of attendees; "streamer mode" keeps names and emails off the screen
(they are not even sent to the browser). Actions: download users.csv, reset a password (shown once),
remove an attendee, make seats (their passwords go to a download, never onto the screen). Every
callback checks the session; the CSRF check is in app.web.sessions. The views themselves are pure
builders in app.web.admin_views.
"""

from __future__ import annotations

import json
import logging
from html import escape

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ClientsideFunction, Input, Output, State, dcc
from dash.exceptions import PreventUpdate

from app import metrics, rules, seats
from app.admin import AdminService, EventOver, NotRegistered, NotYetWritten, SeatsRefused
from app.errors import RateLimited, StoreError
from app.ratelimit import ClientLimiter
from app.settings import Settings
from app.web import admin_views as views
from app.web import bundles, end_section, room_page, sessions
from app.web.http import callback
from app.web.page import INDEX_STRING, Dash

log = logging.getLogger(__name__)


def mount(server: flask.Flask, settings: Settings, service: AdminService, sign_ins: ClientLimiter,
          assets_folder: str, discovery) -> list[dash.Dash]:
    """Mount the admin page under /admin/ and its room screen under /admin/room/ on the server."""
    signed = sessions.Sessions(settings, service.store.state, service.store.clock)
    signed.install(server)
    admin = Dash(
        __name__, server=server, url_base_pathname=sessions.PREFIX, assets_folder=assets_folder,
        external_stylesheets=[], serve_locally=True, compress=True, update_title=None,
        title=escape(f"Instructor · {settings.event_name}"), suppress_callback_exceptions=True,
        index_string=INDEX_STRING,  # with the document's language, for screen readers
    )
    page = AdminPage(settings, service, sign_ins, discovery, signed)
    admin.layout = page.layout
    server.add_url_rule("/admin", "admin_without_slash", lambda: flask.redirect(sessions.PREFIX))
    server.add_url_rule("/admin/users.csv", "admin_users_csv", page.download)
    page.register(admin)
    end_section.EndSection(page).register(admin, server)
    server.after_request(page.signed_out_dependencies)
    server.before_request(page.signed_in_bundles)
    return [admin, room_page.mount(server, settings, service, signed, discovery, assets_folder)]


class AdminPage:
    """The admin page's layout, download and callbacks."""

    def __init__(self, settings: Settings, service: AdminService, sign_ins: ClientLimiter, discovery,
                 signed: sessions.Sessions):
        self.settings = settings
        self.sessions = signed
        self.service = service
        self.sign_ins = sign_ins
        self.discovery = discovery  # the registration page's address (PUBLIC_URL or the Route)

    def layout(self):
        """The dashboard for a signed-in instructor, else the sign-in form."""
        if not self.sessions.signed_in():
            return views.sign_in_form()
        return views.dashboard(self.settings, self.service.overview(), self.sessions.streamer())

    def signed_out_dependencies(self, response: flask.Response) -> flask.Response:
        """/admin's callbacks, as Dash lists them to its page: before signing in, only the sign-in form's (the
        rest of the dashboard's map is for instructors)."""
        if flask.request.path != sessions.PREFIX + "_dash-dependencies" or response.status_code != 200 \
                or self.sessions.signed_in():
            return response
        ids = set(_ids(views.sign_in_form()))
        listed = json.loads(response.get_data())
        response.set_data(json.dumps([d for d in listed if all(i.get("id") in ids for i in d.get("inputs", []))]))
        return response

    def signed_in_bundles(self):
        """/admin's own bundles (the chart's library) for a signed-in instructor only."""
        path = flask.request.path
        for prefix in (sessions.PREFIX, room_page.PREFIX):  # the room screen's Dash app has its own
            suites = prefix.rstrip("/") + bundles.SUITES
            if path.startswith(suites) and path[len(suites):].startswith(bundles.ADMIN_ONLY_BUNDLES) \
                    and not self.sessions.signed_in():
                return flask.jsonify(errors={"form": "Sign in first."}), 404
        return None

    def download(self):
        """users.csv as a download (signed in only)."""
        if not self.sessions.signed_in():
            return flask.jsonify(errors={"form": "Sign in first."}), 403
        log.info("event=admin_action who=admin action=export username=-")
        return flask.Response(self.service.export_csv(), mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=users.csv", "Cache-Control": "no-store"})

    def register(self, admin: dash.Dash) -> None:
        """Attach the callbacks to the admin Dash app."""
        admin.callback(Output("admin-location", "href"), Output("sign-in-result", "children"),
                       Input("sign-in", "n_clicks"), Input("admin-token", "n_submit"), State("admin-token", "value"),
                       prevent_initial_call=True)(callback(self.sign_in))
        admin.callback(Output("admin-location", "href", allow_duplicate=True),
                       Output("room-code", "data", allow_duplicate=True), Input("sign-out", "n_clicks"),
                       prevent_initial_call=True)(callback(self.sign_out))
        admin.callback(output=dict(summary=Output("admin-summary", "children"), rows=Output("attendees", "data"),
                                   columns=Output("attendees", "columns"), chart=Output("admin-chart", "figure")),
                       inputs=dict(_ticks=Input("admin-tick", "n_intervals"), streamer=Input("streamer-mode", "value"),
                                   _result=Input("admin-result", "children"), _done=Input("action-body", "children"),
                                   login_state=Input("login-filter", "value")))(callback(self.refresh))
        # The table selects by position: after new rows, the chosen attendee's row again, wherever the newest
        # arrivals put it — in the browser, from the choice as it is then (a refresh answered late never
        # brings back a choice an action cleared meanwhile).
        admin.clientside_callback(ClientsideFunction("admin", "keepChoice"),
                                  Output("attendees", "selected_rows", allow_duplicate=True),
                                  Output("attendees", "selected_row_ids", allow_duplicate=True),
                                  Input("attendees", "data"), State("attendees", "selected_row_ids"),
                                  prevent_initial_call=True)
        admin.callback(Output("admin-result", "children"), Input("registration-open", "value"),
                       prevent_initial_call=True)(callback(self.switch))
        if self.settings.access_code_required:
            admin.callback(Output("room-code", "data"), Output("present-code-result", "children"),
                           Input("present-code", "value"), Input("present-show-code", "value"),
                           prevent_initial_call=True)(callback(self.room_code))
        admin.callback(output=dict(reset=Output("reset-password", "children"),
                                   reset_off=Output("reset-password", "disabled"),
                                   remove=Output("remove-attendee", "children"),
                                   remove_off=Output("remove-attendee", "disabled")),
                       inputs=dict(selected=Input("attendees", "selected_row_ids")))(callback(self.chosen))
        admin.callback(Output("confirm-reset", "displayed"), Output("confirm-reset", "message"),
                       Output("asked-about", "data"), Input("reset-password", "n_clicks"),
                       State("attendees", "selected_row_ids"), prevent_initial_call=True)(callback(self.ask_reset))
        admin.callback(output=self._done_outputs(), inputs=dict(_submitted=Input("confirm-reset", "submit_n_clicks")),
                       state=dict(asked=State("asked-about", "data")),
                       prevent_initial_call=True)(callback(self.reset))
        admin.callback(Output("admin-result", "children", allow_duplicate=True), Output("seats-download", "data"),
                       Output("seat-start", "value"),
                       Input("make-seats", "n_clicks"), State("seat-count", "value"), State("seat-prefix", "value"),
                       State("seat-start", "value"), prevent_initial_call=True)(callback(self.make_seats))
        admin.callback(Output("confirm-remove", "displayed"), Output("confirm-remove", "message"),
                       Output("asked-about", "data", allow_duplicate=True), Input("remove-attendee", "n_clicks"),
                       State("attendees", "selected_row_ids"), prevent_initial_call=True)(callback(self.ask_remove))
        admin.callback(output=self._done_outputs(), inputs=dict(_submitted=Input("confirm-remove", "submit_n_clicks")),
                       state=dict(asked=State("asked-about", "data")),
                       prevent_initial_call=True)(callback(self.remove))

    @staticmethod
    def _done_outputs() -> dict:
        """An action's outputs: its dialog, and the table's selection cleared (the next action names its
        attendee again; the selection never slides to someone else)."""
        return dict(open=Output("action-dialog", "is_open", allow_duplicate=True),
                    title=Output("action-title", "children", allow_duplicate=True),
                    body=Output("action-body", "children", allow_duplicate=True),
                    ids=Output("attendees", "selected_row_ids", allow_duplicate=True),
                    rows=Output("attendees", "selected_rows", allow_duplicate=True))

    def _done(self, title: str, action) -> dict:
        """The action's dialog (titled "Nothing changed" when it was refused), the choice cleared."""
        body = _act(action)
        return dict(open=True, title="Nothing changed" if isinstance(body, dbc.Alert) else title, body=body,
                    ids=[], rows=[])

    def chosen(self, selected) -> dict:
        """The action buttons name the chosen attendee, and are off without one."""
        username = _chosen(selected)
        if not username:
            return dict(reset="Reset password", reset_off=True, remove="Remove attendee", remove_off=True)
        return dict(reset=f"Reset {username}'s password", reset_off=False, remove=f"Remove {username}",
                    remove_off=False)

    def ask_reset(self, _clicks, selected):
        username = self._signed_in_and_chosen(selected)
        return True, f"Give {username} a new password? Their old one stops working; the new one is shown once.", \
            username  # the name asked about is the one the answer acts on

    def sign_in(self, _clicks, _submits, token):
        """The right token always signs in, however many wrong ones came from the same address (a room
        behind one NAT shares it): only failures are counted, and said. Its strength stops guessing
        (app.settings.token)."""
        if self.sessions.sign_in(token):
            log.info("event=admin_sign_in outcome=signed_in")
            return sessions.PREFIX, ""
        metrics.ADMIN_SIGN_IN_FAILURES.inc()
        try:
            self.sign_ins.check(flask.request.remote_addr or "unknown")
        except RateLimited:
            log.warning("event=admin_sign_in outcome=refused reason=many_wrong_tokens client=%s",
                        flask.request.remote_addr)
            return dash.no_update, dbc.Alert("That is not the admin token. Many wrong tokens came from your "
                                             "network in the last minute; the right one still signs you in.",
                                             color="danger", id="sign-in-error")
        log.warning("event=admin_sign_in outcome=refused")
        return dash.no_update, dbc.Alert("That is not the admin token.", color="danger", id="sign-in-error")

    def sign_out(self, _clicks):
        self.sessions.sign_out()
        return sessions.PREFIX, {}  # the room screen forgets the code too

    def refresh(self, _ticks, streamer, _result, _done, login_state) -> dict:
        self._require_session()
        if dash.ctx.triggered_id == "streamer-mode":
            self.sessions.set_streamer(bool(streamer))  # kept in the session: every tab of it follows
        overview = self.service.overview()
        rows, columns = views.table(views.accounts(overview), self.sessions.streamer(), overview.logins, login_state,
                                    overview.logged_in)
        return dict(summary=views.summary(overview, self.sessions.streamer()), rows=rows, columns=columns,
                    chart=views.chart(overview))

    def room_code(self, code, show_code):
        """The room screen's join link carries the access code once the instructor typed the right one
        (checked in constant time; never kept by the server): into this browser's `room-code` store."""
        self._require_session()
        accepted = bool(code) and rules.access_code_matches(code, self.settings)
        note = ("" if not code else "Included in the join link on the room screen." if accepted
                else dbc.Alert("That is not the event's access code: the link carries none.", color="warning",
                               className="py-1 mb-0", id="present-code-wrong"))
        return {"code": code if accepted else None, "show": bool(show_code)}, note

    def switch(self, value):
        self._require_session()
        return _act(lambda: (self.service.set_open(bool(value)),
                             dbc.Alert(f"Registration is now {'open' if value else 'closed'}.", color="info"))[1])

    def reset(self, _submitted, asked) -> dict:
        username = self._signed_in_and_chosen([asked])
        return self._done("New password", lambda: views.new_password(
            username, self.service.reset_password(username), self.sessions.streamer()))

    def make_seats(self, _clicks, count, prefix, start):
        """Make seats; their usernames and passwords leave only as the seats.csv download."""
        self._require_session()
        keep = dash.no_update
        if not (isinstance(count, int) and isinstance(start, int) and isinstance(prefix, str)):
            return dbc.Alert("Give how many seats, a username prefix and the first number.", color="warning"), \
                keep, keep
        try:
            made = self.service.create_seats(count, prefix, start)
        except SeatsRefused as error:
            said = str(error).replace("(--start)", "(First number)").replace("python -m app unblock NAME",
                                                                              "python -m app unblock")
            return dbc.Alert(f"No seats made: {said}", color="warning", id="seats-refused"), keep, keep
        except StoreError as error:
            return dbc.Alert(f"That did not work: {error.cause}", color="danger"), keep, keep
        self.service.handover.wake()
        return views.seats_made(made), dcc.send_string(seats.csv_text(made), "seats.csv", type="text/csv"), \
            start + len(made)  # more seats start after these

    def ask_remove(self, _clicks, selected):
        username = self._signed_in_and_chosen(selected)
        return True, f"Remove {username}? Their login stops working and their record is deleted.", username

    def _require_session(self) -> None:
        if not self.sessions.signed_in():
            raise PreventUpdate

    def _signed_in_and_chosen(self, selected) -> str:
        self._require_session()
        username = _chosen(selected)
        if not username:
            raise PreventUpdate
        return username

    def remove(self, _submitted, asked) -> dict:
        username = self._signed_in_and_chosen([asked])
        return self._done("Removed", lambda: views.removal(self.service.remove(username)))


def _act(action):
    try:
        return action()
    except NotRegistered as error:
        return dbc.Alert(f"{error.args[0]} is not registered through this app.", color="warning")
    except NotYetWritten as error:
        return dbc.Alert(f"{error.args[0]}'s login is not written to OpenShift yet: reset it once it is (see "
                         "How logins reach OpenShift).", color="warning")
    except EventOver as error:
        return dbc.Alert(f"Nothing changed: {error}.", color="warning")
    except StoreError as error:
        return dbc.Alert(f"That did not work: {error.cause}", color="danger")


def _chosen(selected) -> str | None:
    """The username of the selected row, if one is selected."""
    return selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], str) else None


def _ids(component) -> list[str]:
    """The ids of a layout's components, all the way down."""
    found = [component.id] if getattr(component, "id", None) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "children") or getattr(child, "id", None):
            found += _ids(child)
    return found
