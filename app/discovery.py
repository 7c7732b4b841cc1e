"""The console and API addresses shown to attendees, and what the login check needs to reach OAuth.

CONSOLE_URL and API_URL win when set. Otherwise they are read from the cluster (the store's `info`:
app.cluster.ClusterInfo in cluster mode, nothing locally) on first use and again at most once a minute
until found.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import certifi

from app.settings import Settings

RETRY_SECONDS = 60
ROUTE_NAME = "workshop-registration"  # openshift/app/route.yaml


class Discovery:
    """Configured or discovered addresses, cached."""

    def __init__(self, settings: Settings, info, runtime: Path | None = None):
        self.settings = settings
        self.info = info
        self.runtime = runtime
        self._found: dict[str, str | None] = {}
        self._tried: dict[str, float] = {}
        self._lock = threading.Lock()

    def console_url(self) -> str | None:
        return self.settings.console_url or self._discover("console", lambda: self.info.console_url())

    def api_url(self) -> str | None:
        """The address shown in the `oc login` command."""
        return self.settings.api_url or self._discover("api", lambda: self.info.api_server_url())

    def public_url(self) -> str | None:
        """The registration page's address for the room: PUBLIC_URL, else the app's own Route (never a
        request's Host header, which anyone can set)."""
        return self.settings.public_url or self._discover(
            "public", lambda: self.info.route_url(self.settings.registrations_secret_namespace, ROUTE_NAME))

    def oauth_base(self) -> str | None:
        """Where the login check starts its OAuth discovery: API_URL, else the in-cluster API service."""
        return self.settings.api_url or self.settings.kubernetes_service_url or self.api_url()

    def ca_bundle(self) -> str | bool:
        """Public CAs plus the cluster's own (service-account CA, OAuth serving CA), as one file."""
        if self.runtime is None:
            return True
        bundle = self.runtime / "ca-bundle.pem"
        parts = [Path(certifi.where()).read_text()]
        cluster_ca = self.settings.service_account_dir / "ca.crt"
        if cluster_ca.is_file():
            parts.append(cluster_ca.read_text())
        oauth_ca = self._discover("oauth-ca", lambda: self.info.oauth_ca())
        if oauth_ca:
            parts.append(oauth_ca)
        bundle.write_text("\n".join(parts))
        return str(bundle)

    def _discover(self, key: str, find) -> str | None:
        with self._lock:
            if self._found.get(key) or time.monotonic() - self._tried.get(key, -RETRY_SECONDS) < RETRY_SECONDS:
                return self._found.get(key)
            self._tried[key] = time.monotonic()
        value = find()
        with self._lock:
            self._found[key] = value.rstrip("/") if value else None
            return self._found[key]
