"""OpenShift's own objects: the attendees' Users and Identities, the addresses attendees need, and the
OAuth server's Deployment, whose rollouts decide when the htpasswd Secret may be written."""

from __future__ import annotations

import json
import logging
import threading
import time

from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection, why
from app.errors import PermissionDenied, StoreUnavailable
from app.rollout import OAuthServer

log = logging.getLogger(__name__)


class UserDirectory:
    """OpenShift's User and Identity objects: who holds a username, the provider our attendees' Identities
    are named after, and deleting an attendee's (only where the deployment grants it).

    OpenShift names an attendee's Identity `<provider>:<username>`, after the identity provider in
    OAuth/cluster that reads our htpasswd Secret — which, when an existing provider is reused, is not
    IDENTITY_PROVIDER_NAME. Every right here is optional: reading OAuth/cluster by name (granted by
    openshift/), reading any User (the opt-in component openshift/extras/existing-users), deleting Users
    and Identities (openshift/extras/remove-users). Without a read right the answer is what the settings
    say and "nobody holds it", and that right is not asked for again for a while.
    """

    PROVIDER_TTL = 300.0  # OAuth/cluster changes rarely: read it at most this often
    DENIED_TTL = 600.0  # after a 401/403, ask again only this much later

    def __init__(self, connection: Connection, secret_name: str, configured: str, clock=time.monotonic):
        self.connection = connection
        self.objects = client.CustomObjectsApi(connection.api)
        self.secret_name = secret_name
        self.configured = configured
        self.clock = clock
        self._lock = threading.Lock()
        self._provider: tuple[float, str] | None = None
        self._users_denied_until = 0.0

    def provider(self) -> str:
        """The name of the HTPasswd provider reading our Secret (IDENTITY_PROVIDER_NAME when none is found)."""
        with self._lock:
            if self._provider and self.clock() < self._provider[0]:
                return self._provider[1]
        name = self.configured
        try:
            oauth = self.connection.call(self.objects.get_cluster_custom_object,
                                         "config.openshift.io", "v1", "oauths", "cluster")
            readers = [p.get("name") for p in (oauth.get("spec") or {}).get("identityProviders") or []
                       if p.get("type") == "HTPasswd"
                       and ((p.get("htpasswd") or {}).get("fileData") or {}).get("name") == self.secret_name]
            name = next((n for n in readers if n), self.configured)
        except (ApiException, StoreUnavailable) as error:
            log.info("event=provider_unknown object=oauths/cluster cause=%r using=%s", why(error), self.configured)
        with self._lock:
            self._provider = (self.clock() + self.PROVIDER_TTL, name)
        return name

    def identity(self, username: str) -> str:
        """The Identity OpenShift creates for an attendee's first login."""
        return f"{self.provider()}:{username}"

    def held(self, username: str) -> bool:
        """True when an OpenShift User of this name is mapped to an identity. Another provider's: with
        mappingMethod claim our attendee could never log in as it. Ours (a removed attendee's, whose User and
        Identity are still there): claim would map the newcomer to that User, with its groups, bindings and
        project. A User with no identity yet (`oc create user`) is free to claim. False when unknown."""
        _, user = self._user(username)
        return bool((user or {}).get("identities"))

    def exists(self, name: str) -> bool | None:
        """Whether a User of this name exists; None when the app may not read Users (extras/existing-users)."""
        known, user = self._user(name)
        return (user is not None) if known else None

    def _user(self, name: str) -> tuple[bool, dict | None]:
        """(known, the User or None): known is False when it could not be read."""
        if self.clock() < self._users_denied_until:
            return False, None
        try:
            return True, self.connection.call(self.objects.get_cluster_custom_object, "user.openshift.io", "v1",
                                              "users", name)
        except ApiException as error:
            if error.status == 404:
                return True, None
            if error.status in (401, 403):
                self._users_denied_until = self.clock() + self.DENIED_TTL
                log.info("event=users_unreadable cause=%r (openshift/extras/existing-users grants it)", why(error))
            else:
                log.warning("event=users_unreadable cause=%r", why(error))
            return False, None
        except StoreUnavailable as error:
            log.warning("event=users_unreadable cause=%r", error.cause)
            return False, None

    def delete_user(self, name: str) -> bool:
        """Delete a User; True when deleted, False when there was none."""
        return self._delete("users", name)

    def delete_identity(self, name: str) -> bool:
        """Delete an Identity (named `<identity provider>:<username>`); False when there was none."""
        return self._delete("identities", name)

    def _delete(self, plural: str, name: str) -> bool:
        try:
            self.connection.call(self.objects.delete_cluster_custom_object, "user.openshift.io", "v1", plural, name)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            if error.status in (401, 403):
                raise PermissionDenied(
                    f"the service account may not delete {plural} (HTTP {error.status}); see docs/deploy.md "
                    "(openshift/extras/remove-users) or delete it by hand"
                ) from None
            raise StoreUnavailable(f"the Kubernetes API failed to delete {plural}/{name} (HTTP {error.status})") \
                from None


class ClusterInfo:
    """Addresses the attendee needs, read from the cluster when not configured (read-only, by name)."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.core = client.CoreV1Api(connection.api)
        self.objects = client.CustomObjectsApi(connection.api)

    def console_url(self) -> str | None:
        """The web console's address: ConfigMap openshift-config-managed/console-public, key consoleURL."""
        return self._config_map("console-public", "consoleURL")

    def oauth_ca(self) -> str | None:
        """The CA that signs the OAuth server's certificate (openshift-config-managed/oauth-serving-cert)."""
        return self._config_map("oauth-serving-cert", "ca-bundle.crt")

    def api_server_url(self) -> str | None:
        """The API address for `oc login`: Infrastructure/cluster status.apiServerURL."""
        try:
            infrastructure = self.connection.call(self.objects.get_cluster_custom_object,
                                                  "config.openshift.io", "v1", "infrastructures", "cluster")
        except (ApiException, StoreUnavailable) as error:
            log.info("event=discovery_unavailable object=infrastructures/cluster cause=%r", why(error))
            return None
        return (infrastructure.get("status") or {}).get("apiServerURL") or None

    def route_url(self, namespace: str | None, name: str) -> str | None:
        """The address of a Route of the app's namespace (read by name): https when it has TLS."""
        if not namespace:
            return None
        try:
            route = self.connection.call(self.objects.get_namespaced_custom_object,
                                         "route.openshift.io", "v1", namespace, "routes", name)
        except (ApiException, StoreUnavailable) as error:
            log.info("event=discovery_unavailable object=routes/%s cause=%r", name, why(error))
            return None
        spec = route.get("spec") or {}
        host = spec.get("host") or next((i.get("host") for i in (route.get("status") or {}).get("ingress") or []
                                         if i.get("host")), None)
        if not host:
            return None
        return f"{'https' if spec.get('tls') else 'http'}://{host}{spec.get('path') or ''}".rstrip("/")

    def _config_map(self, name: str, key: str) -> str | None:
        try:
            config_map = self.connection.call(self.core.read_namespaced_config_map, name, "openshift-config-managed")
        except (ApiException, StoreUnavailable) as error:
            log.info("event=discovery_unavailable object=configmaps/%s cause=%r", name, why(error))
            return None
        return (config_map.data or {}).get(key) or None



class OAuthRollout:
    """The OAuth server's Deployment (openshift-authentication/oauth-openshift), read by name, read-only.

    Where it cannot be read (plain Kubernetes, the right not granted), what is seen says why.
    """

    NAMESPACE, NAME = "openshift-authentication", "oauth-openshift"

    def __init__(self, connection: Connection):
        self.connection = connection
        self.apps = client.AppsV1Api(connection.api)

    def observe(self) -> OAuthServer:
        """What the Deployment says now: its generation and whether it is rolling out."""
        try:
            response = self.connection.call(self.apps.read_namespaced_deployment, self.NAME, self.NAMESPACE,
                                            _preload_content=False)
            seen = OAuthServer.from_deployment(json.loads(response.data))
        except ApiException as error:
            seen = OAuthServer.unseen(self._why(error))
        except StoreUnavailable as error:
            seen = OAuthServer.unseen(error.cause)
        return seen

    def _why(self, error: ApiException) -> str:
        where = f"deployment {self.NAMESPACE}/{self.NAME}"
        if error.status == 404:
            return f"the {where} does not exist (not OpenShift, or another version)"
        if error.status in (401, 403):
            return (f"the service account may not get the {where} (HTTP {error.status}); apply the Role from "
                    "openshift/ (oc apply -k openshift/)")
        return f"the Kubernetes API failed to get the {where} (HTTP {error.status})"
