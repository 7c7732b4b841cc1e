"""OpenShift's own objects: the attendees' Users and Identities, the addresses attendees need, and the
OAuth server's Deployment, whose rollouts decide when the htpasswd Secret may be written."""

from __future__ import annotations

import json
import logging

from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection, why
from app.errors import PermissionDenied, StoreUnavailable
from app.rollout import OAuthServer

log = logging.getLogger(__name__)


class UserDirectory:
    """OpenShift's User and Identity objects, which the app may delete only when the deployment grants it."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.objects = client.CustomObjectsApi(connection.api)

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
                    f"the service account may not delete {plural} (HTTP {error.status}); see the README "
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
