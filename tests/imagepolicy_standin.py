"""A stand-in for OpenShift's image policy admission, as a mutating webhook of the test API server.

OpenShift's kube-apiserver runs the `image.openshift.io/ImagePolicy` admission plugin
(openshift/apiserver-library-go, pkg/admission/imagepolicy). With its default rules it rewrites, on
create and update of a Deployment (not of objects owned by a controller), every container image that is
a single-segment name (`workshop-registration:latest`) when an ImageStream of that name in the same
namespace has `spec.lookupPolicy.local: true`: to the tag's image by digest, or — tag not there yet,
registry installed — to the stream's repository with the tag. Anything else is left alone. This does
the same for Deployments, reading the stand-in ImageStream's status (the real plugin reads the
ImageStreamTag API, which has no CRD here). It counts the reviews it answers, so a test can show that
it was in the path.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import ssl
import subprocess
import threading
from pathlib import Path

from kubernetes import client


def _local_name(image: str) -> tuple[str, str] | None:
    """(stream, tag) for a single-segment reference like `name:tag` or `name`; None otherwise."""
    if "/" in image or "@" in image or not image:
        return None
    name, _, tag = image.partition(":")
    return name, tag or "latest"


class ImagePolicyStandIn:
    def __init__(self, kube, workdir: Path):
        self.kube = kube
        self.custom = client.CustomObjectsApi(kube.admin())
        self.reviews = 0
        key, cert = workdir / "webhook.key", workdir / "webhook.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.ca_bundle = base64.b64encode(cert.read_bytes()).decode()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body = json.dumps(standin.review(review)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/imagepolicy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def resolve(self, namespace: str, image: str) -> str:
        local = _local_name(image)
        if local is None:
            return image
        name, tag = local
        try:
            stream = self.custom.get_namespaced_custom_object("image.openshift.io", "v1", namespace,
                                                              "imagestreams", name)
        except client.ApiException:
            return image
        if not stream.get("spec", {}).get("lookupPolicy", {}).get("local"):
            return image
        status = stream.get("status", {})
        for event in status.get("tags", []):
            if event.get("tag") == tag and event.get("items"):
                latest = event["items"][0]
                repository = latest["dockerImageReference"].split("@")[0]
                return f"{repository}@{latest['image']}"
        repository = status.get("dockerImageRepository")
        return f"{repository}:{tag}" if repository else image

    def review(self, review: dict) -> dict:
        self.reviews += 1
        request = review["request"]
        obj = request["object"]
        patch = []
        owned = any(ref.get("controller") for ref in obj["metadata"].get("ownerReferences", []))
        if not owned:
            for kind in ("initContainers", "containers"):
                for index, container in enumerate(obj["spec"]["template"]["spec"].get(kind, [])):
                    resolved = self.resolve(request["namespace"], container["image"])
                    if resolved != container["image"]:
                        patch.append({"op": "replace", "path": f"/spec/template/spec/{kind}/{index}/image",
                                      "value": resolved})
        response = {"uid": request["uid"], "allowed": True}
        if patch:
            response.update(patchType="JSONPatch", patch=base64.b64encode(json.dumps(patch).encode()).decode())
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}

    @contextlib.contextmanager
    def serving(self, namespace: str):
        """Serve, and register for Deployments in one namespace (other tests' objects are not touched)."""
        self.thread.start()
        admission = client.AdmissionregistrationV1Api(self.kube.admin())
        name = f"imagepolicy-standin.{namespace}"
        admission.create_mutating_webhook_configuration({
            "metadata": {"name": name},
            "webhooks": [{
                "name": "imagepolicy.standin.test", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 5,
                "clientConfig": {"url": self.url, "caBundle": self.ca_bundle},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                           "operations": ["CREATE", "UPDATE"]}]}]})
        try:
            yield self
        finally:
            admission.delete_mutating_webhook_configuration(name)
            self.server.shutdown()
            self.server.server_close()
