"""The deploy's rights against the people who hold them, on the real API server with the aggregated roles.

Two facts of OpenShift frame every test here (docs/security.md): whoever is `admin` (or `edit`) in the
app's namespace — the instructors — holds the app's token (they may create tokens for its ServiceAccount
or act as it), and any person may request a project of any free name (self-provisioner). So whatever the
app's account may do, an instructor may do; and no right may go to an account in a namespace that a
person could have created before the admin applied openshift/.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
import yaml
from kubernetes import client

from app.settings import Settings
from tests.deploy import Deployment
from tests.helpers import API, degraded, person, published_in_secret, wait_until
from tests.kube import KUBECTL, ROOT
from tests.servers import gunicorn

pytestmark = pytest.mark.cluster
EVERY_COMPONENT = ("remove-users", "existing-users", "projects")


def can_i(kube, kubeconfig, *args) -> str:
    return kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


def bind(kube, namespace: str, user: str, role: str = "admin") -> None:
    """What a cluster admin does to make someone an instructor: `oc adm policy add-role-to-user admin`."""
    client.RbacAuthorizationV1Api(kube.admin()).create_namespaced_role_binding(namespace, {
        "metadata": {"generateName": f"{role}-"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


def token_as(kube, kubeconfig, namespace: str, account: str, folder) -> object:
    """`oc create token <account>` run by the holder of kubeconfig; a kubeconfig with that token."""
    made = kube.kubectl("create", "token", account, "-n", namespace, kubeconfig=kubeconfig, check=False)
    assert made.returncode == 0, made.stderr
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(made.stdout.strip())
    return kube.kubeconfig_for(folder, folder / "kubeconfig")


def request_project(kube, kubeconfig, name: str) -> None:
    """`oc new-project <name>` as the holder of kubeconfig (through the project API's stand-in)."""
    body = {"apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest", "metadata": {"name": name}}
    made = kube.kubectl("create", "--raw", "/apis/project.openshift.io/v1/projectrequests", "-f", "-",
                        kubeconfig=kubeconfig, check=False, input=json.dumps(body))
    assert made.returncode == 0, made.stderr


def test_an_instructor_holds_the_apps_token(kube, tmp_path):
    """The premise: with the roles aggregated as on a real cluster, `admin` in the app's namespace may
    mint the app's token (without aggregation `admin` is empty and this would falsely fail)."""
    deployment = Deployment.apply(kube, tmp_path)
    bind(kube, deployment.namespace, "instructor")
    instructor = kube.user_kubeconfig("instructor", tmp_path / "instructor")
    assert can_i(kube, instructor, "create", "serviceaccounts/token", "-n", deployment.namespace) == "yes"
    assert can_i(kube, instructor, "impersonate", "serviceaccounts", "-n", deployment.namespace) == "yes"
    app = token_as(kube, instructor, deployment.namespace, "workshop-registration", tmp_path / "as-app")
    assert can_i(kube, app, "update", "secrets/workshop-registrations", "-n", deployment.namespace) == "yes"


def test_with_every_component_the_apps_token_reaches_nothing_outside_the_event(kube, tmp_path):
    """The chain that made an instructor cluster-admin: bind `admin` to oneself in openshift-config or
    kube-system with the app's token, act there as a controller account that may escalate ClusterRoles,
    widen the app's own ClusterRole. Every step is refused, and so is deleting a namespace not the event's."""
    deployment = Deployment.apply(kube, tmp_path, EVERY_COMPONENT)
    bind(kube, deployment.namespace, "instructor")
    instructor = kube.user_kubeconfig("instructor", tmp_path / "instructor")
    app = token_as(kube, instructor, deployment.namespace, "workshop-registration", tmp_path / "as-app")
    for namespace in ("kube-system", "openshift-config", "default"):
        assert can_i(kube, app, "create", "rolebindings", "-n", namespace) == "no", namespace
        assert can_i(kube, app, "create", "resourcequotas", "-n", namespace) == "no", namespace
        assert can_i(kube, app, "delete", "namespaces/" + namespace) == "no", namespace
        # OpenShift authorizes a project by its own namespace (the request-info resolver), hence -n.
        assert can_i(kube, app, "delete", f"projects.project.openshift.io/{namespace}", "-n", namespace) == "no"
    for right in [("bind", "clusterroles/admin"), ("bind", "clusterroles/cluster-admin"),
                  ("escalate", "clusterroles"), ("create", "clusterrolebindings"), ("update", "clusterroles"),
                  ("impersonate", "users"), ("impersonate", "serviceaccounts", "-A"), ("create", "namespaces"),
                  ("create", "serviceaccounts/token", "-n", "kube-system"), ("update", "secrets", "-A"),
                  ("update", "secrets/htpass-secret", "-n", "openshift-config")]:
        assert can_i(kube, app, *right) == "no", right

    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "instructor-admin", "namespace": "kube-system"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "instructor"}]}
    attempt = kube.kubectl("create", "-f", "-", kubeconfig=app, check=False, input=yaml.safe_dump(binding))
    assert attempt.returncode != 0 and "forbidden" in attempt.stderr.lower(), attempt.stdout
    assert can_i(kube, instructor, "create", "serviceaccounts/token", "-n", "kube-system") == "no"


def test_the_default_htpasswd_secret_is_the_events_own(tmp_path):
    """`htpass-secret` is where OpenShift's docs put the cluster admins' own logins: by default the app
    neither names it nor may touch it (RBAC by name), and two events never share a Secret."""
    rendered = subprocess.run([str(KUBECTL), "kustomize", str(ROOT / "openshift")], capture_output=True, text=True,
                              check=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    settings = next(o for o in objects if o["kind"] == "ConfigMap"
                    and o["metadata"]["name"] == "workshop-registration-settings")
    namespace = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"]
    name = Settings.from_env(dict(settings["data"], REGISTRATIONS_SECRET_NAMESPACE=namespace)).htpasswd_secret_name
    assert name == f"workshop-registration-htpasswd.{namespace}"
    named = {n for o in objects if o["kind"] == "Role" and o["metadata"].get("namespace") == "openshift-config"
             for rule in o["rules"] for n in rule.get("resourceNames", [])}
    assert named == {name}


def test_nothing_of_the_deploy_lives_in_a_namespace_a_person_could_have_made_first(kube, tmp_path):
    """A squatter who requested `<namespace>-setup` before the admin applied (any person may) was admin
    there, could mint the setup account's token, and so patch OAuth/cluster. Now no account but the app's
    own holds a right, and the app's namespace is checked before the setup acts (tests/test_setup.py)."""
    probe = Deployment.prepare(kube, tmp_path, EVERY_COMPONENT)
    setup_namespace = f"{probe.namespace}-setup"
    squatter = kube.user_kubeconfig("squatter", tmp_path / "squatter", projects=True)
    request_project(kube, squatter, setup_namespace)
    probe.create()  # the admin applies openshift/ afterwards
    subjects = {(s.get("kind"), s.get("namespace"), s.get("name")) for o in probe.objects
                if o["kind"] in ("RoleBinding", "ClusterRoleBinding") for s in o.get("subjects", [])}
    assert subjects == {("ServiceAccount", probe.namespace, "workshop-registration")}, subjects
    namespaces = {o["metadata"]["name"] for o in probe.objects if o["kind"] == "Namespace"}
    assert namespaces == {probe.namespace}
    kube.kubectl("create", "serviceaccount", "workshop-registration-setup", "-n", setup_namespace,
                 kubeconfig=squatter, check=False)
    as_setup = token_as(kube, squatter, setup_namespace, "workshop-registration-setup", tmp_path / "as-setup")
    for right in [("patch", "oauths.config.openshift.io/cluster"), ("create", "secrets", "-n", "openshift-config")]:
        assert can_i(kube, as_setup, *right) == "no", right


def test_the_app_deletes_only_users_and_identities_of_its_own_provider(kube, tmp_path):
    """extras/remove-users: `delete` on Users and Identities cannot be limited by name in RBAC, so the
    component's admission policy (enforced by the API server, oauth-apiserver on OpenShift) limits the
    app to Identities of its own provider and to Users whose every identity is one. Identities are the
    stand-in CRD's objects, whose names cannot hold OpenShift's `:`; the policy reads `providerName`."""
    deployment = Deployment.apply(kube, tmp_path, ("remove-users",))
    objects = client.CustomObjectsApi(kube.admin())
    tag = deployment.namespace

    def make(plural: str, name: str, **fields) -> None:
        kind = {"users": "User", "identities": "Identity"}[plural]
        objects.create_cluster_custom_object("user.openshift.io", "v1", plural, {
            "apiVersion": "user.openshift.io/v1", "kind": kind, "metadata": {"name": name}, **fields})

    make("users", f"{tag}-admin", identities=[f"corp-ldap:uid={tag}-admin"])
    make("identities", f"corp-ldap.{tag}-admin", providerName="corp-ldap", providerUserName=f"uid={tag}-admin")
    make("users", f"{tag}-both", identities=["workshop:" + f"{tag}-both", f"corp-ldap:uid={tag}-both"])
    make("users", f"{tag}-bare")
    make("users", f"{tag}-ours", identities=[f"workshop:{tag}-ours"])
    make("identities", f"workshop.{tag}-ours", providerName="workshop", providerUserName=f"{tag}-ours")
    app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "as-app")

    def delete(kind: str, name: str) -> subprocess.CompletedProcess:
        return kube.kubectl("delete", f"{kind}.user.openshift.io", name, "--dry-run=server", kubeconfig=app,
                            check=False)

    wait_until(lambda: delete("identities", f"corp-ldap.{tag}-admin").returncode != 0)  # the policy is loaded
    for kind, name in [("identities", f"corp-ldap.{tag}-admin"), ("users", f"{tag}-admin"), ("users", f"{tag}-both"),
                       ("users", f"{tag}-bare")]:
        refused = delete(kind, name)
        assert refused.returncode != 0 and "workshop-registration" in refused.stderr, (kind, name, refused.stderr)
    for kind, name in [("users", f"{tag}-ours"), ("identities", f"workshop.{tag}-ours")]:
        allowed = delete(kind, name)
        assert allowed.returncode == 0, (kind, name, allowed.stderr)
    admin_delete = kube.kubectl("delete", "users.user.openshift.io", f"{tag}-admin", "--dry-run=server", check=False)
    assert admin_delete.returncode == 0, admin_delete.stderr  # the policy binds the app's account only


def test_the_app_writes_no_login_into_a_secret_with_lines_it_did_not_add_unless_shared(kube, tmp_path):
    """A Secret with other users' logins in it (an admin pointed HTPASSWD_SECRET_NAME at one): the app
    keeps the registration, says why it writes nothing (log, /readyz), and writes once it is told to share."""
    deployment = Deployment.apply(kube, tmp_path)
    deployment.create_htpasswd(b"kubeadmin-like:$2y$05$abc\n", shared=False)
    log = tmp_path / "gunicorn.log"
    with gunicorn(deployment.app_env(tmp_path / "data"), workers=1, log_path=log) as base:
        assert requests.post(base + API, json=person(1), timeout=60).status_code == 201
        reason = wait_until(lambda: degraded(base))["degraded"]
        assert "holds 1 lines this app did not add" in reason and "HTPASSWD_SECRET_SHARED" in reason
        assert "event=logins_not_ours" in log.read_text()
    assert deployment.htpasswd() == b"kubeadmin-like:$2y$05$abc\n"
    with gunicorn(deployment.app_env(tmp_path / "data", HTPASSWD_SECRET_SHARED="true"), workers=1) as base:
        content = published_in_secret(deployment, "attendee-1")
    assert content.startswith(b"kubeadmin-like:$2y$05$abc\n")
