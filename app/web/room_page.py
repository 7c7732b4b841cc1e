"""The room screen at /admin/room/, for a second window on the projector: where to register (large, and
as a QR code about 45 % of the screen's height), the access code in large type if the instructor chose to
show it, "63 of 100 can log in", when registration opens if it is scheduled — nothing else, and never a
name or an email. A Dash app of its own on the same server, for signed-in instructors only.

Its controls stay on /admin (room_controls, placed there by app.web.admin_views): the access code to carry in the join
link, and whether to show it, reach this window through the browser's local storage (the `room-code`
store, shared by every window of the instructor's browser, and cleared on sign-out); the server only
ever puts a code there that matched the event's digest, and never keeps it.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import flask
import segno
from dash import Input, Output, dcc, html

from app import activation, rules
from app.errors import StoreError
from app.schedule import moment
from app.settings import Settings
from app.web.http import callback
from app.web.page import INDEX_STRING, Dash

PREFIX = "/admin/room/"
REFRESH_MS = 5000


def mount(server, settings: Settings, service, signed, discovery, assets_folder: str) -> dash.Dash:
    room = Dash(__name__ + ".room", server=server, url_base_pathname=PREFIX, assets_folder=assets_folder,
                external_stylesheets=[], serve_locally=True, update_title=None,
                compress=False,  # the server compresses already (the other apps' Flask-Compress): once, last
                title=escape(f"Room screen · {settings.event_name}"), index_string=INDEX_STRING,
                suppress_callback_exceptions=True)  # signed out, the layout has none of the callback's ids
    screen = RoomScreen(settings, service, signed, discovery)
    room.layout = screen.layout
    room.callback(Output("room-body", "children"), Input("room-tick", "n_intervals"), Input("room-code", "data"))(
        callback(screen.render))
    server.add_url_rule(PREFIX.rstrip("/"), "room_without_slash", lambda: flask.redirect(PREFIX))
    return room


class RoomScreen:
    def __init__(self, settings: Settings, service, signed, discovery):
        self.settings = settings
        self.service = service
        self.sessions = signed
        self.discovery = discovery

    def layout(self):
        if not self.sessions.signed_in():
            return html.Main(className="container py-4", id="room-signed-out", children=[
                html.H1("Room screen", className="h3"),
                html.P(["Sign in on ", html.A("the instructor page", href="/admin/"), " first, then open the "
                        "room screen from there."])])
        return html.Main(className="room", children=[
            dcc.Interval(id="room-tick", interval=REFRESH_MS),
            dcc.Store(id="room-code", storage_type="local"),  # written by /admin (room_controls)
            html.Div(id="room-body", className="room-body"),
        ])

    def render(self, _ticks, chosen) -> list:
        if not self.sessions.signed_in():
            return [html.P("Signed out: sign in on /admin again.", className="fs-3")]
        code = chosen.get("code") if isinstance(chosen, dict) and isinstance(chosen.get("code"), str) \
            and self.settings.access_code_required else None
        if code is not None and not rules.access_code_matches(code, self.settings):
            code = None  # only ever the event's code (the store is the browser's, so checked again here)
        show = bool(isinstance(chosen, dict) and chosen.get("show")) and code is not None
        overview = self.service.overview()
        try:
            opens_at = self.service.store.state.window().opens_at
        except StoreError:
            opens_at = None
        return room(self.settings, overview, self.discovery.public_url(), code, show, opens_at)


def room(settings: Settings, overview, public_url: str | None, code: str | None, show_code: bool,
         opens_at=None) -> list:
    """The room screen's content, sized to the screen's height (assets/site.css, .room)."""
    working = activation.counts(overview.attendee_logins())[activation.ACTIVE]
    if overview.ended_at:
        state = "The event has ended. Thank you!"
    elif overview.registration_open:
        state = None
    elif opens_at is not None:
        state = f"Registration opens {moment(opens_at)}"
    else:
        state = "Registration is closed"
    items = [html.H1(settings.event_name, className="room-title")]
    if state:
        items.append(html.P(state, className="room-state", id="present-state"))
    if overview.ended_at:
        pass  # nothing to join any more
    elif public_url:
        items += [
            html.Img(src=qr_image(join_link(public_url, code)), alt=f"QR code for {public_url}/",
                     id="present-qr", className="room-qr"),
            html.P(f"{public_url}/", className="room-address", id="present-address"),
        ]
    else:
        items.append(html.P("Set PUBLIC_URL (or deploy with openshift/, whose Route gives the address) to show the "
                            "join link and its QR code.", className="room-state", id="present-no-address"))
    if code and show_code:
        items.append(html.P(["Access code: ", html.Strong(code, id="present-code-shown")], className="room-code"))
    if not overview.ended_at:
        items.append(html.P(f"{working} of {len(overview.attendees)} can log in", className="room-counts",
                            id="present-counts"))
    return items


def join_link(public_url: str, code: str | None) -> str:
    """The address the room scans: the page, with the access code when the instructor included it."""
    return f"{public_url}/?{urlencode({'code': code})}" if code else f"{public_url}/"


def qr_image(link: str) -> str:
    """The link as a QR code: SVG made here (segno), as a data: URI (nothing is fetched from elsewhere)."""
    return segno.make(link, error="m").svg_data_uri(scale=10, border=4, dark="#000", light="#fff")


def room_controls(settings: Settings) -> list:
    """The room screen's controls, on /admin: open it (a second window, for the projector), and the access
    code to put in its join link, and whether to show it there (app.web.room_page)."""
    opener = html.A("Open the room screen", href="/admin/room/", target="_blank", rel="noopener",
                    id="present-open", className="btn btn-primary btn-sm")
    if not settings.access_code_required:
        return [opener, html.Div(id="present-code-result")]
    return [opener, dbc.Row([
        dbc.Col([dbc.Label("Access code to put in the join link", html_for="present-code"),
                 dbc.Input(id="present-code", type="password", autoComplete="off", maxLength=200, debounce=True)]),
        dbc.Col(dbc.Switch(id="present-show-code", label="Show the code on screen", value=False),
                className="align-self-end"),
        dbc.Col(html.Div(id="present-code-result", className="small"), className="align-self-end"),
    ], className="mb-3 text-start")]
