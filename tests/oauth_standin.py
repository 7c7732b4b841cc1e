"""A STAND-IN for OpenShift's OAuth server (and the one API it offers a token's owner), which cannot run
here: it answers the challenging-client flow as the documented one does (openshift/oc
pkg/helpers/tokencmd/request_token.go; openshift/oauth-server):

- GET /.well-known/oauth-authorization-server  -> JSON with authorization_endpoint
- GET /oauth/authorize?client_id=openshift-challenging-client&response_type=token with Basic auth and
  X-CSRF-Token -> 302 to .../oauth/token/implicit#access_token=sha256~<random>&token_type=Bearer when the
  user's login works, else 401 with WWW-Authenticate (unknown user, wrong password, or not rolled out
  yet); a name in `claimed` (held by a User of another identity, mappingMethod claim) -> 500 with
  `Error: <the identity mapper's claim error>` as plain text, as osinserver's default error handler
  writes it for a client that does not prefer HTML (oauth-server pkg/osinserver/defaults.go,
  pkg/userregistry/identitymapper/strategy_claim.go).
- DELETE /apis/oauth.openshift.io/v1/useroauthaccesstokens/<name> with `Authorization: Bearer <token>`:
  the token's owner revokes it; the name must be `sha256~` + base64url(SHA-256(secret)) unpadded, as
  oauth-server names token objects. Revoked tokens are in `revoked`, live ones in `tokens`.

Credentials are checked like the real server does, against htpasswd content: what the stand-in
operator's last completed rollout serves (`served`, tests/operator_standin.py), or a file (the app's
mirror of the Secret), else against `passwords`. A user becomes accepted after `ready_after` checks
(standing in for the rollout when no stand-in operator runs); a user in `never` never does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app import htpasswd


class OAuthStandIn:
    def __init__(self, passwords: dict[str, str] | None = None, ready_after: int = 2, never: set[str] = frozenset(),
                 htpasswd_file: Path | None = None, served: Callable[[], bytes] | None = None,
                 claimed: set[str] = frozenset()):
        self.passwords = dict(passwords or {})
        self.htpasswd_file = htpasswd_file
        self.served = served
        self.claimed = set(claimed)
        self.tokens: dict[str, str] = {}  # live access token -> its user
        self.revoked: list[str] = []  # the users whose token was revoked, in order
        self.ready_after = ready_after
        self.never = set(never)
        self.checks: dict[str, int] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()

    def accepts(self, username: str, password: str) -> bool:
        if self.served is not None:
            line = htpasswd.entries(self.served()).get(username)
            return line is not None and htpasswd.verify(line, password)
        if self.htpasswd_file is not None:
            line = htpasswd.entries(self.htpasswd_file.read_bytes()).get(username) \
                if self.htpasswd_file.exists() else None
            return line is not None and htpasswd.verify(line, password)
        return self.passwords.get(username) == password

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                standin.requests.append(parts.path)
                if parts.path == "/.well-known/oauth-authorization-server":
                    return self._json(200, {"issuer": standin.url,
                                            "authorization_endpoint": f"{standin.url}/oauth/authorize",
                                            "token_endpoint": f"{standin.url}/oauth/token"})
                if parts.path != "/oauth/authorize":
                    return self._json(404, {})
                query = parse_qs(parts.query)
                if (query.get("client_id") != ["openshift-challenging-client"]
                        or query.get("response_type") != ["token"]):
                    return self._json(400, {"error": "invalid_request"})
                if self.headers.get("X-CSRF-Token") is None:  # the real server refuses challenges without it
                    return self._json(400, {"error": "csrf"})
                username, password = self._basic()
                if username is None:
                    return self._challenge()
                standin.checks[username] = standin.checks.get(username, 0) + 1
                if username in standin.claimed and standin.accepts(username, password):
                    message = (f'Error: user "{username}" cannot be claimed by identity "workshop:{username}" '
                               'because it is already mapped to [corp-ldap:uid=1]').encode()
                    self.send_response(500)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    return self.wfile.write(message)
                known = standin.accepts(username, password)
                rolled_out = username not in standin.never and standin.checks[username] > standin.ready_after
                if not (known and rolled_out):
                    return self._challenge()
                token = "sha256~" + secrets.token_urlsafe(32)
                standin.tokens[token] = username
                self.send_response(302)
                self.send_header("Location", f"{standin.url}/oauth/token/implicit#access_token={token}"
                                             "&expires_in=86400&scope=user%3Afull&token_type=Bearer")
                self.end_headers()

            def do_DELETE(self):
                path = urlsplit(self.path).path
                prefix = "/apis/oauth.openshift.io/v1/useroauthaccesstokens/"
                header = self.headers.get("Authorization", "")
                token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
                if token not in standin.tokens:
                    return self._json(401, {"kind": "Status", "code": 401})
                secret = token.removeprefix("sha256~").encode()
                name = "sha256~" + base64.urlsafe_b64encode(hashlib.sha256(secret).digest()).decode().rstrip("=")
                if path != prefix + name:
                    return self._json(404, {"kind": "Status", "code": 404})  # not a token of this user
                standin.revoked.append(standin.tokens.pop(token))
                return self._json(200, {"kind": "Status", "status": "Success"})

            def _basic(self):
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return None, None
                username, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
                return username, password

            def _challenge(self):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="openshift"')
                self.end_headers()

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
