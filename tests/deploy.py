"""openshift/ applied to the test cluster, the way a cluster admin would, plus helpers around it."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
from pathlib import Path

import yaml
from kubernetes import client

from tests.kube import KUBECTL, ROOT, TestCluster

NAMESPACE_LINE = "namespace: workshop-registration"
SECRET_LINE = "HTPASSWD_SECRET_NAME: htpass-secret"


def render(namespace: str, secret_name: str, folder: Path, components: tuple[str, ...] = ()) -> list[dict]:
    """Copy openshift/, change the namespace and the Secret name in their one place each, render it.

    components (the names under openshift/extras/) are uncommented, as the README tells an admin to.
    """
    copy = folder / "openshift"
    shutil.copytree(ROOT / "openshift", copy)
    app = copy / "app" / "kustomization.yaml"
    settings = copy / "app" / "settings.yaml"
    assert app.read_text().count(NAMESPACE_LINE) == 1 and settings.read_text().count(SECRET_LINE) == 1
    app.write_text(app.read_text().replace(NAMESPACE_LINE, f"namespace: {namespace}"))
    settings.write_text(settings.read_text().replace(SECRET_LINE, f"HTPASSWD_SECRET_NAME: {secret_name}"))
    if components:
        top = copy / "kustomization.yaml"
        text = top.read_text().replace("# components:\n", "components:\n")
        for component in components:
            assert f"#   - extras/{component}\n" in text
            text = text.replace(f"#   - extras/{component}\n", f"  - extras/{component}\n")
        top.write_text(text)
    rendered = subprocess.run([str(KUBECTL), "kustomize", str(copy)], capture_output=True, text=True, check=True)
    (folder / "rendered.yaml").write_text(rendered.stdout)
    return [d for d in yaml.safe_load_all(rendered.stdout) if d]


class Deployment:
    """The app's objects in a fresh namespace of the test cluster."""

    def __init__(self, kube: TestCluster, folder: Path, namespace: str, secret_name: str, objects: list[dict]):
        self.kube = kube
        self.folder = folder
        self.namespace = namespace
        self.secret_name = secret_name
        self.objects = objects
        self.core = client.CoreV1Api(kube.admin())

    @classmethod
    def apply(cls, kube: TestCluster, folder: Path, components: tuple[str, ...] = ()) -> Deployment:
        suffix = secrets.token_hex(3)
        namespace, secret_name = f"workshop-{suffix}", f"htpass-{suffix}"
        objects = render(namespace, secret_name, folder, components)
        result = kube.kubectl("apply", "--validate=strict", "-f", str(folder / "rendered.yaml"), check=False)
        assert result.returncode == 0, result.stderr
        return cls(kube, folder, namespace, secret_name, objects)

    def sa_dir(self, name: str = "workshop-registration") -> Path:
        """The app's service-account folder, as mounted in its pod."""
        return self.kube.service_account_dir(self.namespace, name, self.folder / f"sa-{name}")

    def app_env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """The environment of an app process running as the app's ServiceAccount (in-cluster loading)."""
        env = self.kube.pod_env(self.sa_dir())
        # Without a (stand-in) OAuth Deployment the app spaces its htpasswd writes by UNSEEN_ROLLOUT_INTERVAL:
        # 1 s here, for the tests that are not about rollouts (tests/operator_standin.py is for those).
        env.update({"DATA_DIR": str(data_dir), "HTPASSWD_SECRET_NAME": self.secret_name, "RATE_LIMIT": "off",
                    "BCRYPT_ROUNDS": "4", "REFRESH_INTERVAL": "1", "UNSEEN_ROLLOUT_INTERVAL": "1"})
        env.update(extra)
        return env

    def create_htpasswd(self, content: bytes = b"") -> None:
        self.core.create_namespaced_secret("openshift-config", {
            "metadata": {"name": self.secret_name}, "type": "Opaque",
            "data": {"htpasswd": base64.b64encode(content).decode()}})

    def htpasswd(self) -> bytes:
        secret = self.core.read_namespaced_secret(self.secret_name, "openshift-config")
        return base64.b64decode((secret.data or {}).get("htpasswd", ""))

    def registrations(self) -> str:
        secret = self.core.read_namespaced_secret("workshop-registrations", self.namespace)
        return base64.b64decode((secret.data or {}).get("registrations.csv", "")).decode()

    def state_json(self) -> str:
        secret = self.core.read_namespaced_secret("workshop-registrations", self.namespace)
        return base64.b64decode((secret.data or {}).get("state.json", "")).decode()

    def cli(self, data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
        """`python -m app ...` as in `oc exec` into the app's pod (its environment, its account)."""
        import os
        import sys

        env = dict(os.environ, **self.app_env(data_dir, **extra))
        return subprocess.run([sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    def htpasswd_version(self) -> int:
        return int(self.core.read_namespaced_secret(self.secret_name, "openshift-config").metadata.resource_version)


def set_oauth(kube, providers: list[dict] | None) -> None:
    """OAuth/cluster with these identity providers (None: no identityProviders field at all)."""
    api = client.CustomObjectsApi(kube.admin())
    spec = {} if providers is None else {"identityProviders": providers}
    body = {"apiVersion": "config.openshift.io/v1", "kind": "OAuth", "metadata": {"name": "cluster"}, "spec": spec}
    try:
        current = api.get_cluster_custom_object("config.openshift.io", "v1", "oauths", "cluster")
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        api.replace_cluster_custom_object("config.openshift.io", "v1", "oauths", "cluster", body)
    except client.ApiException as error:
        if error.status != 404:
            raise
        api.create_cluster_custom_object("config.openshift.io", "v1", "oauths", body)
