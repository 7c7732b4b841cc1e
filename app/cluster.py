"""The Kubernetes API: the only module that imports the kubernetes client.

Credentials come from the pod's service-account token (re-read as it rotates) or, outside a pod, from
KUBECONFIG. Secrets are read and replaced as raw JSON, so keys, labels and fields this app does not know
are written back unchanged. API failures are translated here, once, into the app's store errors, with
the fix named where there is one.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timezone

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from app.errors import Conflict, PermissionDenied, SettingsError, StoreUnavailable
from app.files import Snapshot
from app.settings import Settings

log = logging.getLogger(__name__)
WRITTEN_AT = "workshop-registration/written-at"  # annotation: when this app last wrote the Secret
TIMEOUT = (3.0, 10.0)  # connect, read (seconds) for every API call


def make_client(settings: Settings) -> client.CoreV1Api:
    """A CoreV1Api for the pod's service account, or for KUBECONFIG outside a pod."""
    configuration = client.Configuration()
    sa_dir = settings.service_account_dir
    try:
        if (sa_dir / "token").is_file():
            config.incluster_config.InClusterConfigLoader(
                token_filename=str(sa_dir / "token"), cert_filename=str(sa_dir / "ca.crt")
            ).load_and_set(configuration)
        else:
            config.load_kube_config(client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError) as error:
        raise SettingsError(
            f"CLUSTER_SYNC is on but no Kubernetes credentials were found ({error}); "
            "run in a pod with a service account, set KUBECONFIG, or set CLUSTER_SYNC=off"
        ) from error
    configuration.retries = False  # the committer retries with its own deadline and backoff
    return client.CoreV1Api(client.ApiClient(configuration))


class SecretDocument:
    """One data key of one Secret as a versioned document (the resourceVersion is the version)."""

    def __init__(self, api: client.CoreV1Api, namespace: str, name: str, key: str):
        self.api = api
        self.namespace = namespace
        self.name = name
        self.key = key
        self.label = f"secret {namespace}/{name}"

    def read(self) -> Snapshot:
        """The key's content, the Secret's resourceVersion and when this app last wrote it."""
        response = self._call(
            "get", self.api.read_namespaced_secret, self.name, self.namespace, _preload_content=False
        )
        secret = json.loads(response.data)
        return self._snapshot(secret)

    def write(self, base: Snapshot, content: bytes) -> Snapshot:
        """Replace the key's content, carrying the resourceVersion read; Conflict if it moved on."""
        secret = json.loads(json.dumps(base.source))  # a copy: the snapshot stays as it was read
        secret.setdefault("data", {})[self.key] = base64.b64encode(content).decode("ascii")
        metadata = secret["metadata"]
        metadata.setdefault("annotations", {})[WRITTEN_AT] = datetime.now(timezone.utc).isoformat()
        metadata.pop("managedFields", None)
        response = self._call(
            "update", self.api.replace_namespaced_secret, self.name, self.namespace, secret, _preload_content=False
        )
        return self._snapshot(json.loads(response.data))

    def _snapshot(self, secret: dict) -> Snapshot:
        data = secret.get("data") or {}
        content = base64.b64decode(data.get(self.key, ""))
        metadata = secret.get("metadata", {})
        written_at = None
        stamp = (metadata.get("annotations") or {}).get(WRITTEN_AT)
        if stamp:
            try:
                written_at = datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                written_at = None
        return Snapshot(content, metadata.get("resourceVersion", ""), written_at, source=secret)

    def _call(self, verb: str, method, *args, **kwargs):
        try:
            return method(*args, _request_timeout=TIMEOUT, **kwargs)
        except ApiException as error:
            raise self._translate(verb, error) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise StoreUnavailable(f"the Kubernetes API is unreachable ({type(error).__name__})") from None

    def _translate(self, verb: str, error: ApiException) -> Exception:
        status = error.status or 0
        if status == 409:
            return Conflict(f"{self.label} changed since it was read")
        if status == 404:
            return StoreUnavailable(
                f"{self.label} does not exist; create it (see the README: oc create secret generic "
                f"{self.name} -n {self.namespace} --from-literal={self.key}=)"
            )
        if status in (401, 403):
            return StoreUnavailable(
                f"the service account may not {verb} {self.label} (HTTP {status}); "
                "apply the Role and RoleBinding from openshift/ (oc apply -k openshift/)"
            )
        if status == 422:
            return StoreUnavailable(f"the API refused to {verb} {self.label} (HTTP 422 Invalid)")
        return StoreUnavailable(f"the Kubernetes API failed to {verb} {self.label} (HTTP {status})")


class UserDirectory:
    """OpenShift's User and Identity objects, which the app may delete only when the deployment grants it."""

    def __init__(self, api: client.CoreV1Api):
        self.objects = client.CustomObjectsApi(api.api_client)

    def delete_user(self, name: str) -> bool:
        """Delete a User; True when deleted, False when there was none."""
        return self._delete("users", name)

    def delete_identity(self, name: str) -> bool:
        """Delete an Identity (named `<identity provider>:<username>`); False when there was none."""
        return self._delete("identities", name)

    def _delete(self, plural: str, name: str) -> bool:
        try:
            self.objects.delete_cluster_custom_object("user.openshift.io", "v1", plural, name,
                                                      _request_timeout=TIMEOUT)
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
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise StoreUnavailable(f"the Kubernetes API is unreachable ({type(error).__name__})") from None


class ClusterInfo:
    """Addresses the attendee needs, read from the cluster when not configured (read-only, by name)."""

    def __init__(self, api: client.CoreV1Api):
        self.core = api
        self.objects = client.CustomObjectsApi(api.api_client)

    def console_url(self) -> str | None:
        """The web console's address: ConfigMap openshift-config-managed/console-public, key consoleURL."""
        return self._config_map("console-public", "consoleURL")

    def oauth_ca(self) -> str | None:
        """The CA that signs the OAuth server's certificate (openshift-config-managed/oauth-serving-cert)."""
        return self._config_map("oauth-serving-cert", "ca-bundle.crt")

    def api_server_url(self) -> str | None:
        """The API address for `oc login`: Infrastructure/cluster status.apiServerURL."""
        try:
            infrastructure = self.objects.get_cluster_custom_object(
                "config.openshift.io", "v1", "infrastructures", "cluster", _request_timeout=TIMEOUT)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.info("event=discovery_unavailable object=infrastructures/cluster cause=%r", _why(error))
            return None
        return (infrastructure.get("status") or {}).get("apiServerURL") or None

    def _config_map(self, name: str, key: str) -> str | None:
        try:
            config_map = self.core.read_namespaced_config_map(name, "openshift-config-managed",
                                                              _request_timeout=TIMEOUT)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.info("event=discovery_unavailable object=configmaps/%s cause=%r", name, _why(error))
            return None
        return (config_map.data or {}).get(key) or None


def _why(error: Exception) -> str:
    return f"HTTP {error.status}" if isinstance(error, ApiException) else type(error).__name__
