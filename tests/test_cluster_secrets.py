"""The Secret adapter (app.cluster) against a real kube-apiserver, with the app's own RBAC."""

from __future__ import annotations

import base64

import pytest

from app import cluster
from app.errors import Conflict, StoreUnavailable
from app.settings import Settings

pytestmark = pytest.mark.cluster


def pod_settings(deployment, sa_dir, port=None) -> Settings:
    """The settings an app process has in the app's pod (its environment, its service-account folder)."""
    env = deployment.kube.pod_env(sa_dir)
    if port is not None:
        env["KUBERNETES_SERVICE_PORT"] = str(port)
    return Settings.from_env({**env, "REGISTRATIONS_SECRET_NAMESPACE": deployment.namespace})


@pytest.fixture
def api(deployment):
    """The connection built by the app's own loader from the pod's service-account folder."""
    return cluster.connect(pod_settings(deployment, deployment.sa_dir()))


def document(deployment, api, name=None):
    return cluster.SecretDocument(api, "openshift-config", name or deployment.secret_name, "htpasswd")


def test_read_and_write_carry_the_resource_version(deployment, api):
    deployment.create_htpasswd(b"# by hand\nadmin:{SHA}x\n")
    doc = document(deployment, api)
    first = doc.read()
    assert first.content == b"# by hand\nadmin:{SHA}x\n" and first.written_at is None
    written = doc.write(first, first.content + b"alice:$2y$04$x\n")
    assert deployment.htpasswd() == b"# by hand\nadmin:{SHA}x\nalice:$2y$04$x\n"
    assert int(written.version) > int(first.version) and written.written_at is not None
    assert doc.version() == written.version  # the metadata alone says the same, for a cheap look
    with pytest.raises(Conflict):
        doc.write(first, b"stale\n")  # a write from the old version must not land
    assert deployment.htpasswd().endswith(b"alice:$2y$04$x\n")


def test_other_keys_labels_and_annotations_are_kept(deployment, api):
    deployment.core.create_namespaced_secret("openshift-config", {
        "metadata": {"name": deployment.secret_name, "labels": {"team": "infra"},
                     "annotations": {"note": "keep me"}},
        "data": {"htpasswd": base64.b64encode(b"bob:x\n").decode(), "other": base64.b64encode(b"\x00\xff").decode()},
    })
    doc = document(deployment, api)
    doc.write(doc.read(), b"bob:x\ncarol:y\n")
    secret = deployment.core.read_namespaced_secret(deployment.secret_name, "openshift-config")
    assert secret.metadata.labels == {"team": "infra"}
    assert secret.metadata.annotations["note"] == "keep me" and cluster.WRITTEN_AT in secret.metadata.annotations
    assert base64.b64decode(secret.data["other"]) == b"\x00\xff"


def test_a_missing_secret_is_named_with_the_fix(deployment, api):
    with pytest.raises(StoreUnavailable) as caught:
        document(deployment, api).read()
    assert f"secret openshift-config/{deployment.secret_name} does not exist" in caught.value.cause
    assert "oc create secret generic" in caught.value.cause


def test_a_missing_permission_is_named_with_the_fix(deployment, api):
    with pytest.raises(StoreUnavailable) as caught:
        document(deployment, api, name="some-other-secret").read()
    assert "may not get secret openshift-config/some-other-secret (HTTP 403)" in caught.value.cause
    assert "oc apply -k openshift/" in caught.value.cause


def test_an_unreachable_api_is_unavailable(deployment):
    api = cluster.connect(pod_settings(deployment, deployment.sa_dir(), port=1))  # nothing listens there
    with pytest.raises(StoreUnavailable, match="unreachable"):
        document(deployment, api).read()


def test_a_rotated_token_is_used_at_the_next_call(deployment):
    deployment.create_htpasswd(b"")
    sa_dir = deployment.sa_dir()
    valid = (sa_dir / "token").read_text()
    (sa_dir / "token").write_text("not-a-valid-token")  # what the pod had before the kubelet rotated it
    doc = document(deployment, cluster.connect(pod_settings(deployment, sa_dir)))
    with pytest.raises(StoreUnavailable, match="HTTP 401"):
        doc.read()  # read again after the 401: still the invalid token
    (sa_dir / "token").write_text(valid)  # the kubelet writes the new token into the same file
    assert doc.read().content == b""  # the 401 makes the app read the file again, not a minute later
