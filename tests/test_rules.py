"""The registration rules, as tables of input → message."""

from __future__ import annotations

import dataclasses

import pytest

from app import rules
from app.errors import InvalidRegistration, WrongAccessCode
from app.settings import Settings, digest
from tests.helpers import GOOD

SETTINGS = Settings(reserved_usernames=Settings.reserved_usernames | {"trainer"})


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("alice", "alice"),
        ("  Alice  ", "alice"),
        ("USER-01", "user-01"),
        ("a1b", "a1b"),
        ("x" * 32, "x" * 32),
        ("7of9", "7of9"),
    ],
)
def test_username_accepted(raw, cleaned):
    assert rules.check_username(raw, SETTINGS) == (cleaned, None)


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "Choose a username."),
        ("", "Choose a username."),
        ("   ", "Choose a username."),
        (42, "Choose a username."),
        (["alice"], "Choose a username."),
        ("ab", "Use at least 3 characters."),
        ("x" * 33, "Use at most 32 characters."),
        ("x" * 1_000_000, "Use at most 32 characters."),
        ("-alice", "Start and end with a letter or a digit. For example: alice."),
        ("alice-", "Start and end with a letter or a digit. For example: alice."),
        ("al ice", "Use only the letters a–z, digits and hyphens (-). For example: al-ice."),
        ("al_ice", "Use only the letters a–z, digits and hyphens (-). For example: al-ice."),
        ("alice:x", "Use only the letters a–z, digits and hyphens (-). For example: alice-x."),
        ("alice\nbob", "Use only the letters a–z, digits and hyphens (-). For example: alice-bob."),
        ("alice\x00", "Use only the letters a–z, digits and hyphens (-). For example: alice."),
        ("al.ice", "Use only the letters a–z, digits and hyphens (-). For example: al-ice."),
        ("аlice", "Use only the letters a–z, digits and hyphens (-)."),  # Cyrillic а
        ("\u212aate", "Use only the letters a–z, digits and hyphens (-). For example: kate."),  # Kelvin sign folds to k
        ("ａｌｉｃｅ", "Use only the letters a–z, digits and hyphens (-). For example: alice."),  # full-width
        ("admin", "This name is reserved. Please choose another."),
        ("KubeAdmin", "This name is reserved. Please choose another."),
        ("root", "This name is reserved. Please choose another."),
        ("administrator", "This name is reserved. Please choose another."),
        ("system", "This name is reserved. Please choose another."),
        ("systemd", "This name is reserved. Please choose another."),
        ("kube-alice", "This name is reserved. Please choose another."),
        ("openshift-user", "This name is reserved. Please choose another."),
        ("trainer", "This name is reserved. Please choose another."),
    ],
)
def test_username_refused(raw, message):  # with a suggestion that follows the rules, when one can be made
    assert rules.check_username(raw, SETTINGS) == (None, message)


@pytest.mark.parametrize(
    "password, message",
    [
        ("velvet otter marmalade", None),
        ("Zebra-Quilt-7-Harbor", None),
        ("ünïcödé pässwörd glyph", None),
        ("x" * 0, "Choose a password."),
        (None, "Choose a password."),
        (12345678, "Choose a password."),
        ("short", "Use at least 8 characters."),
        ("a" * 73, "Use at most 72 bytes (OpenShift's password hashing uses only that many)."),
        ("é" * 37, "Use at most 72 bytes: this one is 74 bytes in UTF-8 (accented letters and symbols take 2–4 "
                   "bytes each)."),
        ("x" * 1_000_000, "Use at most 72 bytes (OpenShift's password hashing uses only that many)."),
        ("velvet otter\nmarmalade", "Do not use line breaks, tabs or other control characters."),
        ("velvet otter\x00marmalade", "Do not use line breaks, tabs or other control characters."),
        ("xxalice-velvet-otter", "Your password must not contain your username."),
        ("XXALICE velvet otter", "Your password must not contain your username."),
        ("\ud800velvet otter", "This password has characters that cannot be used. Please type it again."),
    ],
)
def test_password(password, message):
    assert rules.check_password(password, "alice", 8) == message


@pytest.mark.parametrize("common", ["password", "Password1!", "12345678", "qwertyuiop", "iloveyou1"])
def test_common_passwords_are_refused(common):
    assert rules.check_password(common, "alice", 8) is None  # the cheap rules pass...
    message = rules.check_strength(common, "alice")  # ...the strength estimate does not
    assert message and message.startswith("This password is too easy to guess.")
    with pytest.raises(InvalidRegistration) as caught:
        rules.validate(dict(GOOD, password=common, password_confirm=common), SETTINGS)
    assert caught.value.errors == {"password": message}


@pytest.mark.parametrize("passphrase", ["velvet otter marmalade quince", "correct horse battery staple",
                                        "blue sky rocket fish", "my dog rex is 9 years old",
                                        "kubernetes-rocks-2026", "openshift workshop 2026 rocks"])
def test_ordinary_passphrases_are_judged_alike_on_their_window(passphrase):
    assert rules.check_strength(passphrase, "alice") is None
    assert rules.check_strength(passphrase[:rules.STRENGTH_WINDOW], "alice") is None


def test_only_the_window_is_judged_so_a_crafted_password_costs_little():
    crafted = "(<42069<[%57%%@7375|4!|245!+++2[9[@l5382{<+2160[++25[![{<34$8+1$$596<|l+"  # 1.2 s in full
    assert len(crafted) == 72
    assert rules.check_strength(crafted, "alice") == rules.check_strength(crafted[:rules.STRENGTH_WINDOW], "alice")


def test_bcrypt_limit_counts_bytes_not_characters():
    at_limit = "velvet otter quince " + "€" * 17 + "z"  # 20 + 51 + 1 = 72 bytes, 38 characters
    assert len(at_limit.encode()) == 72 and len(at_limit) == 38
    assert rules.check_password(at_limit, "alice", 8) is None
    assert "this one is 75 bytes" in rules.check_password(at_limit + "€", "alice", 8)


@pytest.mark.parametrize(
    "raw, result",
    [
        ("Alice Liddell", ("Alice Liddell", None)),
        ("  José Müller  ", ("José Müller", None)),
        ("李小龍", ("李小龍", None)),
        ("O'Brien, Jr. = =SUM(A1)", ("O'Brien, Jr. = =SUM(A1)", None)),
        ("Jose\u0301", ("José", None)),  # NFC
        ("x" * 100, ("x" * 100, None)),
        ("", (None, "Enter your name.")),
        (None, (None, "Enter your name.")),
        ({"a": 1}, (None, "Enter your name.")),
        ("x" * 101, (None, "Use at most 100 characters.")),
        ("x" * 1_000_000, (None, "Use at most 100 characters.")),
        ("Alice\nBob", (None, "Use only printable characters: no line breaks, tabs or hidden control characters.")),
        ("Alice\tBob", (None, "Use only printable characters: no line breaks, tabs or hidden control characters.")),
        ("Alice\x00", (None, "Use only printable characters: no line breaks, tabs or hidden control characters.")),
        ("Alice\u202eevil", (None, "Use only printable characters: no line breaks, tabs or hidden control "
                                   "characters.")),
        ("Alice\u2028Bob", (None, "Use only printable characters: no line breaks, tabs or hidden control characters.")),
        ("Alice\ud800", (None, "Use only printable characters: no line breaks, tabs or hidden control characters.")),
    ],
)
def test_full_name(raw, result):
    assert rules.check_full_name(raw) == result


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@Example.COM ", "Alice@example.com"),
        ("alice+workshop@example.co.uk", "alice+workshop@example.co.uk"),
        ("josé@exämple.de", "josé@exämple.de"),
    ],
)
def test_email_accepted(raw, cleaned):
    assert rules.check_email(raw) == (cleaned, None)


@pytest.mark.parametrize(
    "raw",
    ["alice", "alice@", "@example.com", "alice@example", "a b@example.com", "alice@exa mple.com",
     "alice@example.com\nBcc: x@y.z", "alice@example.com\x00", "x" * 250 + "@example.com",
     "x" * 1_000_000, "alice@@example.com", "<alice@example.com>", "alice@[127.0.0.1]x"],
)
def test_email_refused(raw):
    cleaned, message = rules.check_email(raw)
    assert cleaned is None and message


def test_email_key_ignores_case():
    assert rules.email_key("Alice@Example.com") == rules.email_key("ALICE@example.COM")


def test_validate_reports_every_problem_at_once():
    form = {"username": "-x", "password": "short", "password_confirm": "other", "full_name": "",
            "email": "nope"}
    with pytest.raises(InvalidRegistration) as caught:
        rules.validate(form, SETTINGS)
    assert set(caught.value.errors) == {"username", "password", "full_name", "email"}
    assert caught.value.status == 400


def test_validate_mismatched_confirmation():
    with pytest.raises(InvalidRegistration) as caught:
        rules.validate(dict(GOOD, password_confirm="velvet otter marmalada"), SETTINGS)
    assert caught.value.errors == {"password_confirm": "The two passwords do not match. Type the same password twice."}


def test_validate_without_confirmation_field_for_the_api():
    form = {k: v for k, v in GOOD.items() if k != "password_confirm"}
    assert rules.validate(form, SETTINGS).username == "alice"


def test_validate_cleans_values_and_hides_the_password_from_repr():
    application = rules.validate(dict(GOOD, username=" ALICE ", email="Alice@EXAMPLE.com"), SETTINGS)
    assert (application.username, application.email) == ("alice", "Alice@example.com")
    assert "marmalade" not in repr(application)


@pytest.mark.parametrize("given, ok", [("wonderland", True), (" wonderland ", True), ("Wonderland", True),
                                       (" WONDERLAND ", True), ("", False), (None, False), (123, False),
                                       ("wonderland2", False)])
def test_access_code(given, ok):
    settings = dataclasses.replace(SETTINGS, access_code_digest=digest("wonderland"))
    assert rules.access_code_matches(given, settings) is ok


@pytest.mark.parametrize("code", ["guess", "x" * 1_000_000, "wonderland2"])
def test_a_wrong_access_code_gets_only_the_access_code_error(code):
    """Nothing else is judged or said with a wrong code: not a taken name, not a weak password."""
    settings = dataclasses.replace(SETTINGS, access_code_digest=digest("wonderland"))
    form = dict(GOOD, email="nope", password="password", password_confirm="password", access_code=code)
    with pytest.raises(WrongAccessCode) as caught:
        rules.validate(form, settings)
    assert caught.value.status == 403
    assert set(caught.value.errors) == {"access_code"}


@pytest.mark.parametrize("code", [None, "", "   "])
def test_a_form_without_a_code_hears_about_every_field_too_but_nothing_costly(code, monkeypatch):
    """An empty form is not blamed on the code alone; still nothing about strength (costly) or anyone."""
    settings = dataclasses.replace(SETTINGS, access_code_digest=digest("wonderland"))
    monkeypatch.setattr(rules, "check_strength", lambda *args: pytest.fail("judged strength without the code"))
    form = dict(GOOD, username="Bob Smith", email="nope", password="password", password_confirm="password")
    form.pop("access_code", None)
    if code is not None:
        form["access_code"] = code
    with pytest.raises(WrongAccessCode) as caught:
        rules.validate(form, settings)
    assert caught.value.errors == {"access_code": rules.ENTER_THE_CODE, "email": caught.value.errors["email"],
                                   "username": "Use only the letters a–z, digits and hyphens (-). "
                                               "For example: bob-smith."}
