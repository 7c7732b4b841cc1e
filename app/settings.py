"""Every setting of the app, read once from the environment into one frozen object.

Each variable is documented in the README's configuration table. An invalid value stops start-up with a
message naming the variable; all problems are reported at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import limits

from app.errors import SettingsError

DEFAULT_RESERVED = frozenset({"admin", "kubeadmin", "root", "administrator", "system"})
RESERVED_PREFIXES = ("system", "kube-", "openshift")
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclasses.dataclass(frozen=True)
class Settings:
    """The app's configuration; build it with `Settings.from_env` or directly in tests."""

    data_dir: Path = Path("data")
    event_name: str = "OpenShift workshop"
    # Only the SHA-256 digest of ACCESS_CODE is kept, so the code itself is never in a repr or a dump.
    access_code_digest: bytes | None = dataclasses.field(default=None, repr=False)
    admin_token_digest: bytes | None = dataclasses.field(default=None, repr=False)
    bcrypt_rounds: int = 10
    min_password_length: int = 8
    reserved_usernames: frozenset[str] = DEFAULT_RESERVED
    max_users: int = 0
    registration_open: bool = True
    rate_limit: str | None = "60/minute"
    trusted_proxy_hops: int = 0
    console_url: str | None = None
    api_url: str | None = None
    log_level: str = "INFO"
    cluster_sync: bool = False
    service_account_dir: Path = Path(SERVICE_ACCOUNT_DIR)
    htpasswd_secret_name: str = "htpass-secret"
    htpasswd_secret_namespace: str = "openshift-config"
    registrations_secret_name: str = "workshop-registrations"
    registrations_secret_namespace: str | None = None
    identity_provider_name: str = "workshop"
    commit_interval: float = 0.0
    commit_timeout: float = 20.0
    refresh_interval: float = 5.0
    login_check: bool = False
    login_check_timeout: float = 300.0

    @property
    def access_code_required(self) -> bool:
        """True when attendees must enter the event's access code."""
        return self.access_code_digest is not None

    def is_reserved(self, username: str) -> bool:
        """True for names an attendee may not take (cluster and admin accounts)."""
        return username in self.reserved_usernames or username.startswith(RESERVED_PREFIXES)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables; raise SettingsError naming every bad one."""
        env = _Reader(os.environ if environ is None else environ)
        access_code = env.text("ACCESS_CODE", "")
        admin_token = env.text("ADMIN_TOKEN", "")
        if admin_token and len(admin_token) < 12:
            env.problems.append("ADMIN_TOKEN must be at least 12 characters (it guards every attendee's data)")
        sa_dir = Path(env.text("SERVICE_ACCOUNT_DIR", SERVICE_ACCOUNT_DIR))
        cluster_sync = env.choice("CLUSTER_SYNC", "auto", ("auto", "on", "off"))
        in_pod = (sa_dir / "token").is_file()
        cluster_on = cluster_sync == "on" or (cluster_sync == "auto" and in_pod)
        settings = cls(
            data_dir=Path(env.text("DATA_DIR", "data")),
            event_name=env.text("EVENT_NAME", cls.event_name, max_length=100),
            access_code_digest=digest(access_code) if access_code else None,
            admin_token_digest=digest(admin_token) if admin_token else None,
            bcrypt_rounds=env.integer("BCRYPT_ROUNDS", 10, 4, 16),
            min_password_length=env.integer("MIN_PASSWORD_LENGTH", 8, 1, 72),
            reserved_usernames=DEFAULT_RESERVED | env.names("RESERVED_USERNAMES"),
            max_users=env.integer("MAX_USERS", 0, 0, 1_000_000),
            registration_open=env.boolean("REGISTRATION_OPEN", True),
            rate_limit=env.rate("RATE_LIMIT", "60/minute"),
            trusted_proxy_hops=env.integer("TRUSTED_PROXY_HOPS", 0, 0, 10),
            console_url=env.url("CONSOLE_URL"),
            api_url=env.url("API_URL"),
            log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"), upper=True),
            cluster_sync=cluster_on,
            service_account_dir=sa_dir,
            htpasswd_secret_name=env.text("HTPASSWD_SECRET_NAME", "htpass-secret"),
            htpasswd_secret_namespace=env.text("HTPASSWD_SECRET_NAMESPACE", "openshift-config"),
            registrations_secret_name=env.text("REGISTRATIONS_SECRET_NAME", "workshop-registrations"),
            registrations_secret_namespace=env.text("REGISTRATIONS_SECRET_NAMESPACE", "")
            or _pod_namespace(sa_dir),
            identity_provider_name=env.text("IDENTITY_PROVIDER_NAME", "workshop", max_length=100),
            commit_interval=env.number("COMMIT_INTERVAL", 1.0 if cluster_on else 0.0, 0.0, 60.0),
            commit_timeout=env.number("COMMIT_TIMEOUT", 20.0, 1.0, 300.0),
            refresh_interval=env.number("REFRESH_INTERVAL", 5.0, 0.5, 300.0),
            login_check=_switch(env.choice("LOGIN_CHECK", "auto", ("auto", "on", "off")), cluster_on),
            login_check_timeout=env.number("LOGIN_CHECK_TIMEOUT", 300.0, 30.0, 3600.0),
        )
        if settings.cluster_sync and not settings.registrations_secret_namespace:
            env.problems.append(
                "REGISTRATIONS_SECRET_NAMESPACE must be set when cluster sync is on outside a pod "
                "(inside a pod it defaults to the pod's namespace)"
            )
        if env.problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(env.problems))
        return settings


def _switch(value: str, auto: bool) -> bool:
    return value == "on" or (value == "auto" and auto)


def digest(secret: str) -> bytes:
    """SHA-256 of a secret's UTF-8 bytes: equal-length values for constant-time comparison."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _pod_namespace(sa_dir: Path) -> str | None:
    try:
        return (sa_dir / "namespace").read_text().strip() or None
    except OSError:
        return None


class _Reader:
    """Parses environment variables, collecting a readable problem for each bad one."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def _bad(self, name: str, expected: str, value: str, default):
        self.problems.append(f"{name} must be {expected}, got {value!r}")
        return default

    def text(self, name: str, default: str, max_length: int = 1000) -> str:
        value = self._raw(name)
        if value is None:
            return default
        if len(value) > max_length or any(ord(c) < 32 for c in value):
            return self._bad(name, f"one line of at most {max_length} characters", value[:40], default)
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        return self._ranged(name, default, low, high, int, f"a whole number from {low} to {high}")

    def number(self, name: str, default: float, low: float, high: float) -> float:
        return self._ranged(name, default, low, high, float, f"a number of seconds from {low:g} to {high:g}")

    def _ranged(self, name: str, default, low, high, convert, expected: str):
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = convert(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            return self._bad(name, expected, value, default)
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        return self._bad(name, "true or false", value, default)

    def choice(self, name: str, default: str, allowed: tuple[str, ...], upper: bool = False) -> str:
        value = self._raw(name)
        if value is None:
            return default
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            return self._bad(name, "one of " + ", ".join(allowed), value, default)
        return value

    def names(self, name: str) -> frozenset[str]:
        value = self._raw(name)
        return frozenset(n.strip().lower() for n in (value or "").split(",") if n.strip())

    def rate(self, name: str, default: str) -> str | None:
        value = self._raw(name) or default
        if value.lower() == "off":
            return None
        try:
            limits.parse(value)
        except ValueError:
            return self._bad(name, "a rate such as 10/minute, or off", value, default)
        return value

    def url(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c in value for c in " \"'<>"):
            return self._bad(name, "an http(s) URL", value, None)
        return value.rstrip("/")
