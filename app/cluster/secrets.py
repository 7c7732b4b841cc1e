"""Secrets as the store's documents: one data key of one Secret, with the resourceVersion as its version.

Secrets are read and replaced as raw JSON, so keys, labels and fields this app does not know are written
back unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone

from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection
from app.documents import Snapshot
from app.errors import Conflict, StoreUnavailable

NOTES = "workshop-registration/"  # the prefix of this app's annotations on a Secret
WRITTEN_AT = NOTES + "written-at"  # annotation: when this app last wrote the Secret
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"  # the API server's metadata view


class SecretDocument:
    """One data key of one Secret as a versioned document (the resourceVersion is the version).

    Notes are kept as annotations under NOTES, so every replica reads what the last writer recorded.
    """

    def __init__(self, connection: Connection, namespace: str, name: str, key: str):
        self.connection = connection
        self.api = client.CoreV1Api(connection.api)
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

    def version(self) -> str:
        """The Secret's resourceVersion now, from its metadata alone (a small read, whatever its size)."""
        response = self._call("get", self.api.read_namespaced_secret, self.name, self.namespace,
                              _preload_content=False, _headers={"Accept": METADATA_ONLY})
        return json.loads(response.data).get("metadata", {}).get("resourceVersion", "")

    def write(self, base: Snapshot, content: bytes, notes: Mapping[str, str] | None = None) -> Snapshot:
        """Replace the key's content, carrying the resourceVersion read; Conflict if it moved on."""
        secret = json.loads(json.dumps(base.source))  # a copy: the snapshot stays as it was read
        secret.setdefault("data", {})[self.key] = base64.b64encode(content).decode("ascii")
        metadata = secret["metadata"]
        annotations = metadata.setdefault("annotations", {})
        annotations.update({NOTES + name: value for name, value in (notes or {}).items()})
        annotations[WRITTEN_AT] = datetime.now(timezone.utc).isoformat()
        metadata.pop("managedFields", None)
        response = self._call(
            "update", self.api.replace_namespaced_secret, self.name, self.namespace, secret, _preload_content=False
        )
        return self._snapshot(json.loads(response.data))

    def _snapshot(self, secret: dict) -> Snapshot:
        data = secret.get("data") or {}
        content = base64.b64decode(data.get(self.key, ""))
        metadata = secret.get("metadata", {})
        annotations = metadata.get("annotations") or {}
        notes = {name[len(NOTES):]: value for name, value in annotations.items() if name.startswith(NOTES)}
        written_at = None
        with contextlib.suppress(ValueError):
            written_at = datetime.fromisoformat(notes.pop("written-at", "")).timestamp()
        return Snapshot(content, metadata.get("resourceVersion", ""), written_at, notes, source=secret)

    def _call(self, verb: str, method, *args, **kwargs):
        try:
            return self.connection.call(method, *args, **kwargs)
        except ApiException as error:
            raise self._translate(verb, error) from None

    def _translate(self, verb: str, error: ApiException) -> Exception:
        status = error.status or 0
        if status == 409:
            return Conflict(f"{self.label} changed since it was read")
        if status == 404:
            return StoreUnavailable(
                f"{self.label} does not exist; create it (see docs/deploy.md: oc create secret generic "
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
