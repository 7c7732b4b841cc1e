"""The app's typed errors: what can go wrong, in words an attendee can act on.

Registration errors carry an HTTP status and a message per form field (`form` for the form as a
whole), so the page and the JSON API render the same outcome. Store errors are raised by the storage
adapters (files, the Kubernetes API) and never reach an attendee as such.
"""

from __future__ import annotations

FORM = "form"

UNAVAILABLE = "We could not create your account right now. Please try again in a minute."


class SettingsError(Exception):
    """The environment holds an invalid setting; the message names the variable."""


class RegistrationError(Exception):
    """A registration that did not happen, with a message per field."""

    status = 400
    outcome = "invalid"  # the metrics label

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    @property
    def reason(self) -> str:
        """A short, secret-free reason for the log line."""
        return type(self).__name__


class InvalidRegistration(RegistrationError):
    """The form has one or more fields that break the rules."""

    status = 400


class WrongAccessCode(InvalidRegistration):
    """The event's access code is missing or wrong (other field problems may come with it)."""

    status = 403
    outcome = "forbidden"


class AlreadyTaken(RegistrationError):
    """The username or the email address belongs to someone already."""

    status = 409
    outcome = "taken"


class NotRecognised(RegistrationError):
    """Signing back in: no registration of this event has that username and password (which of the two is
    wrong is not said: names cannot be looked up this way)."""

    status = 403
    outcome = "not_recognised"

    def __init__(self):
        super().__init__({FORM: "This username and password do not match a login of this event. Check both, "
                                "or register if you have not yet."})


class RegistrationClosed(RegistrationError):
    """Registration is closed: by the instructor or the schedule, or not open yet (opens_at, as text)."""

    status = 503
    outcome = "closed"

    def __init__(self, opens_at: str | None = None, at=None):
        message = (f"Registration opens at {opens_at}. Please come back then." if opens_at else
                   "Registration is closed. Ask your instructor if you still need an account.")
        super().__init__({FORM: message})
        self.at = at  # when it opens (a datetime), for the page's "that is in 3 h"


class EventEnded(RegistrationClosed):
    """The event has ended (EVENT_ENDS_AT or the instructor): no registration, claim or sign-in any more."""

    status = 410
    outcome = "ended"

    def __init__(self, at=None):
        RegistrationError.__init__(self, {FORM: "This event has ended: its logins no longer work. Thank you for "
                                                "taking part!"})
        self.at = None
        self.ended = at  # when it ended (a datetime)


class RegistrationFull(RegistrationError):
    """The event reached MAX_USERS, or the htpasswd Secret has no room left."""

    status = 503
    outcome = "full"

    def __init__(self):
        super().__init__({FORM: "Registration is full: this event has no more places."})


class NotOffered(RegistrationError):
    """This event does not offer that way of getting a login (SEATS, SELF_REGISTRATION)."""

    status = 404
    outcome = "not_offered"


class SeatsTaken(RegistrationError):
    """Every seat the instructor made is claimed."""

    status = 409
    outcome = "seats_taken"

    def __init__(self):
        super().__init__({FORM: "All seats are taken. Please tell your instructor."})


class ServiceUnavailable(RegistrationError):
    """The account could not be stored; nothing was created."""

    status = 503
    outcome = "unavailable"

    def __init__(self, cause: str = "unavailable"):
        super().__init__({FORM: UNAVAILABLE})
        self.cause = cause

    @property
    def reason(self) -> str:
        return f"unavailable ({self.cause})"


class RateLimited(RegistrationError):
    """Too many attempts from one client address."""

    status = 429
    outcome = "rate_limited"

    def __init__(self, retry_after: int, message: str | None = None):
        wait = f"{retry_after} seconds" if retry_after != 1 else "1 second"
        super().__init__({FORM: message or f"Too many attempts from your network. Please wait {wait} and try again."})
        self.retry_after = retry_after


class ServerBug(Exception):
    """A bug on our side, already logged once with its traceback: answer 500 and say nothing more."""


class StoreError(Exception):
    """A storage adapter failed; `cause` is short and secret-free, for logs and /readyz."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class Conflict(StoreError):
    """The document changed since it was read (HTTP 409, or another process's write)."""

    def __init__(self, cause: str = "conflict"):
        super().__init__(cause)


class StoreUnavailable(StoreError):
    """The store cannot be read or written right now (timeout, 5xx, 403, missing Secret)."""


class PermissionDenied(StoreError):
    """The app's account may not do this (the fix is in the message)."""
