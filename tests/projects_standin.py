"""A STAND-IN for openshift-apiserver's project API, which cannot run here, in front of the test API server.

It listens on 127.0.0.1 with the API server's own serving certificate and forwards every request to it,
except those for `project.openshift.io`, which it answers as openshift-apiserver does (read in
openshift/openshift-apiserver, pkg/project/apiserver/registry/projectrequest/delegated/ and
.../project/proxy/; openshift/library-go pkg/apiserver/apiserverconfig/project_request_info_resolver.go):

- Who asks is decided by the API server itself: a TokenReview of the bearer token (and, for `--as`, a
  SubjectAccessReview of `impersonate`), then a SubjectAccessReview for every request, as a delegating
  server authorizes. For `projects/<name>` the namespace of that review is the project's name, as
  OpenShift's request-info resolver sets it: an `admin` of the namespace may get and delete it.
- `POST projectrequests`: `create projectrequests`; the name must be a DNS-1123 label of at least two
  characters (422), not `openshift`, `kubernetes`, `kube` nor start with `openshift-`, `kubernetes-`,
  `kube-` (403); an existing namespace is 409 AlreadyExists, checked with the server's own rights. The
  default template then makes the namespace, annotated `openshift.io/requester` (the requester's name),
  `openshift.io/display-name` and `openshift.io/description` — no labels: a request cannot set any —
  and the RoleBinding `admin` (ClusterRole `admin`) for the requester as a User subject, as it is for a
  ServiceAccount too (`system:serviceaccount:<ns>:<name>`). The answer is the Project (201).
- `GET projects/<name>`: 403 to whoever may not get it (whether it exists or not), 404 when it does not
  exist, else the Project. `DELETE projects/<name>`: deletes the namespace.

Everything else is forwarded byte for byte, so the app talks to one address as it does in a pod.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import re
import ssl
import threading

from kubernetes import client

GROUP = "project.openshift.io"
PREFIX = f"/apis/{GROUP}/v1/"
FORBIDDEN_NAMES = ("openshift", "kubernetes", "kube")
FORBIDDEN_PREFIXES = ("openshift-", "kubernetes-", "kube-")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class ProjectAPIStandIn:
    def __init__(self, kube):
        self.kube = kube
        self.api = kube.admin()
        self.core = client.CoreV1Api(self.api)
        self.rbac = client.RbacAuthorizationV1Api(self.api)
        self.authn = client.AuthenticationV1Api(self.api)
        self.authz = client.AuthorizationV1Api(self.api)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every project API request answered
        self.upstream = ssl.create_default_context(cafile=str(kube.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certs = kube.workdir / "certs"
        context.load_cert_chain(certs / "apiserver.crt", certs / "apiserver.key")  # valid for 127.0.0.1
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what openshift-apiserver decides ------------------------------------------------------------

    def who(self, headers) -> dict | None:
        """The requester as the API server authenticates them (None: not authenticated)."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 9110)
            return None
        review = self.authn.create_token_review({"spec": {"token": token.strip()}})
        if not review.status.authenticated:
            return None
        user = {"username": review.status.user.username, "groups": review.status.user.groups or [],
                "uid": review.status.user.uid or ""}
        impersonated = headers.get("Impersonate-User")
        if impersonated:
            if not self.allowed(user, "impersonate", "", "users", impersonated, ""):
                return None
            user = {"username": impersonated, "groups": headers.get_all("Impersonate-Group") or
                    ["system:authenticated"], "uid": ""}
        return user

    def allowed(self, user: dict, verb: str, group: str, resource: str, name: str, namespace: str) -> bool:
        review = self.authz.create_subject_access_review({"spec": {
            "user": user["username"], "groups": user["groups"], "uid": user["uid"],
            "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "name": name,
                                   "namespace": namespace}}})
        return bool(review.status.allowed)

    def request_project(self, user: dict, body: dict) -> tuple[int, dict]:
        name = str((body.get("metadata") or {}).get("name") or "")
        if not self.allowed(user, "create", GROUP, "projectrequests", "", ""):
            return _status(403, "Forbidden", f'projectrequests.{GROUP} is forbidden: User "{user["username"]}" '
                           f'cannot create resource "projectrequests" in API group "{GROUP}" at the cluster scope')
        if len(name) < 2 or len(name) > 63 or not LABEL.fullmatch(name):
            return _status(422, "Invalid", f'ProjectRequest "{name}" is invalid: metadata.name: Invalid value')
        if name in FORBIDDEN_NAMES or name.startswith(FORBIDDEN_PREFIXES):
            return _status(403, "Forbidden", f'cannot request a project with the name "{name}"', name)
        try:
            self.core.read_namespace(name)
            return _status(409, "AlreadyExists", f'project.{GROUP} "{name}" already exists', name)
        except client.ApiException as error:
            if error.status != 404:
                raise
        requester = user["username"]
        namespace = self.core.create_namespace({"metadata": {"name": name, "annotations": {
            "openshift.io/requester": requester, "openshift.io/display-name": str(body.get("displayName") or ""),
            "openshift.io/description": str(body.get("description") or "")}}})
        self.rbac.create_namespaced_role_binding(name, {
            "metadata": {"name": "admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": requester}]})
        return 201, _project(self.api.sanitize_for_serialization(namespace))

    def project(self, user: dict, verb: str, name: str) -> tuple[int, dict]:
        if not self.allowed(user, verb, GROUP, "projects", name, name):  # namespace = the project's name
            return _status(403, "Forbidden", f'projects.{GROUP} "{name}" is forbidden: User "{user["username"]}" '
                           f'cannot {verb} resource "projects" in API group "{GROUP}" in the namespace "{name}"', name)
        try:
            if verb == "delete":
                self.core.delete_namespace(name)
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            return 200, _project(self.api.sanitize_for_serialization(self.core.read_namespace(name)))
        except client.ApiException as error:
            if error.status == 404:
                return _status(404, "NotFound", f'namespaces "{name}" not found', name)
            raise

    # --- HTTP ------------------------------------------------------------------------------------------

    def _handler(self):
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":  # kubectl --raw sends chunks
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():  # trailers, then the blank line
                    pass
                return b"".join(chunks)

            def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                body = self._body()
                if self.path.startswith(PREFIX):
                    status, answer = standin.serve(self.command, self.path, self.headers, body)
                    return self._answer(status, json.dumps(answer).encode(), [("Content-Type", "application/json")])
                if self.command == "GET" and self.path.rstrip("/") in (PREFIX.rstrip("/"), f"/apis/{GROUP}"):
                    return self._answer(200, json.dumps(_resources()).encode(), [("Content-Type", "application/json")])
                upstream = http.client.HTTPSConnection("127.0.0.1", standin.kube.port, context=standin.upstream,
                                                       timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body or None,
                                     headers={k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP})
                    response = upstream.getresponse()
                    answer = response.read()
                    if self.command == "GET" and self.path.split("?")[0] == "/apis" and response.status == 200:
                        answer = _discovery(answer)  # kubectl finds the project API, as on OpenShift
                    self._answer(response.status, answer, response.getheaders())
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler

    def serve(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        user = self.who(headers)
        if user is None:
            return _status(401, "Unauthorized", "Unauthorized")
        rest = path[len(PREFIX):].split("?")[0].strip("/")
        self.requests.append((method, rest))
        if rest == "projectrequests" and method == "POST":
            with contextlib.suppress(ValueError):
                return self.request_project(user, json.loads(body or b"{}"))
            return _status(400, "BadRequest", "the body is not JSON")
        if rest.startswith("projects/") and rest.count("/") == 1 and method in ("GET", "DELETE"):
            return self.project(user, "get" if method == "GET" else "delete", rest.split("/")[1])
        return _status(405, "MethodNotAllowed", f"{method} {rest} is not served by this stand-in")


RESOURCES = (("projectrequests", "ProjectRequest", ["create", "list"]),
             ("projects", "Project", ["delete", "get", "list", "patch", "update", "watch"]))


def _resources() -> dict:
    """The group's APIResourceList (/apis/project.openshift.io/v1)."""
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/v1", "resources": [
        {"name": name, "singularName": kind.lower(), "namespaced": False, "kind": kind, "verbs": verbs}
        for name, kind, verbs in RESOURCES]}


def _discovery(body: bytes) -> bytes:
    """The API server's list of groups at /apis, with project.openshift.io added (either form of it)."""
    try:
        found = json.loads(body)
    except ValueError:
        return body
    if found.get("kind") == "APIGroupDiscoveryList":
        resources = [{"resource": name, "responseKind": {"group": GROUP, "version": "v1", "kind": kind},
                      "scope": "Cluster", "singularResource": kind.lower(), "verbs": verbs}
                     for name, kind, verbs in RESOURCES]
        found["items"].append({"metadata": {"name": GROUP},
                               "versions": [{"version": "v1", "freshness": "Current", "resources": resources}]})
    elif found.get("kind") == "APIGroupList":
        version = {"groupVersion": f"{GROUP}/v1", "version": "v1"}
        found["groups"].append({"name": GROUP, "versions": [version], "preferredVersion": version})
    return json.dumps(found).encode()


def _project(namespace: dict) -> dict:
    metadata = {k: v for k, v in namespace["metadata"].items() if k != "managedFields"}
    return {"kind": "Project", "apiVersion": f"{GROUP}/v1", "metadata": metadata,
            "spec": namespace.get("spec") or {}, "status": namespace.get("status") or {}}


def _status(code: int, reason: str, message: str, name: str = "") -> tuple[int, dict]:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                  "reason": reason, "details": {"name": name, "group": GROUP, "kind": "projects"}, "code": code}
