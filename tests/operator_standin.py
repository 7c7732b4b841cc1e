"""A STAND-IN for OpenShift's authentication operator (and, for one Deployment, the Deployment controller),
which cannot run here. It behaves as their sources say, in what the app can observe:

- The cluster-authentication-operator (pkg/controllers/deployment/) watches the htpasswd Secret. On each
  change it syncs the Secret into openshift-authentication and writes a hash of the synced Secrets'
  resourceVersions into the `oauth-openshift` Deployment's pod template (annotation
  `operator.openshift.io/rvs-hash`), so `metadata.generation` moves: every write starts a rollout.
- The Deployment controller then rolls the pods out with maxUnavailable = max(control-plane nodes - 1, 1)
  and maxSurge = control-plane nodes (set by the operator): while it does, `status.updatedReplicas` and
  `availableReplicas` are below `spec.replicas` and old pods remain (`status.replicas` above updated).
  No controller-manager runs on the test API server, so this stand-in reports that status itself
  through the status subresource, for `rollout_seconds`, then reports the rollout complete.
- A change during a rollout starts a new one that supersedes it (the new template replaces the old).
- Only a completed rollout serves its Secret's logins (`served()`); the OAuth stand-in asks that. (On a
  real cluster the kubelet also refreshes the mounted file in running pods sooner; ignoring that makes
  the stand-in the pessimistic case.)
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import threading
import time

from kubernetes import client, watch

NAMESPACE, NAME = "openshift-authentication", "oauth-openshift"
RVS_HASH = "operator.openshift.io/rvs-hash"


@dataclasses.dataclass
class Rollout:
    """One rollout the stand-in started: when, why (the Secret's resourceVersion), and how it ended."""

    started: float
    generation: int
    version: str
    content: bytes = dataclasses.field(repr=False)
    finished: float | None = None
    superseded: bool = False


class OperatorStandIn:
    """Watches one htpasswd Secret and rolls out `oauth-openshift` after each change, as described above."""

    def __init__(self, kube, secret_name: str, rollout_seconds: float, nodes: int = 1, react_seconds: float = 0.0):
        self.api = kube.admin()
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.secret_name = secret_name
        self.rollout_seconds = rollout_seconds
        self.nodes = nodes
        self.react_seconds = react_seconds
        self.rollouts: list[Rollout] = []
        self.writes: list[float] = []  # when each change of the Secret was seen (monotonic seconds)
        self._served = b""
        self._lock = threading.Lock()
        self._watch = watch.Watch()
        self._stopped = threading.Event()
        kube.ensure_namespace(NAMESPACE)

    # --- The objects ----------------------------------------------------------------------------------

    def start(self) -> OperatorStandIn:
        """Create the Deployment (rolled out), then follow the Secret from its current version."""
        with contextlib.suppress(client.ApiException):
            self.apps.delete_namespaced_deployment(NAME, NAMESPACE)
        self.apps.create_namespaced_deployment(NAMESPACE, {
            "metadata": {"name": NAME},
            "spec": {"replicas": self.nodes, "selector": {"matchLabels": {"app": NAME}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": max(self.nodes - 1, 1), "maxSurge": self.nodes}},
                     "template": {"metadata": {"labels": {"app": NAME}, "annotations": {RVS_HASH: "initial"}},
                                  "spec": {"containers": [{"name": "oauth-openshift", "image": "oauth-server"}]}}}})
        self._report(self._generation(), done=True)
        secret = self.core.read_namespaced_secret(self.secret_name, "openshift-config")
        self._served = _content(secret)
        threading.Thread(target=self._follow, args=(secret.metadata.resource_version,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop following, and delete the Deployment (one per cluster: the next test starts without it)."""
        self._stopped.set()
        self._watch.stop()
        with contextlib.suppress(client.ApiException):
            self.apps.delete_namespaced_deployment(NAME, NAMESPACE)

    def served(self) -> bytes:
        """The htpasswd content the OAuth pods serve: the Secret as of the last completed rollout."""
        with self._lock:
            return self._served

    @property
    def superseded(self) -> int:
        return sum(r.superseded for r in self.rollouts)

    def in_progress(self) -> bool:
        with self._lock:
            return bool(self.rollouts) and self.rollouts[-1].finished is None and not self.rollouts[-1].superseded

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no rollout is in progress."""
        deadline = time.monotonic() + timeout
        while self.in_progress():
            if time.monotonic() > deadline:
                raise AssertionError("the OAuth rollout did not complete")
            time.sleep(0.05)

    # --- The operator's part ----------------------------------------------------------------------------

    def _follow(self, version: str) -> None:
        while not self._stopped.is_set():
            try:
                for event in self._watch.stream(self.core.list_namespaced_secret, "openshift-config",
                                                field_selector=f"metadata.name={self.secret_name}",
                                                resource_version=version, timeout_seconds=60):
                    secret = event["object"]
                    version = secret.metadata.resource_version
                    if event["type"] == "MODIFIED":
                        self._changed(secret)
            except Exception:  # the API server was restarted by a fault test: watch again from where we were
                if self._stopped.wait(0.5):
                    return

    def _changed(self, secret) -> None:
        self.writes.append(time.monotonic())
        if self.react_seconds:
            time.sleep(self.react_seconds)
        version = secret.metadata.resource_version
        rvs = hashlib.sha512(f"secrets:{self.secret_name}:{version}".encode()).hexdigest()[:43]
        try:
            deployment = self.apps.patch_namespaced_deployment(NAME, NAMESPACE, {
                "spec": {"template": {"metadata": {"annotations": {RVS_HASH: rvs}}}}})
        except client.ApiException:  # the Deployment was deleted (a fault test): nothing rolls out
            return
        rollout = Rollout(time.monotonic(), deployment.metadata.generation, version, _content(secret))
        with self._lock:
            if self.rollouts and self.rollouts[-1].finished is None and not self.rollouts[-1].superseded:
                self.rollouts[-1].superseded = True
            self.rollouts.append(rollout)
        self._report(rollout.generation, done=False)
        threading.Timer(self.rollout_seconds, self._complete, args=(rollout,)).start()

    def _complete(self, rollout: Rollout) -> None:
        with self._lock:
            if rollout.superseded or self._stopped.is_set():
                return
            rollout.finished = time.monotonic()
            self._served = rollout.content
        self._report(rollout.generation, done=True)

    # --- The Deployment controller's part: the status ----------------------------------------------------

    def _generation(self) -> int:
        return self.apps.read_namespaced_deployment(NAME, NAMESPACE).metadata.generation

    def _report(self, generation: int, done: bool) -> None:
        nodes = self.nodes
        unavailable = max(nodes - 1, 1)
        status = ({"observedGeneration": generation, "replicas": nodes, "updatedReplicas": nodes,
                   "readyReplicas": nodes, "availableReplicas": nodes} if done else
                  {"observedGeneration": generation, "replicas": nodes + nodes, "updatedReplicas": 0,
                   "readyReplicas": max(nodes - unavailable, 0), "availableReplicas": max(nodes - unavailable, 0)})
        deadline = time.monotonic() + 60
        while not self._stopped.is_set() and time.monotonic() < deadline:
            try:  # as a controller does: until the API server takes it (a fault test may have stopped it)
                self.apps.patch_namespaced_deployment_status(NAME, NAMESPACE, {"status": status})
                return
            except client.ApiException:
                return  # the Deployment was deleted (a fault test): nothing to report
            except Exception:
                self._stopped.wait(0.2)


def _content(secret) -> bytes:
    return base64.b64decode((secret.data or {}).get("htpasswd", ""))


def outage_seconds(rollouts: list[Rollout], unavailable_seconds: float) -> float:
    """The time a single-node cluster serves no login: each rollout takes its one OAuth pod away for
    `unavailable_seconds` from its start (overlapping outages counted once)."""
    total, end = 0.0, float("-inf")
    for start in sorted(r.started for r in rollouts):
        stop = start + unavailable_seconds
        total += max(0.0, stop - max(start, end))
        end = max(end, stop)
    return total
