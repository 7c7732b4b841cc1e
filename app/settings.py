"""Every setting of the app: declared once, read once from the environment into one frozen object.

A setting is its `Settings` field (with its default) and one `Var` in `DECLARED` (the variable's name,
its parser and its help). `Settings.from_env` reads them all and reports every bad value at once,
naming the variable; the configuration table of docs/configuration.md is rendered from the same declarations
(`python -m app.settings --readme` rewrites it, and a test checks that it is current). This is the only
module that reads the environment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import limits
import zxcvbn_rs_py

from app.errors import SettingsError
from app.schedule import Schedule

DEFAULT_RESERVED = frozenset({"admin", "kubeadmin", "root", "administrator", "system", "cluster-admin", "default",
                              "kube"})
RESERVED_PREFIXES = ("system", "kube-", "kubernetes", "openshift")
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
USERNAME_PLACEHOLDER = "{username}"
HTPASSWD, BASIC_AUTH = "HTPasswd", "BasicAuth"  # the identity provider types (OpenShift's own spelling)
LOGINS_SECRET = "workshop-registration-logins"  # BasicAuth: the logins' Secret, in the app's own namespace


@dataclasses.dataclass(frozen=True)
class Settings:
    """The app's configuration; build it with `Settings.from_env`, or directly in tests."""

    event_name: str = "OpenShift workshop"
    # Only the SHA-256 digests of ACCESS_CODE and ADMIN_TOKEN are kept: never in a repr or a dump.
    access_code_digest: bytes | None = dataclasses.field(default=None, repr=False)
    admin_token_digest: bytes | None = dataclasses.field(default=None, repr=False)
    max_users: int = 0
    registration_open: bool = True
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    event_ends_at: datetime | None = None
    attendee_group: str = ""
    seats: bool = False
    self_registration: bool = True
    reserved_usernames: frozenset[str] = DEFAULT_RESERVED
    min_password_length: int = 8
    bcrypt_rounds: int = 10
    rate_limit: str | None = "60/minute"
    trusted_proxy_hops: int = 0
    console_url: str | None = None
    api_url: str | None = None
    public_url: str | None = None
    lab_links: tuple[tuple[str, str], ...] = ()
    project_template: str | None = None
    login_check: bool = False
    login_check_timeout: float = 600.0
    data_dir: Path = Path("data")
    cluster_sync: bool = False
    identity_provider_type: str = "HTPasswd"
    htpasswd_secret_name: str = "workshop-registration-htpasswd"
    htpasswd_secret_namespace: str = "openshift-config"
    htpasswd_secret_shared: bool = False
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    registrations_secret_name: str = "workshop-registrations"
    registrations_secret_namespace: str | None = None
    identity_provider_name: str = "workshop"
    commit_interval: float = 0.0
    max_publish_delay: float = 300.0
    oauth_rollout_grace: float = 30.0
    unseen_rollout_interval: float = 120.0
    commit_timeout: float = 20.0
    refresh_interval: float = 5.0
    service_account_dir: Path = Path(SERVICE_ACCOUNT_DIR)
    kubernetes_service_host: str | None = None
    kubernetes_service_port: int | None = None
    log_level: str = "INFO"
    port: int = 8080
    host: str = "127.0.0.1"
    web_concurrency: int = 2
    gunicorn_threads: int = 32
    prometheus_multiproc_dir: Path | None = None

    @property
    def basic_auth(self) -> bool:
        """True when OpenShift asks the app itself (a BasicAuth identity provider) instead of reading an
        htpasswd Secret: chosen once, by IDENTITY_PROVIDER_TYPE."""
        return self.identity_provider_type == BASIC_AUTH

    @property
    def access_code_required(self) -> bool:
        """True when attendees must enter the event's access code."""
        return self.access_code_digest is not None

    def is_reserved(self, username: str) -> bool:
        """True for names an attendee may not take (cluster and admin accounts)."""
        return username in self.reserved_usernames or username.startswith(RESERVED_PREFIXES)

    @property
    def kubernetes_service_url(self) -> str | None:
        """The API server's in-cluster address (KUBERNETES_SERVICE_HOST/PORT, set by Kubernetes in a pod)."""
        if not (self.kubernetes_service_host and self.kubernetes_service_port):
            return None
        return f"https://{self.kubernetes_service_host}:{self.kubernetes_service_port}"

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.registration_opens_at, self.registration_closes_at, self.event_ends_at)

    def links_for(self, username: str) -> list[dict[str, str]]:
        """LAB_LINKS for this attendee: `{username}` filled in, URL-encoded."""
        return [{"title": title, "url": link.replace(USERNAME_PLACEHOLDER, quote(username, safe=""))}
                for title, link in self.lab_links]

    def rate_per_minute(self, factor: int) -> str | None:
        """RATE_LIMIT (about the room's size per minute) scaled by a factor, as a rate; None when off."""
        if self.rate_limit is None:
            return None
        item = limits.parse(self.rate_limit)
        return f"{math.ceil(item.amount * factor * 60 / item.get_expiry())}/minute"

    @property
    def hashing_slots(self) -> int:
        """How many bcrypt hashes one worker process runs at once: the usable CPUs shared by the workers.

        More would not hash faster, only finish every hash late together: a burst then arrives at the
        commit in waves and the cores idle in between.
        """
        return max(1, math.ceil(usable_cpus() / self.web_concurrency))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every declared variable; raise SettingsError naming every bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        problems: list[str] = []
        for var in DECLARED:
            raw = (environ.get(var.name) or "").strip() or None
            try:
                values[var.field] = var.read(raw, values)
            except ValueError as error:
                shown = "" if var.secret or raw is None else f", got {raw[:40]!r}"
                problems.append(f"{var.name} must be {error}{shown}")
                values[var.field] = var.default
        opens, closes = values["registration_opens_at"], values["registration_closes_at"]
        if opens and closes and closes <= opens:
            problems.append("REGISTRATION_CLOSES_AT must be later than REGISTRATION_OPENS_AT")
        ends = values["event_ends_at"]
        if ends and any(at and ends <= at for at in (opens, closes)):
            problems.append("EVENT_ENDS_AT must be later than REGISTRATION_OPENS_AT and REGISTRATION_CLOSES_AT")
        if not (values["seats"] or values["self_registration"]):
            problems.append("SEATS or SELF_REGISTRATION must be on: the page would offer nothing")
        if bool(values["tls_cert_file"]) != bool(values["tls_key_file"]):
            problems.append("TLS_CERT_FILE and TLS_KEY_FILE must be set together")
        if values["tls_client_ca_file"] and not values["tls_cert_file"]:
            problems.append("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE: client certificates are "
                            "checked on a TLS connection")
        if values["cluster_sync"] and not values["registrations_secret_namespace"]:
            problems.append("REGISTRATIONS_SECRET_NAMESPACE must be set when cluster sync is on outside a pod "
                            "(inside a pod it defaults to the pod's namespace)")
        if problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Var:
    """One environment variable: its Settings field, parser and help (the README table's row)."""

    name: str
    parse: Callable[[str], object]  # raises ValueError("what was expected")
    help: str
    shown: str = ""  # the README's default column, when it is not simply the field's default
    unset: str | None = None  # the text that stands for "not set" (e.g. "auto"), if any
    derive: Callable[[object, dict], object] | None = None  # the value from the parsed one (None: unset)
    secret: bool = False  # never echoed in an error

    @property
    def field(self) -> str:
        return _FIELDS.get(self.name, self.name.lower())

    @property
    def default(self) -> object:
        return Settings.__dataclass_fields__[self.field].default

    def read(self, raw: str | None, values: dict) -> object:
        """The value of the variable's text (None when unset), given the values read before it."""
        text = raw if raw is not None else self.unset
        value = (None if self.derive else self.default) if text is None else self.parse(text)
        return self.derive(value, values) if self.derive else value

    def row(self) -> str:
        default = self.shown or (f"`{self.unset}`" if self.unset else _shown(self.default))
        return f"| `{self.name}` | {default} | {self.help} |"


# --- Parsers: text in, value out, ValueError("what was expected") for anything else --------------------

def text(max_length: int = 1000) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length or any(ord(c) < 32 for c in value):
            raise ValueError(f"one line of at most {max_length} characters")
        return value
    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    return _ranged(int, low, high, f"a whole number from {low} to {high}")


def seconds(low: float, high: float) -> Callable[[str], float]:
    return _ranged(float, low, high, f"a number of seconds from {low:g} to {high:g}")


def _ranged(convert, low, high, expected: str):
    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            raise ValueError(expected) from None
        if not low <= number <= high:
            raise ValueError(expected)
        return number
    return parse


def boolean(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def choice(*allowed: str, upper: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            raise ValueError("one of " + ", ".join(allowed))
        return value
    return parse


def url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in value for c in " \"'<>"):
        raise ValueError("an http(s) URL")
    return value.rstrip("/")


def links(value: str) -> tuple[tuple[str, str], ...]:
    """`title|URL` pairs, separated by `;` or new lines; URLs http(s), `{username}` their only placeholder."""
    expected = "title|URL pairs separated by ; (at most 10; http or https URLs; {username} the only placeholder)"
    found = []
    for item in value.replace("\n", ";").split(";"):
        if not item.strip():
            continue
        title, bar, link = (part.strip() for part in item.partition("|"))
        if not (bar and title and len(title) <= 100 and not any(ord(c) < 32 for c in title)):
            raise ValueError(expected)
        try:
            url(link.replace(USERNAME_PLACEHOLDER, "x"))
        except ValueError:
            raise ValueError(expected) from None
        if "{" in link.replace(USERNAME_PLACEHOLDER, "") or "}" in link.replace(USERNAME_PLACEHOLDER, ""):
            raise ValueError(expected)
        found.append((title, link))
    if not found or len(found) > 10:
        raise ValueError(expected)
    return tuple(found)


def moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError("an ISO 8601 time with its zone, e.g. 2026-12-01T09:00+01:00")
    return parsed


def group_name(value: str) -> str:
    """An OpenShift Group's name (a path segment of the API: letters, digits, `.`, `_`, `-`)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}", value):
        raise ValueError("a Group name (letters, digits, '.', '_' and '-')")
    return value


def project_template(value: str) -> str:
    """A namespace name with `{username}` in it, valid for every username (at most 32 characters)."""
    expected = "a namespace name containing {username}, e.g. {username}-lab (at most 31 other characters)"
    sample = value.replace(USERNAME_PLACEHOLDER, "a" * 32)
    if (value.count(USERNAME_PLACEHOLDER) != 1 or len(sample) > 63 or value.startswith(("openshift", "kube-"))
            or not all(c.islower() or c.isdigit() or c == "-" for c in value.replace(USERNAME_PLACEHOLDER, ""))
            or sample[0] == "-" or sample[-1] == "-"):
        raise ValueError(expected)
    return value


def names(value: str) -> frozenset[str]:
    return DEFAULT_RESERVED | frozenset(n.strip().lower() for n in value.split(",") if n.strip())


def rate(value: str) -> str | None:
    if value.lower() == "off":
        return None
    try:
        limits.parse(value)
    except ValueError:
        raise ValueError("a rate such as 10/minute, or off") from None
    return value


def code_key(value: str) -> str:
    """The form of an access code that is compared: without surrounding spaces, case folded (a phone's
    keyboard capitalises the first letter; a code is read off a screen, not a password)."""
    return value.strip().casefold()


def access_code(value: str) -> bytes:
    if not code_key(value):
        raise ValueError("at least 1 character")
    return digest(code_key(value))


MIN_TOKEN_GUESSES = 10**12  # zxcvbn's estimate: years at the few hundred sign-ins a second /admin answers


def token(value: str) -> bytes:
    """ADMIN_TOKEN: the right one always signs in, however many wrong ones the room's address sent, so
    its strength is what stops guessing (app.web.admin_page counts the wrong ones)."""
    if len(value) < 12:
        raise ValueError("at least 12 characters (it guards every attendee's data)")
    guesses = zxcvbn_rs_py.zxcvbn(value[:64], ["workshop", "admin", "token", "openshift"]).guesses
    if guesses < MIN_TOKEN_GUESSES:
        raise ValueError(f"too easy to guess (about 10^{len(str(guesses)) - 1} guesses; at least 10^12): use four "
                         "random words or 16 random characters, e.g. python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(16))'")
    return digest(value)


def digest(value: str) -> bytes:
    """SHA-256 of a secret's UTF-8 bytes: equal-length values for constant-time comparison."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _switch(value: str, auto: bool) -> bool:
    return value == "on" or (value == "auto" and auto)


def _in_pod(values: dict) -> bool:
    return (Path(values["service_account_dir"]) / "token").is_file()


def _pod_namespace(value: str | None, values: dict) -> str | None:
    if value:
        return value
    try:
        return (Path(values["service_account_dir"]) / "namespace").read_text().strip() or None
    except OSError:
        return None


def _own_secret(value: str | None, values: dict) -> str:
    """HTPASSWD_SECRET_NAME, else the event's own: workshop-registration-htpasswd.<the app's namespace>
    (BasicAuth: workshop-registration-logins, in the app's namespace)."""
    if value:
        return value
    if values["identity_provider_type"] == BASIC_AUTH:
        return LOGINS_SECRET
    namespace = values["registrations_secret_namespace"]
    default = Settings.__dataclass_fields__["htpasswd_secret_name"].default
    return f"{default}.{namespace}" if namespace else default


def _logins_namespace(value: str | None, values: dict) -> str:
    """HTPASSWD_SECRET_NAMESPACE, else openshift-config (BasicAuth: the app's own namespace)."""
    if value:
        return value
    if values["identity_provider_type"] == BASIC_AUTH and values["registrations_secret_namespace"]:
        return values["registrations_secret_namespace"]
    return "openshift-config"


def provider_type(value: str) -> str:
    """HTPasswd or BasicAuth, in any case, spelled as OpenShift spells them."""
    for known in (HTPASSWD, BASIC_AUTH):
        if value.lower() == known.lower():
            return known
    raise ValueError(f"{HTPASSWD} or {BASIC_AUTH}")


def usable_cpus() -> int:
    """The CPUs this process may use, within a container's CPU limit (cgroup v2) when it has one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def _shown(default: object) -> str:
    if default is None:
        return "none"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"


_FIELDS = {"ACCESS_CODE": "access_code_digest", "ADMIN_TOKEN": "admin_token_digest",
           "RESERVED_USERNAMES": "reserved_usernames"}

DECLARED: tuple[Var, ...] = (
    Var("EVENT_NAME", text(100), "page title and heading"),
    Var("ACCESS_CODE", access_code, "when set, attendees must enter it (compared in constant time, without "
        "regard to case or surrounding spaces; only its SHA-256 is kept in memory)", secret=True),
    Var("ADMIN_TOKEN", token, "enables the instructor page `/admin` (at least 12 characters, and hard to guess: "
        "zxcvbn's estimate at least 10^12 guesses, e.g. four random words); without it `/admin` answers 404",
        secret=True),
    Var("MAX_USERS", integer(0, 1_000_000), "registrations allowed; `0` = no limit. Past it: "
        "\"registration is full\""),
    Var("REGISTRATION_OPEN", boolean, "`false` answers \"registration is closed\" (page) and 503 (API)"),
    Var("REGISTRATION_OPENS_AT", moment, "when registration opens by itself, ISO 8601 with its zone (e.g. "
        "`2026-12-01T09:00+01:00`); before it the page says when. The instructor's switch still overrides: "
        "the latest of the schedule's times and the switch decides"),
    Var("REGISTRATION_CLOSES_AT", moment, "when registration closes by itself (same format; later than the "
        "opening)"),
    Var("EVENT_ENDS_AT", moment, "when the event ends by itself (same format; later than the opening and the "
        "closing): every attendee's login stops working, registration, claims and signing back in are refused, "
        "the records stay (docs/instructors.md, \"The end of the event\"); the instructor may end it earlier",
        shown="none (ended by the instructor)"),
    Var("ATTENDEE_GROUP", group_name, "an OpenShift Group the app keeps equal to the attendees whose logins "
        "work, for one RoleBinding to the whole room (needs openshift/extras/attendee-group, which sets it)",
        shown="none (off)"),
    Var("SEATS", boolean, "`true`: attendees claim a seat the instructor made (`python -m app seats create`) "
        "with their email (and the access code), and see its username and password once; the page offers it "
        "first, above self-registration when that is on too"),
    Var("SELF_REGISTRATION", boolean, "`false`: attendees cannot choose their own login (page and API), only "
        "claim a seat (needs `SEATS=true`)"),
    Var("RESERVED_USERNAMES", names, "comma-separated names refused besides `admin`, `kubeadmin`, `root`, "
        "`administrator`, `system`, `cluster-admin`, `default`, `kube`, `system*`, `kube-*`, `openshift*`",
        shown="none"),
    Var("MIN_PASSWORD_LENGTH", integer(1, 72), "1–72; passwords are also checked against common ones "
        "(zxcvbn, on their first 14 characters) and may not contain the username"),
    Var("BCRYPT_ROUNDS", integer(4, 16), "bcrypt cost, 4–16 (each step doubles the time; ≈50 ms per hash at "
        "10 on one core here)"),
    Var("RATE_LIMIT", rate, "registration attempts per client address (page and API together), across a "
        "pod's workers; `off` disables it. A room on one network shares one address: allow about the room's "
        "size per minute (the OpenShift ConfigMap sets `300/minute`)"),
    Var("TRUSTED_PROXY_HOPS", integer(0, 10), "proxies whose `X-Forwarded-For` is trusted for the client "
        "address; `1` behind the OpenShift router (set in the ConfigMap)"),
    Var("CONSOLE_URL", url, "web console address shown after registering; in cluster mode read from "
        "`openshift-config-managed/console-public` when unset", shown="discovered"),
    Var("API_URL", url, "API address for the `oc login` command; in cluster mode read from "
        "`Infrastructure/cluster` when unset; also where the login check finds the OAuth server",
        shown="discovered"),
    Var("PUBLIC_URL", url, "the registration page's address for the room screen's join link and QR code; in "
        "cluster mode read from the app's Route (`workshop-registration`) when unset — never from a request's "
        "Host header", shown="discovered"),
    Var("LAB_LINKS", links, "links shown after registering and in the API's answer: `title|URL` pairs "
        "separated by `;` (or new lines), e.g. `Lab guide|https://guides.example.com/?user={username}`; "
        "`{username}` becomes the attendee's username, URL-encoded; only http(s) URLs", shown="none"),
    Var("PROJECT_TEMPLATE", project_template, "a project per attendee once their login is written, named "
        "from this (e.g. `{username}-lab`), with `admin` for them and the quota and limits of the ConfigMap "
        "`workshop-registration-project`; needs openshift/extras/projects (which sets it)", shown="none (off)"),
    Var("DATA_DIR", Path, "`htpasswd`, `users.csv` (and locally `registrations.csv`); `.runtime/` holds locks "
        "and counters", shown="`./data`"),
    Var("SERVICE_ACCOUNT_DIR", Path, "where the pod's token, CA and namespace are (tests point it elsewhere)"),
    Var("CLUSTER_SYNC", choice("auto", "on", "off"), "`on`: the Secrets are the truth; `off`: local files "
        "only; `auto`: on when a service-account token is mounted", unset="auto",
        derive=lambda value, values: _switch(value, _in_pod(values))),
    Var("IDENTITY_PROVIDER_TYPE", provider_type, "how logins reach OpenShift, chosen before the event: "
        "`HTPasswd` (written into an htpasswd Secret its OAuth server reads: each write rolls the OAuth server "
        "out, so a new login works a minute or two later) or `BasicAuth` (the OAuth server asks this app at "
        "every login, `GET /api/v1/basic-auth`: a login works the moment it is registered, no rollout; set by "
        "openshift/extras/basic-auth)"),
    Var("LOGIN_CHECK", choice("auto", "on", "off"), "the live \"can I log in yet?\" check: `auto` (on with "
        "cluster sync and `HTPasswd`; with `BasicAuth` a login works at once), `on`, `off`", unset="auto",
        derive=lambda value, values: _switch(value, values["cluster_sync"]
                                             and values["identity_provider_type"] == HTPASSWD)),
    Var("LOGIN_CHECK_TIMEOUT", seconds(30, 3600), "seconds the page keeps checking before it says \"still "
        "not active — tell your instructor\" (30–3600)"),
    Var("REGISTRATIONS_SECRET_NAME", text(), "the Secret holding the registration records"),
    Var("REGISTRATIONS_SECRET_NAMESPACE", text(), "its namespace (required with `CLUSTER_SYNC=on` outside a "
        "pod)", shown="the pod's namespace", derive=_pod_namespace),
    Var("HTPASSWD_SECRET_NAME", text(), "the htpasswd Secret of the logins: with `HTPasswd` the one the OAuth "
        "server reads, the event's own, made by `openshift/setup.sh`; with `BasicAuth` one in the app's "
        f"namespace, `{LOGINS_SECRET}`", shown="`workshop-registration-htpasswd.<namespace>`", derive=_own_secret),
    Var("HTPASSWD_SECRET_NAMESPACE", text(), "its namespace", shown="`openshift-config` (`BasicAuth`: the app's)",
        derive=_logins_namespace),
    Var("HTPASSWD_SECRET_SHARED", boolean, "`true` lets the app add attendees to an htpasswd Secret that "
        "holds lines it did not add (openshift/extras/shared-htpasswd); without it the app writes no such "
        "Secret. Whoever holds the app's token can rewrite every line there: see docs/security.md"),
    Var("IDENTITY_PROVIDER_NAME", text(100), "the identity provider the setup adds (its name is on the login "
        "page)"),
    Var("COMMIT_INTERVAL", seconds(0, 60), "minimum seconds between two writes of the htpasswd Secret, "
        "across replicas, whatever else allows", shown="`1` with cluster sync, else `0`",
        derive=lambda value, values: value if value is not None else (1.0 if values["cluster_sync"] else 0.0)),
    Var("MAX_PUBLISH_DELAY", seconds(1, 3600), "the longest a registered login waits to be written: past it, "
        "it is written even while an OAuth rollout is in progress (one that never completes must not hold "
        "the room for ever)"),
    Var("OAUTH_ROLLOUT_GRACE", seconds(1, 600), "after a write, how long the OAuth Deployment may take to "
        "start the rollout it causes; until then (or until it completes) the next write waits"),
    Var("UNSEEN_ROLLOUT_INTERVAL", seconds(0, 3600), "spacing between writes of the htpasswd Secret when the "
        "OAuth Deployment cannot be read (plain Kubernetes, or its Role not applied); longer than a rollout"),
    Var("COMMIT_TIMEOUT", seconds(1, 300), "seconds a registration may wait for its record to be stored "
        "(through API outages) before \"try again\""),
    Var("REFRESH_INTERVAL", seconds(0.5, 300), "seconds between re-reads of the Secrets (mirrors, the "
        "switch, the publishing of other replicas' registrations)"),
    Var("KUBERNETES_SERVICE_HOST", text(), "set by Kubernetes in every pod: with `KUBERNETES_SERVICE_PORT`, "
        "the API server's in-cluster address, where the login check finds the OAuth server when `API_URL` "
        "is unset"),
    Var("KUBERNETES_SERVICE_PORT", integer(1, 65535), "set by Kubernetes in every pod (see above)"),
    Var("LOG_LEVEL", choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True), "`DEBUG`, `INFO`, `WARNING` or "
        "`ERROR`; logs go to stdout, one `key=value` line per event"),
    Var("PORT", integer(1, 65535), "listening port"),
    Var("TLS_CERT_FILE", Path, "with `TLS_KEY_FILE`: gunicorn serves HTTPS itself with this certificate (on "
        "OpenShift, the service serving certificate; the Route re-encrypts)", shown="none (HTTP)"),
    Var("TLS_KEY_FILE", Path, "the certificate's private key", shown="none"),
    Var("TLS_CLIENT_CA_FILE", Path, "client certificates this CA signed are verified (others fail the TLS "
        "handshake); `/api/v1/basic-auth` answers only a client with one: the OAuth server", shown="none"),
    Var("HOST", text(), "listening address of `python wsgi.py` only (gunicorn binds `0.0.0.0:$PORT`)"),
    Var("WEB_CONCURRENCY", integer(1, 64), "gunicorn worker processes (the S2I image sets it from the "
        "container's limits)"),
    Var("GUNICORN_THREADS", integer(1, 256), "threads per worker; most just wait for a commit, and some must "
        "stay free for the probes. Each worker hashes at most ⌈CPUs / `WEB_CONCURRENCY`⌉ passwords at a time "
        "(CPUs from the container's limit)"),
    Var("PROMETHEUS_MULTIPROC_DIR", Path, "where gunicorn's workers keep their metrics (emptied at start); "
        "`config.py` sets it", shown="`$DATA_DIR/.runtime/metrics` under gunicorn"),
)

README_BEGIN, README_END = "<!-- settings table: python -m app.settings --readme -->", "<!-- end of settings table -->"


def readme_table() -> str:
    """The configuration table (docs/configuration.md), rendered from the declarations."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"] + [var.row() for var in DECLARED]
    return "\n".join([README_BEGIN, *rows, README_END])


def _rewrite_readme(path: Path) -> None:
    text_ = path.read_text()
    start, end = text_.index(README_BEGIN), text_.index(README_END) + len(README_END)
    path.write_text(text_[:start] + readme_table() + text_[end:])


if __name__ == "__main__":
    if sys.argv[1:] == ["--readme"]:
        _rewrite_readme(Path(__file__).resolve().parent.parent / "docs" / "configuration.md")
    else:
        print(readme_table())
