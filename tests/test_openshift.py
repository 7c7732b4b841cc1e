"""openshift/: what `oc apply -k openshift/` sends, created on a real API server (the setup: test_setup.py)."""

from __future__ import annotations

import copy

import pytest
import yaml
from kubernetes import client

from tests.helpers import wait_until

pytestmark = pytest.mark.cluster


def kinds(deployment) -> set[tuple[str, str]]:
    return {(o["apiVersion"], o["kind"]) for o in deployment.objects}


def test_every_manifest_is_created_with_strict_validation(deployment):
    expected = {("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Secret"),
                ("v1", "Service"), ("apps/v1", "Deployment"),
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
    assert sorted(kind for kind, _ in specs) == ["Deployment"]
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


def reapply(deployment) -> None:
    """`oc apply -k openshift/` again."""
    result = deployment.kube.kubectl("apply", "-f", str(deployment.folder / "rendered.yaml"), check=False)
    assert result.returncode == 0, result.stderr


def can_i(deployment, kubeconfig, *args) -> str:
    return deployment.kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


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
    needed = [("get", f"secrets/{second.secret_name}", "-n", "openshift-config"),
              ("update", f"secrets/{second.secret_name}", "-n", "openshift-config"),
              ("update", "secrets/workshop-registrations", "-n", second.namespace),
              ("get", "configmaps/console-public", "-n", "openshift-config-managed"),
              ("get", "infrastructures.config.openshift.io/cluster"),
              ("get", "deployments.apps/oauth-openshift", "-n", "openshift-authentication"),
              ("get", "oauths.config.openshift.io/cluster"),
              ("delete", "users.user.openshift.io/someone"), ("get", "users.user.openshift.io/someone")]
    for right in needed:
        assert can_i(second, app, *right) == "yes", right


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
