"""A real Kubernetes API server for the tests: etcd and kube-apiserver on loopback, RBAC on.

Built from Go modules by hack/build-test-cluster.sh (cached). No controller-manager runs: namespaces
never finish terminating and Deployments create no Pods, so tests use fresh names. The OpenShift CRDs
(OAuth, Route, the config kinds) come from openshift/api; BuildConfig, ImageStream, User, Identity,
Group and OAuthAccessToken are aggregated APIs on OpenShift with no published CRDs, so
tests/crds/standins.yaml defines permissive stand-ins for them.

By hand (prints how to point kubectl at it):  make cluster   or   python -m tests.kube
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml
from kubernetes import client, utils

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
STANDINS = Path(__file__).parent / "crds" / "standins.yaml"
KUBECTL = Path(ROOT / ".venv" / "bin" / "kubectl")
USERS = ("instructor", "squatter", "attendee")  # people with logins (see TestCluster.user_kubeconfig)


class BuildError(RuntimeError):
    """The test cluster's binaries could not be built (the message says what to install)."""


def build() -> Path:
    """Build (or find cached) kube-apiserver, etcd and the CRDs; return the cache folder."""
    result = subprocess.run([str(ROOT / "hack" / "build-test-cluster.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"hack/build-test-cluster.sh failed:\n{result.stderr.strip()[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


class TestCluster:
    """etcd + kube-apiserver in a temporary folder, with an admin token and a kubeconfig."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, cache: Path, workdir: Path):
        self.bin = cache / "bin"
        self.crds = next(cache.glob("crds-*"))
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        # People, as OpenShift's OAuth server makes them: users in system:authenticated:oauth, which may
        # request projects (self-provisioner). Their tokens: `user_kubeconfig(name)`.
        self.user_tokens = {name: secrets.token_hex(16) for name in USERS}
        self._project_api = None
        self.etcd_port, self.peer_port, self.port = free_port(), free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca_file = workdir / "ca.crt"
        self.kubeconfig = workdir / "kubeconfig"
        self.etcd: subprocess.Popen | None = None
        self.apiserver: subprocess.Popen | None = None

    def start(self) -> None:
        """Start etcd and the API server, then install the CRDs and the openshift-config namespace."""
        (self.workdir / "certs").mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "genrsa", "-out", str(self.workdir / "sa.key"), "2048"], check=True,
                       capture_output=True)
        (self.workdir / "tokens.csv").write_text(f"{self.token},admin,admin-uid,system:masters\n" + "".join(
            f'{token},{name},{name}-uid,"system:authenticated:oauth"\n' for name, token in self.user_tokens.items()))
        self.etcd = subprocess.Popen(
            [str(self.bin / "etcd"), "--data-dir", str(self.workdir / "etcd"),
             "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-cluster", f"default=http://127.0.0.1:{self.peer_port}",
             "--unsafe-no-fsync", "--log-level", "warn"],
            stdout=open(self.workdir / "etcd.log", "ab"), stderr=subprocess.STDOUT,
        )
        self.start_apiserver()
        self._write_kubeconfig()
        self._install_crds()
        for namespace in ("openshift-config", "openshift-config-managed", "openshift-authentication"):
            self.ensure_namespace(namespace)
        self._install_openshift_roles()
        self.aggregate_roles()

    def start_apiserver(self, timeout: float = 90) -> None:
        """Start (or restart) the API server on the same port, certificates and etcd."""
        self.apiserver = subprocess.Popen(
            [str(self.bin / "kube-apiserver"),
             "--etcd-servers", f"http://127.0.0.1:{self.etcd_port}",
             "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
             "--secure-port", str(self.port), "--cert-dir", str(self.workdir / "certs"),
             "--service-cluster-ip-range", "10.0.0.0/24",
             "--service-account-issuer", "https://kubernetes.default.svc",
             "--service-account-key-file", str(self.workdir / "sa.key"),
             "--service-account-signing-key-file", str(self.workdir / "sa.key"),
             "--authorization-mode", "RBAC", "--token-auth-file", str(self.workdir / "tokens.csv"),
             "--disable-admission-plugins", "ServiceAccount",
             "--endpoint-reconciler-type", "none"],
            stdout=open(self.workdir / "apiserver.log", "ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.apiserver.poll() is not None:
                log = (self.workdir / "apiserver.log").read_text()[-2000:]
                raise RuntimeError(f"kube-apiserver exited with {self.apiserver.returncode}:\n{log}")
            if (self.workdir / "certs" / "apiserver.crt").exists():
                self._extract_ca()
                with contextlib.suppress(requests.RequestException):
                    response = requests.get(f"{self.url}/readyz", verify=str(self.ca_file), timeout=2,
                                            headers={"Authorization": f"Bearer {self.token}"})
                    if response.status_code == 200:
                        return
            time.sleep(0.25)
        raise TimeoutError("kube-apiserver did not become ready")

    def stop_apiserver(self, how: int = signal.SIGTERM) -> None:
        """Stop (or, with SIGKILL, kill) the API server; etcd keeps the data, as in an outage."""
        if self.apiserver and self.apiserver.poll() is None:
            self.apiserver.send_signal(how)
            try:
                self.apiserver.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.apiserver.kill()
                self.apiserver.wait()

    def stop(self) -> None:
        if self._project_api is not None:
            self._project_api.stop()
        self.stop_apiserver()
        if self.etcd and self.etcd.poll() is None:
            self.etcd.terminate()
            self.etcd.wait(timeout=30)

    def admin(self) -> client.ApiClient:
        """An API client with the admin (system:masters) token."""
        configuration = client.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self.ca_file)
        configuration.api_key = {"BearerToken": f"Bearer {self.token}"}
        return client.ApiClient(configuration)

    def ensure_namespace(self, name: str) -> None:
        with contextlib.suppress(client.ApiException):
            client.CoreV1Api(self.admin()).create_namespace({"metadata": {"name": name}})

    def service_account_dir(self, namespace: str, name: str, folder: Path) -> Path:
        """A pod's service-account folder (token from the TokenRequest API, ca.crt, namespace)."""
        core = client.CoreV1Api(self.admin())
        with contextlib.suppress(client.ApiException):
            core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        request = core.create_namespaced_service_account_token(
            name, namespace, {"spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 7200}})
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(request.status.token)
        shutil.copy(self.ca_file, folder / "ca.crt")
        (folder / "namespace").write_text(namespace)
        return folder

    def pod_env(self, sa_dir: Path, projects: bool = False) -> dict[str, str]:
        """The environment the app sees in a pod: the service host and port, the token folder. With
        `projects`, the API is reached through the project API's stand-in (tests/projects_standin.py)."""
        port = self.project_api().port if projects else self.port
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port),
                "SERVICE_ACCOUNT_DIR": str(sa_dir), "CLUSTER_SYNC": "auto"}

    def project_api(self):
        """The stand-in for OpenShift's project API in front of this server, started on first use."""
        from tests.projects_standin import ProjectAPIStandIn

        if self._project_api is None:
            self._project_api = ProjectAPIStandIn(self)
        return self._project_api

    def kubeconfig_for(self, sa_dir: Path, path: Path, projects: bool = False) -> Path:
        """A kubeconfig that authenticates with a service account's token (for kubectl as that account)."""
        url = self.project_api().url if projects else self.url
        path.write_text(yaml.safe_dump(_kubeconfig(url, self.ca_file, (sa_dir / "token").read_text())))
        return path

    def user_kubeconfig(self, name: str, path: Path, projects: bool = False) -> Path:
        """A kubeconfig for one of USERS, a person logged in (system:authenticated:oauth)."""
        url = self.project_api().url if projects else self.url
        path.write_text(yaml.safe_dump(_kubeconfig(url, self.ca_file, self.user_tokens[name])))
        return path

    def kubectl(self, *args: str, kubeconfig: Path | None = None, check: bool = True, input: str | None = None):
        return subprocess.run([str(KUBECTL), *args], capture_output=True, text=True, check=check, input=input,
                              env=dict(os.environ, KUBECONFIG=str(kubeconfig or self.kubeconfig)))

    def aggregate_roles(self) -> None:
        """Fill the aggregated ClusterRoles (admin, edit, view, …) as kube-controller-manager's
        clusterrole-aggregation controller does: each takes the rules of every ClusterRole its
        aggregationRule selects (sorted by name, duplicates dropped). `view` is labelled to aggregate into
        `edit`, and `edit` into `admin`, so this repeats until nothing changes. No controller runs here:
        without this, `admin` and `edit` are empty and every `auth can-i --as` an instructor says "no"."""
        rbac = client.RbacAuthorizationV1Api(self.admin())
        for _ in range(10):
            roles = {role.metadata.name: role for role in rbac.list_cluster_role().items}
            changed = False
            for role in roles.values():
                if not (role.aggregation_rule and role.aggregation_rule.cluster_role_selectors):
                    continue
                rules = []
                for name in sorted(roles):
                    other = roles[name]
                    labels = other.metadata.labels or {}
                    if name != role.metadata.name and any(
                            (selector.match_labels or {}).items() <= labels.items()
                            for selector in role.aggregation_rule.cluster_role_selectors):
                        rules += [rule for rule in other.rules or [] if rule not in rules]
                if rules != (role.rules or []):
                    role.rules = rules
                    rbac.replace_cluster_role(role.metadata.name, role)
                    changed = True
            if not changed:
                return
        raise RuntimeError("the aggregated ClusterRoles did not settle")

    def _install_openshift_roles(self) -> None:
        """STAND-INS for the ClusterRoles openshift-apiserver adds (pkg/bootstrappolicy/policy.go), with
        their real names, labels and the rules about projects: `admin` may get, update, patch and delete
        its project, `edit` and `view` get it; `self-provisioner` may request projects (bound to nobody
        here). Only these rules: the rest of OpenShift's additions concern APIs this server lacks."""
        rbac = client.RbacAuthorizationV1Api(self.admin())
        projects = {"apiGroups": ["project.openshift.io", ""], "resources": ["projects"]}
        roles = [("system:openshift:aggregate-to-admin", "admin", [dict(projects, verbs=["get", "patch", "update",
                                                                                         "delete"])]),
                 ("system:openshift:aggregate-to-edit", "edit", [dict(projects, verbs=["get"])]),
                 ("system:openshift:aggregate-to-view", "view", [dict(projects, verbs=["get"])]),
                 ("self-provisioner", None, [{"apiGroups": ["project.openshift.io", ""],
                                              "resources": ["projectrequests"], "verbs": ["create"]}])]
        stand_in = {"workshop-registration/stand-in": "true"}
        for name, into, rules in roles:
            labels = {f"rbac.authorization.k8s.io/aggregate-to-{into}": "true"} if into else {}
            with contextlib.suppress(client.ApiException):
                rbac.create_cluster_role({"metadata": {"name": name, "labels": labels, "annotations": stand_in},
                                          "rules": rules})
        with contextlib.suppress(client.ApiException):  # OpenShift's default: every person may request projects
            rbac.create_cluster_role_binding({
                "metadata": {"name": "self-provisioners", "annotations": stand_in},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "self-provisioner"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                              "name": "system:authenticated:oauth"}]})

    def _extract_ca(self) -> None:
        # apiserver.crt holds the serving certificate and then the self-signed CA that issued it.
        pem = (self.workdir / "certs" / "apiserver.crt").read_text()
        blocks = [b + "-----END CERTIFICATE-----\n" for b in pem.split("-----END CERTIFICATE-----") if b.strip()]
        self.ca_file.write_text(blocks[-1].lstrip())

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(yaml.safe_dump(_kubeconfig(self.url, self.ca_file, self.token)))

    def _install_crds(self) -> None:
        api = self.admin()
        documents = []
        for path in sorted(self.crds.glob("*.yaml")) + [STANDINS]:
            documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
        for document in documents:
            with contextlib.suppress(utils.FailToCreateError):
                utils.create_from_dict(api, document)
        extensions = client.ApiextensionsV1Api(api)
        deadline = time.monotonic() + 60
        for document in documents:
            name = document["metadata"]["name"]
            while True:
                crd = extensions.read_custom_resource_definition(name)
                if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"CRD {name} not established")
                time.sleep(0.1)


def _kubeconfig(url: str, ca_file: Path, token: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority-data":
                                                   base64.b64encode(ca_file.read_bytes()).decode()}}],
        "users": [{"name": "test", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }


def main() -> None:
    """Start the test cluster by hand and keep it running until Ctrl-C."""
    cache = build()
    workdir = Path(tempfile.mkdtemp(prefix="test-cluster-"))
    cluster = TestCluster(cache, workdir)
    cluster.start()
    print(f"kube-apiserver at {cluster.url} (logs in {workdir})")
    print(f"  export KUBECONFIG={cluster.kubeconfig}")
    print("  kubectl get crds        # Ctrl-C stops it")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the servers on kill too, not only Ctrl-C
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
