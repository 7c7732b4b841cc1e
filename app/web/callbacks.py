"""The page's registration callback: read the form, call the service, render the outcome."""

from __future__ import annotations

import logging

import dash
import flask
from dash import Input, Output, State

from app.errors import RegistrationError, ServiceUnavailable
from app.service import RegistrationService
from app.settings import Settings
from app.web import page

log = logging.getLogger(__name__)


def register_callbacks(app: dash.Dash, settings: Settings, service: RegistrationService) -> None:
    """Attach the form's submit callback to the Dash app."""
    ids = page.field_ids(settings)

    @app.callback(
        output=[
            Output("register-result", "children"),
            Output("registration-form", "style"),
            [Output(i, "invalid") for i in ids],
            [Output(f"{i}-feedback", "children") for i in ids],
        ],
        inputs=[Input("registration-form", "n_submit")],
        state=[State(i, "value") for i in ids],
        prevent_initial_call=True,
    )
    def submit(_n_submit, *values):
        form = {page.FIELDS[i]: (v if v is not None else "") for i, v in zip(ids, values)}
        try:
            result = service.register(form, client=flask.request.remote_addr or "unknown")
        except RegistrationError as error:
            return _failure(ids, error.errors)
        except Exception:  # never a traceback on the page: log it, say something useful
            log.exception("event=registration outcome=failed reason=internal_error")
            return _failure(ids, ServiceUnavailable().errors)
        return (
            page.success_view(result.username, settings, again=result.again),
            {"display": "none"},
            [False] * len(ids),
            [""] * len(ids),
        )


def _failure(ids: list[str], errors: dict[str, str]):
    messages = [errors.get(page.FIELDS[i], "") for i in ids]
    return page.error_view(errors), dash.no_update, [bool(m) for m in messages], messages
