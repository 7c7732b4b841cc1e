"""The process's connection to the Kubernetes API, built once, and the one way calls are made."""

from __future__ import annotations

import threading
from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from app.errors import SettingsError, StoreUnavailable
from app.settings import Settings

TIMEOUT = (3.0, 10.0)  # connect, read (seconds) for every API call
UNREACHABLE = (urllib3.exceptions.HTTPError, OSError)

_connections: dict[str, Connection] = {}
_connections_lock = threading.Lock()


class Connection:
    """The process's API client, and the one way calls are made."""

    def __init__(self, api: client.ApiClient):
        self.api = api

    def call(self, method, *args, **kwargs):
        """Call an API method with the app's timeout; raise ApiException, or StoreUnavailable when the API
        cannot be reached."""
        try:
            return method(*args, _request_timeout=TIMEOUT, **kwargs)
        except UNREACHABLE as error:
            raise StoreUnavailable(f"the Kubernetes API is unreachable ({type(error).__name__})") from None


def connect(settings: Settings) -> Connection:
    """The process's one connection for these settings' credentials, built on first use (each gunicorn
    worker builds its app itself, so no connection crosses a fork)."""
    key = str(settings.service_account_dir)
    with _connections_lock:
        if key not in _connections:
            _connections[key] = _connect(settings)
        return _connections[key]


def _connect(settings: Settings) -> Connection:
    configuration = client.Configuration()
    token_file = settings.service_account_dir / "token"
    try:
        if token_file.is_file():
            environ = {"KUBERNETES_SERVICE_HOST": settings.kubernetes_service_host or "",
                       "KUBERNETES_SERVICE_PORT": str(settings.kubernetes_service_port or "")}
            config.incluster_config.InClusterConfigLoader(
                token_filename=str(token_file), cert_filename=str(settings.service_account_dir / "ca.crt"),
                environ=environ, try_refresh_token=False,
            ).load_and_set(configuration)
            configuration.refresh_api_key_hook = _token_from(token_file)
        else:
            config.load_kube_config(client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError) as error:
        raise SettingsError(
            f"CLUSTER_SYNC is on but no Kubernetes credentials were found ({error}); "
            "run in a pod with a service account, set KUBECONFIG, or set CLUSTER_SYNC=off"
        ) from error
    configuration.retries = False  # the reserver and the publisher retry with their own deadline and backoff
    return Connection(client.ApiClient(configuration))


def _token_from(path: Path):
    """Read the pod's token file before every call: the kubelet rotates the token in that file, and a
    small read is cheaper than a failed call (the client alone re-reads it once a minute)."""
    def refresh(configuration: client.Configuration) -> None:
        try:
            configuration.api_key["BearerToken"] = "bearer " + path.read_text().strip()
        except OSError:
            pass  # keep the last token; the API's answer says what is wrong
    return refresh


def why(error: Exception) -> str:
    """A short, secret-free description of an API failure, for logs."""
    if isinstance(error, ApiException):
        return f"HTTP {error.status}"
    return error.cause if isinstance(error, StoreUnavailable) else type(error).__name__
