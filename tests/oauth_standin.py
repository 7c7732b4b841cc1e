"""A STAND-IN for OpenShift's OAuth server, which cannot run here: it answers the challenging-client flow
exactly as the documented one does (openshift/oc pkg/helpers/tokencmd/request_token.go):

- GET /.well-known/oauth-authorization-server  -> JSON with authorization_endpoint
- GET /oauth/authorize?client_id=openshift-challenging-client&response_type=token with Basic auth and
  X-CSRF-Token -> 302 to .../oauth/token/implicit#access_token=...&token_type=Bearer when the user's
  login works, else 401 with WWW-Authenticate (unknown user, wrong password, or not rolled out yet).

Credentials are checked like the real server does, against htpasswd content: what the stand-in
operator's last completed rollout serves (`served`, tests/operator_standin.py), or a file (the app's
mirror of the Secret), else against `passwords`. A user becomes accepted after `ready_after` checks
(standing in for the rollout when no stand-in operator runs); a user in `never` never does.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app import htpasswd


class OAuthStandIn:
    def __init__(self, passwords: dict[str, str] | None = None, ready_after: int = 2, never: set[str] = frozenset(),
                 htpasswd_file: Path | None = None, served: Callable[[], bytes] | None = None):
        self.passwords = dict(passwords or {})
        self.htpasswd_file = htpasswd_file
        self.served = served
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
                if query.get("client_id") != ["openshift-challenging-client"] or query.get("response_type") != ["token"]:
                    return self._json(400, {"error": "invalid_request"})
                if self.headers.get("X-CSRF-Token") is None:  # the real server refuses challenges without it
                    return self._json(400, {"error": "csrf"})
                username, password = self._basic()
                if username is None:
                    return self._challenge()
                standin.checks[username] = standin.checks.get(username, 0) + 1
                known = standin.accepts(username, password)
                rolled_out = username not in standin.never and standin.checks[username] > standin.ready_after
                if not (known and rolled_out):
                    return self._challenge()
                self.send_response(302)
                self.send_header("Location", f"{standin.url}/oauth/token/implicit#access_token=sha256~stand-in"
                                             "&expires_in=86400&scope=user%3Afull&token_type=Bearer")
                self.end_headers()

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
