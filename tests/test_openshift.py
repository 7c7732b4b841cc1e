"""openshift/: what `oc apply -k openshift/` sends, created on a real API server, and the setup step."""

from __future__ import annotations

import copy
import os
import subprocess

import pytest
import yaml
from kubernetes import client

from tests.deploy import set_oauth
from tests.helpers import wait_until
from tests.kube import KUBECTL, ROOT

pytestmark = pytest.mark.cluster
SETUP = ROOT / "openshift" / "setup" / "setup.sh"
LDAP = {"name": "corp-ldap", "mappingMethod": "claim", "type": "LDAP",
        "ldap": {"url": "ldap://ldap.example.com/ou=users,dc=example,dc=com?uid", "insecure": False,
                 "attributes": {"id": ["dn"], "preferredUsername": ["uid"]}, "bindDN": "",
                 "bindPassword": {"name": ""}, "ca": {"name": ""}}}
GITHUB = {"name": "github", "mappingMethod": "claim", "type": "GitHub",
          "github": {"clientID": "abc", "clientSecret": {"name": "github-secret"}, "organizations": ["example"],
                     "hostname": "", "ca": {"name": ""}, "teams": []}}


def kinds(deployment) -> set[tuple[str, str]]:
    return {(o["apiVersion"], o["kind"]) for o in deployment.objects}


def test_every_manifest_is_created_with_strict_validation(deployment):
    expected = {("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Secret"),
                ("v1", "Service"), ("apps/v1", "Deployment"), ("batch/v1", "Job"),
                ("route.openshift.io/v1", "Route"), ("build.openshift.io/v1", "BuildConfig"),
                ("image.openshift.io/v1", "ImageStream"), ("rbac.authorization.k8s.io/v1", "Role"),
                ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
                ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("networking.k8s.io/v1", "NetworkPolicy")}
    assert kinds(deployment) == expected
    for obj in deployment.objects:  # each one exists on the server now (the fixture applied them)
        group = obj["apiVersion"].rpartition("/")[0]
        resource = f"{obj['kind'].lower()}.{group}" if group else obj["kind"].lower()
        namespace = ["-n", obj["metadata"]["namespace"]] if "namespace" in obj["metadata"] else []
        result = deployment.kube.kubectl("get", resource, obj["metadata"]["name"], "-o", "name", *namespace,
                                         check=False)
        assert result.returncode == 0, (obj["kind"], obj["metadata"]["name"], result.stderr)


def test_strict_validation_would_catch_a_typo(deployment, tmp_path):
    route = copy.deepcopy(next(o for o in deployment.objects if o["kind"] == "Route"))
    route["spec"]["tls"]["terminaton"] = "edge"  # misspelt field
    route["metadata"]["name"] = "typo"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(route))
    result = deployment.kube.kubectl("apply", "--validate=strict", "-f", str(path), check=False)
    assert result.returncode != 0 and "terminaton" in result.stderr
    route = copy.deepcopy(next(o for o in deployment.objects if o["kind"] == "Route"))
    route["spec"]["tls"]["termination"] = 42  # wrong type
    route["metadata"]["name"] = "wrong-type"
    path.write_text(yaml.safe_dump(route))
    result = deployment.kube.kubectl("apply", "--validate=strict", "-f", str(path), check=False)
    assert result.returncode != 0


def test_the_route_is_edge_tls_redirecting_http(deployment):
    route = next(o for o in deployment.objects if o["kind"] == "Route")
    assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}


def pod_specs(deployment):
    for obj in deployment.objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj["kind"], obj["spec"]["template"]["spec"]


def test_pods_meet_restricted_v2(deployment):
    specs = list(pod_specs(deployment))
    assert sorted(kind for kind, _ in specs) == ["Deployment", "Job"]
    for kind, spec in specs:
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, kind
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, kind
        for key in ("runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"):
            assert key not in pod, (kind, key)  # restricted-v2 assigns the UID and groups itself
        for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(forbidden), (kind, forbidden)
        assert all("hostPath" not in v for v in spec.get("volumes", [])), kind
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, (kind, container["name"])
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], (kind, container["name"])
            assert not sc.get("capabilities", {}).get("add"), (kind, container["name"])
            assert not sc.get("privileged"), (kind, container["name"])
            assert "runAsUser" not in sc and "runAsGroup" not in sc, (kind, container["name"])
            assert container.get("resources", {}).get("limits", {}).get("memory"), (kind, container["name"])


def test_the_deployment_probes_mounts_and_settings(deployment):
    app = next(o for o in deployment.objects if o["kind"] == "Deployment")
    container = app["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    settings = next(o for o in deployment.objects if o["kind"] == "ConfigMap"
                    and o["metadata"]["name"] == "workshop-registration-settings")
    mount = container["volumeMounts"][0]
    assert mount["mountPath"] == settings["data"]["DATA_DIR"]
    assert {"name": mount["name"], "emptyDir": {}} in app["spec"]["template"]["spec"]["volumes"]
    sources = container["envFrom"]
    assert {"configMapRef": {"name": "workshop-registration-settings"}} in sources
    assert {"secretRef": {"name": "workshop-registration-secrets", "optional": True}} in sources
    assert app["spec"]["replicas"] >= 2
    assert "image.openshift.io/triggers" in app["metadata"]["annotations"]


def test_the_app_has_exactly_these_rights_and_every_one_by_name(deployment):
    """Read and update two Secrets; read two ConfigMaps, Infrastructure/cluster and the OAuth Deployment."""
    app_subject = {"kind": "ServiceAccount", "name": "workshop-registration", "namespace": deployment.namespace}
    bindings = [o for o in deployment.objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    app_bindings = [b for b in bindings if app_subject in [
        dict(s, namespace=s.get("namespace", b["metadata"].get("namespace"))) for s in b["subjects"]]]
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in deployment.objects
             if o["kind"] in ("Role", "ClusterRole")}
    granted = set()
    for binding in app_bindings:
        namespace = binding["metadata"].get("namespace")
        role = roles[(binding["roleRef"]["kind"], namespace if binding["roleRef"]["kind"] == "Role" else None,
                      binding["roleRef"]["name"])]
        for rule in role["rules"]:
            assert rule.get("resourceNames"), rule  # every right is limited to named objects
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for name in rule["resourceNames"]:
                        granted.add((namespace, group, resource, name, tuple(rule["verbs"])))
    assert granted == {
        ("openshift-config", "", "secrets", deployment.secret_name, ("get", "update")),
        (deployment.namespace, "", "secrets", "workshop-registrations", ("get", "update")),
        (deployment.namespace, "route.openshift.io", "routes", "workshop-registration", ("get",)),
        ("openshift-config-managed", "", "configmaps", "console-public", ("get",)),
        ("openshift-config-managed", "", "configmaps", "oauth-serving-cert", ("get",)),
        (None, "config.openshift.io", "infrastructures", "cluster", ("get",)),
        (None, "config.openshift.io", "oauths", "cluster", ("get",)),
        ("openshift-authentication", "apps", "deployments", "oauth-openshift", ("get",)),
    }


def test_the_secrets_manifest_has_no_data_so_reapplying_never_wipes_records(deployment):
    secret = next(o for o in deployment.objects if o["kind"] == "Secret")
    assert "data" not in secret and "stringData" not in secret
    deployment.core.patch_namespaced_secret("workshop-registrations", deployment.namespace,
                                            {"data": {"registrations.csv": "eA=="}})
    result = deployment.kube.kubectl("apply", "--validate=strict", "-f", str(deployment.folder / "rendered.yaml"),
                                     check=False)
    assert result.returncode == 0, result.stderr  # re-applying is safe, and keeps what the app wrote
    kept = deployment.core.read_namespaced_secret("workshop-registrations", deployment.namespace)
    assert kept.data == {"registrations.csv": "eA=="}


# --- The setup step --------------------------------------------------------------------------------------

def oauth(kube) -> dict:
    return client.CustomObjectsApi(kube.admin()).get_cluster_custom_object(
        "config.openshift.io", "v1", "oauths", "cluster")


def setup_kubeconfig(deployment, tmp_path):
    """A kubeconfig as the setup Job's ServiceAccount, in the setup's own namespace."""
    sa_dir = deployment.kube.service_account_dir(f"{deployment.namespace}-setup", "workshop-registration-setup",
                                                 tmp_path / "setup-sa")
    return deployment.kube.kubeconfig_for(sa_dir, tmp_path / "setup-kubeconfig")


def run_setup(deployment, tmp_path, provider: str = "workshop") -> subprocess.CompletedProcess:
    """setup.sh as the Job runs it: with kubectl, as the setup ServiceAccount (its RBAC from openshift/)."""
    env = dict(os.environ, KUBECONFIG=str(setup_kubeconfig(deployment, tmp_path)), KUBECTL=str(KUBECTL),
               HTPASSWD_SECRET_NAME=deployment.secret_name, IDENTITY_PROVIDER_NAME=provider,
               APP_NAMESPACE=deployment.namespace)
    return subprocess.run(["sh", str(SETUP)], env=env, capture_output=True, text=True, timeout=120)


def reapply(deployment) -> None:
    """`oc apply -k openshift/` again, as the README says to re-run the setup."""
    result = deployment.kube.kubectl("apply", "-f", str(deployment.folder / "rendered.yaml"), check=False)
    assert result.returncode == 0, result.stderr


def can_i(deployment, kubeconfig, *args) -> str:
    return deployment.kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


def ours(deployment, provider="workshop") -> dict:
    return {"name": provider, "mappingMethod": "claim", "type": "HTPasswd",
            "htpasswd": {"fileData": {"name": deployment.secret_name}}}


def test_setup_keeps_two_providers_adds_ours_once_and_changes_nothing_when_run_again(deployment, tmp_path):
    set_oauth(deployment.kube, [LDAP, GITHUB])
    first = run_setup(deployment, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created (empty)" in first.stdout and "added" in first.stdout
    after = oauth(deployment.kube)
    assert after["spec"]["identityProviders"] == [LDAP, GITHUB, ours(deployment)]
    assert deployment.htpasswd() == b""
    secret_version = deployment.htpasswd_version()

    reapply(deployment)  # the setup withdrew its own rights: re-applying gives them back for a re-run
    second = run_setup(deployment, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "left as it is" in second.stdout
    again = oauth(deployment.kube)
    assert again["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
    assert deployment.htpasswd_version() == secret_version


def test_setup_leaves_a_secret_full_of_users_untouched(deployment, tmp_path):
    content = b"".join(b"user%04d:$2y$10$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS\n" % i
                       for i in range(2000))
    deployment.create_htpasswd(content)
    version = deployment.htpasswd_version()
    set_oauth(deployment.kube, [LDAP])
    result = run_setup(deployment, tmp_path)
    assert result.returncode == 0, result.stderr
    assert deployment.htpasswd() == content and deployment.htpasswd_version() == version
    assert oauth(deployment.kube)["spec"]["identityProviders"] == [LDAP, ours(deployment)]


def test_setup_with_a_provider_already_reading_the_secret_changes_nothing(deployment, tmp_path):
    deployment.create_htpasswd(b"existing:$apr1$x\n")
    existing = {"name": "htpasswd_provider", "mappingMethod": "claim", "type": "HTPasswd",
                "htpasswd": {"fileData": {"name": deployment.secret_name}}}
    set_oauth(deployment.kube, [existing, GITHUB])
    before = oauth(deployment.kube)
    result = run_setup(deployment, tmp_path)
    assert result.returncode == 0, result.stderr
    assert oauth(deployment.kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_setup_on_a_cluster_without_providers(deployment, tmp_path):
    set_oauth(deployment.kube, None)
    result = run_setup(deployment, tmp_path, provider="event")
    assert result.returncode == 0, result.stderr
    assert oauth(deployment.kube)["spec"]["identityProviders"] == [ours(deployment, "event")]


def test_the_setup_account_can_do_nothing_else(deployment, tmp_path):
    deployment.create_htpasswd(b"keep:me\n")
    kubeconfig = setup_kubeconfig(deployment, tmp_path)
    for args in [("delete", "secret", deployment.secret_name, "-n", "openshift-config"),
                 ("patch", "secret", deployment.secret_name, "-n", "openshift-config", "-p", '{"data":{}}'),
                 ("get", "secrets", "-n", "openshift-config"),
                 ("get", "secret", "some-other", "-n", "openshift-config"),
                 ("delete", "oauth", "cluster"),
                 ("get", "users")]:
        result = deployment.kube.kubectl(*args, kubeconfig=kubeconfig, check=False)
        assert result.returncode != 0 and "forbidden" in result.stderr.lower(), (args, result.stderr)
    assert deployment.htpasswd() == b"keep:me\n"


def test_the_setup_job_runs_this_very_script(deployment):
    job = next(o for o in deployment.objects if o["kind"] == "Job")
    script = next(o for o in deployment.objects if o["kind"] == "ConfigMap"
                  and o["metadata"]["name"] == "workshop-registration-setup")
    assert script["data"]["setup.sh"] == SETUP.read_text()
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "/setup/setup.sh"]
    assert container["image"].endswith("/openshift/cli:latest")
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "workshop-registration-setup"


@pytest.mark.parametrize("method", ["add", "lookup", "generate"])
def test_setup_refuses_to_reuse_a_provider_that_does_not_claim(deployment, tmp_path, method):
    """With `add`, an attendee registering an LDAP admin's name would become that user."""
    deployment.create_htpasswd(b"")
    existing = {"name": "demo-users", "mappingMethod": method, "type": "HTPasswd",
                "htpasswd": {"fileData": {"name": deployment.secret_name}}}
    set_oauth(deployment.kube, [LDAP, existing])
    before = oauth(deployment.kube)
    result = run_setup(deployment, tmp_path)
    assert result.returncode == 3 and f"mappingMethod {method}" in result.stderr and "nothing was changed" in result.stderr
    assert oauth(deployment.kube) == before


def test_setup_refuses_a_provider_of_our_name_reading_another_secret(deployment, tmp_path):
    other = {"name": "workshop", "mappingMethod": "claim", "type": "HTPasswd",
             "htpasswd": {"fileData": {"name": "someone-elses-secret"}}}
    set_oauth(deployment.kube, [other])
    before = oauth(deployment.kube)
    result = run_setup(deployment, tmp_path)
    assert result.returncode == 3 and "someone-elses-secret" in result.stderr
    assert oauth(deployment.kube) == before
    assert deployment.kube.kubectl("get", "secret", deployment.secret_name, "-n", "openshift-config",
                                   check=False).returncode != 0  # not even the Secret was created


def test_once_setup_is_done_no_account_of_the_app_namespace_holds_its_rights(deployment, tmp_path):
    set_oauth(deployment.kube, [LDAP])
    setup = setup_kubeconfig(deployment, tmp_path)
    assert can_i(deployment, setup, "create", "secrets", "-n", "openshift-config") == "yes"  # while it runs
    assert run_setup(deployment, tmp_path).returncode == 0
    app_accounts = {name: deployment.kube.kubeconfig_for(
        deployment.kube.service_account_dir(deployment.namespace, name, tmp_path / f"sa-{name}"),
        tmp_path / f"kubeconfig-{name}") for name in ("workshop-registration", "default", "workshop-registration-setup")}
    dangerous = [("create", "secrets", "-n", "openshift-config"), ("patch", "oauths.config.openshift.io/cluster")]
    for rights in dangerous:
        assert can_i(deployment, setup, *rights) == "no", rights  # the setup's own rights ended with its job
        for name, kubeconfig in app_accounts.items():
            assert can_i(deployment, kubeconfig, *rights) == "no", (name, rights)
    reapply(deployment)  # re-applying openshift/ while setup is done
    for rights in dangerous:
        for name, kubeconfig in app_accounts.items():
            assert can_i(deployment, kubeconfig, *rights) == "no", (name, rights)


def test_the_network_policy_lets_in_only_the_router_and_monitoring(deployment):
    policy = next(o for o in deployment.objects if o["kind"] == "NetworkPolicy")
    app = next(o for o in deployment.objects if o["kind"] == "Deployment")
    assert policy["metadata"]["namespace"] == deployment.namespace
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= app["spec"]["template"]["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/ingress": ""}}},
                            {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "monitoring"}}}]
    container = app["spec"]["template"]["spec"]["containers"][0]
    assert rule["ports"] == [{"protocol": "TCP", "port": container["ports"][0]["containerPort"]}]
    route = next(o for o in deployment.objects if o["kind"] == "Route")
    assert route["metadata"]["annotations"]["haproxy.router.openshift.io/hsts_header"].startswith("max-age=")


def test_two_workshops_share_a_cluster_and_deleting_one_leaves_the_other_every_right(kube, tmp_path):
    from tests.deploy import Deployment

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    both = ("remove-users", "existing-users")
    first, second = Deployment.apply(kube, tmp_path / "a", both), Deployment.apply(kube, tmp_path / "b", both)

    def shared_names(deployment) -> set[tuple[str, str | None, str]]:
        """Every object outside the app's namespace: cluster-scoped, or in another namespace."""
        return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in deployment.objects
                if o["metadata"].get("namespace") != deployment.namespace}

    assert shared_names(first) and not shared_names(first) & shared_names(second)
    for objects, namespace in ((first.objects, first.namespace), (second.objects, second.namespace)):
        for o in objects:
            if o["metadata"].get("namespace") != namespace:
                assert namespace in (o["metadata"]["name"] + " " + o["metadata"].get("namespace", "")), o["metadata"]

    deleted = kube.kubectl("delete", "-f", str(first.folder / "rendered.yaml"), "--wait=false", check=False)
    assert deleted.returncode == 0, deleted.stderr  # what `oc delete -k openshift/` does for the first one

    app = kube.kubeconfig_for(second.sa_dir(), tmp_path / "app-kubeconfig")
    setup = setup_kubeconfig(second, tmp_path)
    needed = {
        app: [("get", f"secrets/{second.secret_name}", "-n", "openshift-config"),
              ("update", f"secrets/{second.secret_name}", "-n", "openshift-config"),
              ("update", "secrets/workshop-registrations", "-n", second.namespace),
              ("get", "configmaps/console-public", "-n", "openshift-config-managed"),
              ("get", "infrastructures.config.openshift.io/cluster"),
              ("get", "deployments.apps/oauth-openshift", "-n", "openshift-authentication"),
              ("get", "oauths.config.openshift.io/cluster"),
              ("delete", "users.user.openshift.io/someone"), ("get", "users.user.openshift.io/someone")],
        setup: [("create", "secrets", "-n", "openshift-config"), ("patch", "oauths.config.openshift.io/cluster")],
    }
    for kubeconfig, rights in needed.items():
        for right in rights:
            assert can_i(second, kubeconfig, *right) == "yes", right


def test_reapplying_unchanged_manifests_does_not_roll_out_the_app(deployment, tmp_path):
    """`oc apply -k openshift/` again, after the image trigger has set the built image's digest, leaves the
    pod template alone: OpenShift's image policy admission resolves `workshop-registration:latest` through
    the ImageStream's `lookupPolicy.local` to that same digest (tests/imagepolicy_standin.py)."""
    from tests.imagepolicy_standin import ImagePolicyStandIn

    apps, custom = client.AppsV1Api(deployment.kube.admin()), client.CustomObjectsApi(deployment.kube.admin())
    namespace, name = deployment.namespace, "workshop-registration"
    registry = f"image-registry.openshift-image-registry.svc:5000/{namespace}/{name}"

    def build(digest: str) -> None:
        """What a finished build leaves in the ImageStream: the pushed image as the tag's latest item."""
        stream = custom.get_namespaced_custom_object("image.openshift.io", "v1", namespace, "imagestreams", name)
        stream["status"] = {"dockerImageRepository": registry, "tags": [
            {"tag": "latest", "items": [{"dockerImageReference": f"{registry}@{digest}", "image": digest}]}]}
        custom.replace_namespaced_custom_object("image.openshift.io", "v1", namespace, "imagestreams", name, stream)

    def trigger(digest: str) -> None:
        """What the image trigger annotation makes OpenShift do after a build: set the app container's image."""
        apps.patch_namespaced_deployment(name, namespace, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": f"{registry}@{digest}"}]}}}})

    def app():
        return apps.read_namespaced_deployment(name, namespace)

    first, second = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    with ImagePolicyStandIn(deployment.kube, tmp_path).serving(namespace) as standin:
        build(first)
        as_applied = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{name}:latest"}]}}}}
        wait_until(lambda: apps.patch_namespaced_deployment(name, namespace, as_applied, dry_run="All")
                   .spec.template.spec.containers[0].image != f"{name}:latest")  # the webhook is loaded
        trigger(first)
        before = app().metadata.generation

        reapply(deployment)
        assert app().metadata.generation == before
        assert app().spec.template.spec.containers[0].image == f"{registry}@{first}"

        build(second)
        trigger(second)  # a new build still rolls the app out, once
        assert app().metadata.generation == before + 1
        reapply(deployment)
        assert app().metadata.generation == before + 1
        assert app().spec.template.spec.containers[0].image == f"{registry}@{second}"
        assert standin.reviews >= 4  # the stand-in was in the path of every write
