"""/admin's end of the event: end it now (asking first, with what it will do), the attendance to keep, and
the Group of the room with its RoleBinding (app.ending, app.attendance, app.attendeegroup)."""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, dcc, html

from app import schedule
from app.errors import StoreError
from app.web.http import callback

log = logging.getLogger(__name__)
ROLEBINDING = "oc create rolebinding {group}-edit --clusterrole=edit --group={group} -n NAMESPACE"


def layout(settings, overview) -> list:
    """The section, below the seats: what the end does, the button, the downloads."""
    ended = overview.ended_at
    ends = settings.event_ends_at
    said = ([f"The event ended at {schedule.moment(ended)}: no attendee's login works any more; users.csv and the "
             "attendance stay here."] if ended else
            [f"The event ends by itself at {schedule.moment(ends)} (EVENT_ENDS_AT)." if ends else
             "The event ends when you end it (or set EVENT_ENDS_AT).",
             " Then every attendee's login stops working and registration is refused; users.csv and the attendance "
             "stay here."])
    group = settings.attendee_group
    return [
        html.H2("The end of the event", className="h6 mt-4 mb-1"),
        html.P(said, className="small text-body-secondary mb-2", id="end-state"),
        *([html.P(["Everyone who can log in is in the Group ", html.Code(group), ". Grant the room a namespace "
                   "with one RoleBinding: ", html.Code(ROLEBINDING.format(group=group), id="group-command")],
                  className="small mb-2")] if group else []),
        html.Div([
            html.A("Download attendance.csv", href="/admin/attendance.csv", id="download-attendance",
                   className="btn btn-outline-secondary btn-sm me-2"),
            dbc.Button("End the event now", id="end-event", color="danger", size="sm", outline=True,
                       disabled=bool(ended)),
        ], className="mb-2"),
        dcc.ConfirmDialog(id="confirm-end"),
    ]


class EndSection:
    """The section's callbacks and download, on the admin page (app.web.admin_page.AdminPage)."""

    def __init__(self, page):
        self.page = page
        self.service = page.service

    def register(self, admin, server: flask.Flask) -> None:
        server.add_url_rule("/admin/attendance.csv", "admin_attendance_csv", self.download)
        admin.callback(Output("confirm-end", "displayed"), Output("confirm-end", "message"),
                       Input("end-event", "n_clicks"), prevent_initial_call=True)(callback(self.ask))
        admin.callback(output=self.page._done_outputs(),
                       inputs=dict(_submitted=Input("confirm-end", "submit_n_clicks")),
                       state=dict(_asked=State("confirm-end", "message")),
                       prevent_initial_call=True)(callback(self.end))

    def download(self):
        """attendance.csv as a download (signed in only)."""
        if not self.page.sessions.signed_in():
            return flask.jsonify(errors={"form": "Sign in first."}), 403
        log.info("event=admin_action who=admin action=attendance username=-")
        return flask.Response(self.service.attendance_csv(), mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=attendance.csv", "Cache-Control": "no-store"})

    def ask(self, _clicks):
        self.page._require_session()
        try:
            sentences, _ = self.service.end_event(really=False)
        except StoreError as error:
            return True, f"The registrations cannot be read now ({error.cause}); try again in a moment."
        return True, "End the event now? This cannot be undone. It will:\n- " + "\n- ".join(sentences)

    def end(self, _submitted, _asked) -> dict:
        self.page._require_session()
        return self.page._done("The event has ended", self._ended)

    def _ended(self):
        sentences, commands = self.service.end_event()
        return html.Div([
            html.Ul([html.Li(sentence) for sentence in sentences], id="end-done"),
            *([html.P("For a cluster admin, to revoke the attendees' OAuth tokens:", className="mb-1"),
               html.Pre("\n".join(commands), className="small border rounded p-2", id="end-commands",
                        style={"maxHeight": "12rem", "overflowY": "auto"})] if commands else []),
        ])
