"""The registration rules: pure checks of a submitted form, no I/O.

`validate` returns the cleaned application or raises with every problem at once, one message per field,
in words an attendee can act on. The access code comes first: a wrong one gets only the answer about the
access code (nothing about names or emails that are taken, nothing costly); a form sent without one (an
empty form) hears about its other fields' form too, which says nothing about anyone. Codes are compared
without regard to case or surrounding spaces (settings.code_key): "Room-Code" on a phone's keyboard works.
Cheap length checks come before anything costly, so a hostile 1 MB value costs microseconds, and the
password-strength estimate, the one costly rule, runs last and on a bounded window of the password (see
STRENGTH_WINDOW).
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import unicodedata
from collections.abc import Mapping

import email_validator
import zxcvbn_rs_py

from app.errors import InvalidRegistration, WrongAccessCode
from app.settings import Settings, code_key, digest

# The form's fields, by the names the service and the JSON API use (the page's ids use hyphens).
FIELDS = ("username", "password", "password_confirm", "full_name", "email", "access_code")
USERNAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
USERNAME_MIN, USERNAME_MAX = 3, 32
FULL_NAME_MAX = 100
EMAIL_MAX = 254
BCRYPT_MAX_BYTES = 72
ACCESS_CODE_MAX = 200
MIN_PASSWORD_SCORE = 2  # zxcvbn: 0 "too guessable" … 4 "very unguessable"
# zxcvbn's cost grows steeply with length for crafted input (its l33t and dictionary matching): measured
# with the Rust implementation, a hill-climbed worst case took ~20 ms at 14 characters, ~40 ms at 16,
# ~110 ms at 24 and over a second at 72 (the pure-Python one: 57 ms at 16, 1.3 s at 32). Only the first
# STRENGTH_WINDOW characters are judged: a strong start makes a strong password, and ordinary
# passphrases score the same on their first 14 characters as on the whole (tests/test_rules.py).
STRENGTH_WINDOW = 14
# Bidirectional overrides and isolates reorder text on screen ("Trojan Source"): never in a name.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


@dataclasses.dataclass(frozen=True)
class Application:
    """A form that passed every rule, with its values cleaned."""

    username: str
    password: str = dataclasses.field(repr=False)
    full_name: str
    email: str


def validate(form: Mapping[str, object], settings: Settings) -> Application:
    """Check every field of a submitted form; raise InvalidRegistration with every problem, or
    WrongAccessCode: with a wrong code, only that; without one, with the other fields' own problems."""
    if not access_code_matches(form.get("access_code"), settings):
        given = form.get("access_code")
        if isinstance(given, str) and given.strip():
            raise wrong_access_code()
        problems = _formats(form, settings)
        raise WrongAccessCode(dict(problems, access_code=ENTER_THE_CODE))
    errors = _formats(form, settings)
    password = form.get("password")
    username = None if "username" in errors else check_username(form.get("username"), settings)[0]
    if "password" not in errors:  # the one costly rule: last, and only for a password that passed the rest
        problem = check_strength(password, username or "")
        if problem:
            errors["password"] = problem
    if errors:
        raise InvalidRegistration(errors)
    return Application(username=username, password=password, full_name=check_full_name(form.get("full_name"))[0],
                       email=check_email(form.get("email"))[0])


def _formats(form: Mapping[str, object], settings: Settings) -> dict[str, str]:
    """Every field's problem of form (cheap, and nothing about who is registered)."""
    errors: dict[str, str] = {}
    username, problem = check_username(form.get("username"), settings)
    if problem:
        errors["username"] = problem
    password = form.get("password")
    problem = check_password(password, username or "", settings.min_password_length)
    if problem:
        errors["password"] = problem
    if "password_confirm" in form and form.get("password_confirm") != password and "password" not in errors:
        errors["password_confirm"] = "The two passwords do not match. Type the same password twice."
    _, problem = check_full_name(form.get("full_name"))
    if problem:
        errors["full_name"] = problem
    _, problem = check_email(form.get("email"))
    if problem:
        errors["email"] = problem
    return errors


def check_username(value: object, settings: Settings) -> tuple[str | None, str | None]:
    """Return (cleaned username, None) or (None, problem)."""
    if not isinstance(value, str) or not value.strip():
        return None, "Choose a username."
    name = value.strip()
    if len(name) > USERNAME_MAX:
        return None, f"Use at most {USERNAME_MAX} characters."
    if not name.isascii():
        suggestion = suggest_username(name, settings)
        return None, "Use only the letters a–z, digits and hyphens (-)." + \
            (f" For example: {suggestion}." if suggestion else "")
    name = name.lower()
    if len(name) < USERNAME_MIN:
        return None, f"Use at least {USERNAME_MIN} characters."
    if not USERNAME_PATTERN.fullmatch(name):
        suggestion = suggest_username(name, settings)
        like = f" For example: {suggestion}." if suggestion else ""
        if name[0] == "-" or name[-1] == "-":
            return None, f"Start and end with a letter or a digit.{like}"
        return None, f"Use only the letters a–z, digits and hyphens (-).{like}"
    if settings.is_reserved(name):
        return None, "This name is reserved. Please choose another."
    return name, None


def suggest_username(value: str, settings: Settings) -> str | None:
    """A username that follows the rules, made from what was typed ("Bob Smith", "Alice_01", "José"):
    accents dropped, spaces, dots and underscores made hyphens; None when a letter of another alphabet
    would be lost (Cyrillic "а" is not "a") or nothing usable is left."""
    decomposed = unicodedata.normalize("NFKD", value)
    if any(not c.isascii() and unicodedata.category(c).startswith("L") for c in decomposed):
        return None
    plain = decomposed.encode("ascii", "ignore").decode().lower()
    name = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:USERNAME_MAX].strip("-")
    ok = len(name) >= USERNAME_MIN and USERNAME_PATTERN.fullmatch(name) and not settings.is_reserved(name)
    return name if ok else None


def check_password(value: object, username: str, min_length: int) -> str | None:
    """Return a problem with the password, or None."""
    if not isinstance(value, str) or value == "":
        return "Choose a password."
    if len(value) > BCRYPT_MAX_BYTES:  # characters ≤ bytes: a cheap first cut for huge input
        return f"Use at most {BCRYPT_MAX_BYTES} bytes (OpenShift's password hashing uses only that many)."
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "This password has characters that cannot be used. Please type it again."
    if size > BCRYPT_MAX_BYTES:
        return (
            f"Use at most {BCRYPT_MAX_BYTES} bytes: this one is {size} bytes in UTF-8 "
            "(accented letters and symbols take 2–4 bytes each)."
        )
    if len(value) < min_length:
        return f"Use at least {min_length} characters."
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "Do not use line breaks, tabs or other control characters."
    if username and username in value.lower():
        return "Your password must not contain your username."
    return None


def check_strength(password: str, username: str) -> str | None:
    """A problem when the password is too easy to guess (zxcvbn on its first STRENGTH_WINDOW characters)."""
    strength = zxcvbn_rs_py.zxcvbn(password[:STRENGTH_WINDOW], [username] if username else [])
    if int(strength.score) >= MIN_PASSWORD_SCORE:
        return None
    warning = strength.feedback.warning if strength.feedback else None
    hint = str(warning) if warning is not None else "It would be easy to guess."
    return f"This password is too easy to guess. {hint.rstrip('.')}. Try a few uncommon words together."


def check_full_name(value: object) -> tuple[str | None, str | None]:
    """Return (cleaned full name, None) or (None, problem)."""
    if not isinstance(value, str) or not value.strip():
        return None, "Enter your name."
    if len(value) > 4 * FULL_NAME_MAX:
        return None, f"Use at most {FULL_NAME_MAX} characters."
    name = unicodedata.normalize("NFC", value.strip())
    if len(name) > FULL_NAME_MAX:
        return None, f"Use at most {FULL_NAME_MAX} characters."
    if any(_is_hidden_control(c) for c in name):
        return None, "Use only printable characters: no line breaks, tabs or hidden control characters."
    return name, None


def check_email(value: object) -> tuple[str | None, str | None]:
    """Return (normalized email, None) or (None, problem). Syntax only: no DNS look-up."""
    if not isinstance(value, str) or not value.strip():
        return None, "Enter your email address."
    text = value.strip()
    if len(text) > EMAIL_MAX:
        return None, f"Use at most {EMAIL_MAX} characters."
    if any(_is_hidden_control(c) for c in text):
        return None, "This does not look like an email address."
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return None, f"This does not look like an email address: {error}"
    except (UnicodeError, ValueError):
        return None, "This does not look like an email address."
    return result.normalized, None


ENTER_THE_CODE = "Enter the event's access code: your instructor gives it to you."


def wrong_access_code() -> WrongAccessCode:
    """The one error a wrong access code gets (nothing else is said with it)."""
    return WrongAccessCode({"access_code": "This access code is not right. Ask your instructor for the event's code."})


def access_code_matches(value: object, settings: Settings) -> bool:
    """True when no code is configured, or the given one matches (compared in constant time)."""
    if settings.access_code_digest is None:
        return True
    given = value if isinstance(value, str) and len(value) <= ACCESS_CODE_MAX else ""
    return hmac.compare_digest(digest(code_key(given)), settings.access_code_digest)


def email_key(email: str) -> str:
    """The form of an email address used to decide that two are the same person's."""
    return email.casefold()


def _is_hidden_control(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or char in BIDI_CONTROLS
