"""Settings from the environment: defaults, parsing, and start-up errors that name the variable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.errors import SettingsError
from app.settings import DECLARED, Settings, digest, readme_table


def test_defaults(tmp_path):
    settings = Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert settings.data_dir == Path("data")
    assert settings.bcrypt_rounds == 10 and settings.min_password_length == 8
    assert settings.rate_limit == "60/minute" and settings.registration_open
    assert settings.cluster_sync is False and settings.commit_interval == 0.0
    assert settings.htpasswd_secret_name == "workshop-registration-htpasswd"  # the event's own, below
    assert settings.htpasswd_secret_namespace == "openshift-config" and not settings.htpasswd_secret_shared
    assert not settings.access_code_required


def test_the_htpasswd_secret_is_the_events_own_unless_named(tmp_path):
    """workshop-registration-htpasswd.<namespace>: what openshift/ grants and openshift/setup.sh makes."""
    (tmp_path / "namespace").write_text("ws-dec\n")
    assert Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path)}).htpasswd_secret_name == \
        "workshop-registration-htpasswd.ws-dec"
    named = Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path), "HTPASSWD_SECRET_NAME": "htpass-secret",
                               "HTPASSWD_SECRET_SHARED": "true"})
    assert named.htpasswd_secret_name == "htpass-secret" and named.htpasswd_secret_shared


def test_values_are_parsed(tmp_path):
    settings = Settings.from_env({
        "DATA_DIR": "/srv/data", "EVENT_NAME": "Kubernetes 101", "ACCESS_CODE": "wonderland",
        "BCRYPT_ROUNDS": "12", "MIN_PASSWORD_LENGTH": "10", "RESERVED_USERNAMES": "Trainer, helper ,",
        "MAX_USERS": "300", "REGISTRATION_OPEN": "false", "RATE_LIMIT": "off", "TRUSTED_PROXY_HOPS": "1",
        "CONSOLE_URL": "https://console.apps.example.com/", "API_URL": "https://api.example.com:6443",
        "LOG_LEVEL": "debug", "CLUSTER_SYNC": "off", "SERVICE_ACCOUNT_DIR": str(tmp_path),
    })
    assert settings.event_name == "Kubernetes 101"
    assert settings.access_code_digest == digest("wonderland")
    assert "wonderland" not in repr(settings)
    assert {"trainer", "helper", "admin"} <= settings.reserved_usernames
    assert settings.max_users == 300 and not settings.registration_open and settings.rate_limit is None
    assert settings.console_url == "https://console.apps.example.com" and settings.log_level == "DEBUG"
    assert not settings.seats and settings.self_registration  # the defaults: self-registration only
    seats_only = Settings.from_env({"SEATS": "on", "SELF_REGISTRATION": "off", "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert seats_only.seats and not seats_only.self_registration


def test_cluster_sync_auto_follows_the_service_account_token(tmp_path):
    (tmp_path / "token").write_text("t")
    (tmp_path / "namespace").write_text("workshop\n")
    settings = Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert settings.cluster_sync and settings.registrations_secret_namespace == "workshop"
    assert settings.commit_interval == 1.0  # every htpasswd write rolls out the OAuth server
    assert not Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path), "CLUSTER_SYNC": "off"}).cluster_sync


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("BCRYPT_ROUNDS", "3", "BCRYPT_ROUNDS must be a whole number from 4 to 16"),
        ("BCRYPT_ROUNDS", "ten", "BCRYPT_ROUNDS must be a whole number from 4 to 16"),
        ("MIN_PASSWORD_LENGTH", "80", "MIN_PASSWORD_LENGTH must be a whole number from 1 to 72"),
        ("MAX_USERS", "-1", "MAX_USERS must be a whole number"),
        ("REGISTRATION_OPEN", "maybe", "REGISTRATION_OPEN must be true or false"),
        ("RATE_LIMIT", "lots", "RATE_LIMIT must be a rate such as 10/minute, or off"),
        ("CONSOLE_URL", "console.example.com", "CONSOLE_URL must be an http(s) URL"),
        ("API_URL", "javascript:alert(1)", "API_URL must be an http(s) URL"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
        ("CLUSTER_SYNC", "sometimes", "CLUSTER_SYNC must be one of auto, on, off"),
        ("COMMIT_INTERVAL", "-1", "COMMIT_INTERVAL must be a number of seconds from 0 to 60"),
        ("EVENT_NAME", "x" * 101, "EVENT_NAME must be one line of at most 100 characters"),
        ("REGISTRATION_OPENS_AT", "2026-12-01T09:00", "REGISTRATION_OPENS_AT must be an ISO 8601 time with its zone"),
        ("REGISTRATION_CLOSES_AT", "tomorrow", "REGISTRATION_CLOSES_AT must be an ISO 8601 time with its zone"),
        ("PROJECT_TEMPLATE", "lab", "PROJECT_TEMPLATE must be a namespace name containing {username}"),
        ("PROJECT_TEMPLATE", "openshift-{username}", "PROJECT_TEMPLATE must be a namespace name"),
        ("PROJECT_TEMPLATE", "{username}_lab", "PROJECT_TEMPLATE must be a namespace name"),
        ("PROJECT_TEMPLATE", "x" * 32 + "-{username}", "PROJECT_TEMPLATE must be a namespace name"),
        ("LAB_LINKS", "https://guides.example.com", "LAB_LINKS must be title|URL pairs"),
        ("LAB_LINKS", "Guide|javascript:alert(1)", "LAB_LINKS must be title|URL pairs"),
        ("LAB_LINKS", "Guide|ftp://files.example.com", "LAB_LINKS must be title|URL pairs"),
        ("LAB_LINKS", "Guide|https://g.example.com/{user}", "LAB_LINKS must be title|URL pairs"),
        ("LAB_LINKS", "|https://g.example.com", "LAB_LINKS must be title|URL pairs"),
        ("LAB_LINKS", ";".join(f"G{i}|https://g.example.com" for i in range(11)), "LAB_LINKS must be title|URL pairs"),
        ("SELF_REGISTRATION", "off", "SEATS or SELF_REGISTRATION must be on: the page would offer nothing"),
        ("SEATS", "maybe", "SEATS must be true or false"),
    ],
)
def test_invalid_values_stop_start_up_naming_the_variable(tmp_path, name, value, words):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value, "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert words in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BCRYPT_ROUNDS": "0", "MAX_USERS": "x", "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert "BCRYPT_ROUNDS" in str(caught.value) and "MAX_USERS" in str(caught.value)


def test_cluster_sync_on_outside_a_pod_needs_a_namespace(tmp_path):
    with pytest.raises(SettingsError, match="REGISTRATIONS_SECRET_NAMESPACE"):
        Settings.from_env({"CLUSTER_SYNC": "on", "SERVICE_ACCOUNT_DIR": str(tmp_path)})


def test_the_readme_table_is_rendered_from_the_declarations():
    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    assert readme_table() in page, "docs/configuration.md's table is stale: run python -m app.settings --readme"


def test_every_setting_is_declared_once_and_every_declaration_is_a_setting():
    declared = [var.field for var in DECLARED]
    assert len(declared) == len(set(declared)) == len({var.name for var in DECLARED})
    assert set(declared) == {field.name for field in dataclasses.fields(Settings)}


@pytest.mark.parametrize("name, value", [("ADMIN_TOKEN", "short-tok"), ("ACCESS_CODE", "")])
def test_a_bad_secret_is_never_echoed(tmp_path, name, value):
    if not value:  # an empty ACCESS_CODE is simply "not set"
        assert Settings.from_env({name: value, "SERVICE_ACCOUNT_DIR": str(tmp_path)}).access_code_digest is None
        return
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value, "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert name in str(caught.value) and value not in str(caught.value)


def test_the_pods_kubernetes_service_and_the_gunicorn_numbers(tmp_path):
    settings = Settings.from_env({"KUBERNETES_SERVICE_HOST": "172.30.0.1", "KUBERNETES_SERVICE_PORT": "443",
                                  "WEB_CONCURRENCY": "4", "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert settings.kubernetes_service_url == "https://172.30.0.1:443"
    assert settings.web_concurrency == 4 and settings.gunicorn_threads == 32 and settings.port == 8080
    assert Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path)}).kubernetes_service_url is None


def test_each_worker_hashes_its_share_of_the_cpus(tmp_path):
    from app.settings import usable_cpus

    settings = Settings.from_env({"WEB_CONCURRENCY": "2", "SERVICE_ACCOUNT_DIR": str(tmp_path)})
    assert settings.hashing_slots == max(1, -(-usable_cpus() // 2))
    assert Settings(web_concurrency=64).hashing_slots == 1


def test_lab_links_are_parsed_and_filled_in_url_encoded(tmp_path):
    settings = Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path), "LAB_LINKS":
                                  "Lab guide | https://g.example.com/?user={username}\nShell|http://s.example.com/{username}/;"})
    assert settings.lab_links == (("Lab guide", "https://g.example.com/?user={username}"),
                                  ("Shell", "http://s.example.com/{username}/"))
    assert settings.links_for("a b/c&d") == [{"title": "Lab guide", "url": "https://g.example.com/?user=a%20b%2Fc%26d"},
                                             {"title": "Shell", "url": "http://s.example.com/a%20b%2Fc%26d/"}]
    assert Settings.from_env({"SERVICE_ACCOUNT_DIR": str(tmp_path)}).links_for("alice") == []


def test_the_schedule_is_read_with_its_zone_and_must_close_after_it_opens(tmp_path):
    base = {"SERVICE_ACCOUNT_DIR": str(tmp_path)}
    settings = Settings.from_env(dict(base, REGISTRATION_OPENS_AT="2026-12-01T09:00+01:00",
                                      REGISTRATION_CLOSES_AT="2026-12-01T11:00Z"))
    assert settings.registration_opens_at.utcoffset().total_seconds() == 3600
    assert settings.schedule.describe() == ("scheduled: opens 2026-12-01 09:00 (UTC+01:00), "
                                            "closes 2026-12-01 11:00 (UTC)")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(dict(base, REGISTRATION_OPENS_AT="2026-12-01T09:00Z",
                               REGISTRATION_CLOSES_AT="2026-12-01T09:00Z"))
    assert "REGISTRATION_CLOSES_AT must be later than REGISTRATION_OPENS_AT" in str(caught.value)
