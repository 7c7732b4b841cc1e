"""openshift/ applied to the test cluster, the way a cluster admin would, plus helpers around it."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

import yaml
from kubernetes import client

from tests.helpers import wait_until
from tests.kube import KUBECTL, ROOT, TestCluster

NAMESPACE_LINE = "namespace: workshop-registration"


def render(namespace: str, folder: Path, components: tuple[str, ...] = ()) -> list[dict]:
    """Copy openshift/, change the namespace in its one place, render it.

    components (the names under openshift/extras/) are uncommented, as the README tells an admin to.
    """
    copy = folder / "openshift"
    shutil.copytree(ROOT / "openshift", copy)
    app = copy / "app" / "kustomization.yaml"
    assert app.read_text().count(NAMESPACE_LINE) == 1
    app.write_text(app.read_text().replace(NAMESPACE_LINE, f"namespace: {namespace}"))
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
        self.shared = False  # whether the htpasswd Secret holds lines the app did not add (create_htpasswd)
        self.core = client.CoreV1Api(kube.admin())

    @classmethod
    def apply(cls, kube: TestCluster, folder: Path, components: tuple[str, ...] = ()) -> Deployment:
        """openshift/ rendered for a fresh namespace and applied, as a cluster admin would."""
        deployment = cls.prepare(kube, folder, components)
        deployment.create()
        return deployment

    @classmethod
    def prepare(cls, kube: TestCluster, folder: Path, components: tuple[str, ...] = ()) -> Deployment:
        """openshift/ rendered for a fresh namespace, not applied yet (to set the cluster up before)."""
        namespace = f"workshop-{secrets.token_hex(3)}"
        objects = render(namespace, folder, components)
        return cls(kube, folder, namespace, f"workshop-registration-htpasswd.{namespace}", objects)

    def create(self) -> None:
        """`oc apply -k openshift/`, with strict validation."""
        result = self.kube.kubectl("apply", "--validate=strict", "-f", str(self.folder / "rendered.yaml"), check=False)
        assert result.returncode == 0, result.stderr

    def sa_dir(self, name: str = "workshop-registration") -> Path:
        """The app's service-account folder, as mounted in its pod."""
        return self.kube.service_account_dir(self.namespace, name, self.folder / f"sa-{name}")

    def app_env(self, data_dir: Path, projects: bool = False, **extra: str) -> dict[str, str]:
        """The environment of an app process running as the app's ServiceAccount (in-cluster loading);
        with `projects`, through the stand-in of OpenShift's project API (tests/projects_standin.py)."""
        env = self.kube.pod_env(self.sa_dir(), projects=projects)
        # Without a (stand-in) OAuth Deployment the app spaces its htpasswd writes by UNSEEN_ROLLOUT_INTERVAL:
        # 1 s here, for the tests that are not about rollouts (tests/operator_standin.py is for those).
        env.update({"DATA_DIR": str(data_dir), "HTPASSWD_SECRET_NAME": self.secret_name, "RATE_LIMIT": "off",
                    "BCRYPT_ROUNDS": "4", "REFRESH_INTERVAL": "1", "UNSEEN_ROLLOUT_INTERVAL": "1",
                    "HTPASSWD_SECRET_SHARED": "true" if self.shared else "false"})
        env.update(extra)
        return env

    def create_htpasswd(self, content: bytes = b"", shared: bool | None = None) -> None:
        """The htpasswd Secret, as openshift/setup.sh makes it. With lines the app did not add (a person's,
        another tool's) it is a shared Secret, and the app is told so (HTPASSWD_SECRET_SHARED) unless
        `shared` says otherwise."""
        self.shared = bool(content) if shared is None else shared
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

    def cli(self, data_dir: Path, *args: str, projects: bool = False, **extra: str) -> subprocess.CompletedProcess:
        """`python -m app ...` as in `oc exec` into the app's pod (its environment, its account)."""
        import os
        import sys

        env = dict(os.environ, **self.app_env(data_dir, projects=projects, **extra))
        return subprocess.run([sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    def htpasswd_version(self) -> int:
        return int(self.core.read_namespaced_secret(self.secret_name, "openshift-config").metadata.resource_version)


SETUP = ROOT / "openshift" / "setup.sh"
# Another provider of the cluster's (a company's LDAP), beside which the event's must be added and removed.
LDAP = {"name": "corp-ldap", "mappingMethod": "claim", "type": "LDAP",
        "ldap": {"url": "ldap://ldap.example.com/ou=users,dc=example,dc=com?uid", "insecure": False,
                 "attributes": {"id": ["dn"], "preferredUsername": ["uid"]}, "bindDN": "",
                 "bindPassword": {"name": ""}, "ca": {"name": ""}}}


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


SHIPPED_GROUP = "workshop-attendees"  # ATTENDEE_GROUP as openshift/extras/attendee-group sets it


def deploy(kube, folder, group: str | None = None, components: tuple[str, ...] = ("attendee-group",)) -> Deployment:
    """openshift/ with these components applied for a fresh namespace; with `group`, ATTENDEE_GROUP changed
    first in its one place (the component's patch), as an admin would. Returns once the API server's
    authorizer knows the component's binding (it follows a new binding within moments, not at once)."""
    deployment = Deployment.prepare(kube, folder, components)
    if group:
        component = folder / "openshift" / "extras" / "attendee-group" / "kustomization.yaml"
        text = component.read_text()
        assert text.count(f"value: {SHIPPED_GROUP}\n") == 1
        component.write_text(text.replace(f"value: {SHIPPED_GROUP}\n", f"value: {group}\n"))
        rendered = kube.kubectl("kustomize", str(folder / "openshift")).stdout
        (folder / "rendered.yaml").write_text(rendered)
        deployment.objects = [d for d in yaml.safe_load_all(rendered) if d]
    deployment.create()
    if "attendee-group" in components:
        app = app_kubeconfig(deployment)
        wait_until(lambda: can_i(kube, app, "get", f"groups.user.openshift.io/{group or SHIPPED_GROUP}") == "yes")
    return deployment


def app_kubeconfig(deployment):
    return deployment.kube.kubeconfig_for(deployment.sa_dir(), deployment.folder / "app-kubeconfig")


def can_i(kube, kubeconfig, *args) -> str:
    return kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


OAUTH_TOKENS = ("oauth.openshift.io", "v1", "oauthaccesstokens")


def issue_tokens(api, *users: str) -> dict[str, str]:
    """What the OAuth server makes at each login: a token per user named (on the stand-in CRD, named
    `sha256-<hex>`: a custom resource's name cannot hold the real `sha256~`); {token name: userName}."""
    made = {}
    for user in users:
        name = f"sha256-{secrets.token_hex(16)}"
        api.create_cluster_custom_object(*OAUTH_TOKENS, {
            "apiVersion": "oauth.openshift.io/v1", "kind": "OAuthAccessToken", "metadata": {"name": name},
            "userName": user, "userUID": str(uuid.uuid4()), "clientName": "openshift-challenging-client",
            "scopes": ["user:full"], "expiresIn": 86400,
            "redirectURI": "https://oauth-openshift.apps.example.com/oauth/token/implicit"})
        made[name] = user
    return made


def token_names(api) -> dict[str, str]:
    """Every OAuth token there is: {token name: userName}."""
    return {item["metadata"]["name"]: item["userName"]
            for item in api.list_cluster_custom_object(*OAUTH_TOKENS)["items"]}
