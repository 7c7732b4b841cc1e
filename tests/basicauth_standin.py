"""A STAND-IN for the BasicAuth client inside OpenShift's OAuth server, which cannot run here. It calls a
remote exactly as oauth-server's pkg/authenticator/password/basicauthpassword/basicauthpassword.go does,
with the TLS that pkg/oauthserver/auth.go gives it:

- its transport is Go's http.Transport as k8s.io/apimachinery's SetTransportDefaults leaves it: keep-alive,
  with at most 2 idle connections per host (Go's DefaultMaxIdleConnsPerHost; HTTP/2 only where the remote
  offers it, which gunicorn does not), so a busy OAuth server opens new TLS connections, each a full
  handshake (no session cache is set);
- a username with ':' is refused before any call; otherwise `GET <url>`, no body, HTTP Basic credentials,
  `Accept: application/json`; the provider's `ca` is the only trust root, `tlsClientCert`/`tlsClientKey`
  the client certificate; redirects are refused ("Redirect attempted");
- 401: wrong credentials (the body is not read); any other status: the body must be JSON, decoded into
  `{Error string}` (Go matches keys case-insensitively: "error", "Error"...), a non-empty one is the error;
  then any status but 200 is "An error occurred while authenticating (<status>)"; a 200 needs a
  non-empty `sub` ("Could not retrieve user data"), with `name`, `preferred_username` and `email` kept.

`authenticate` returns (identity, None) for a user, (None, None) for wrong credentials, (None, error).
"""

from __future__ import annotations

import json

import requests
import requests.adapters

IDLE_PER_HOST = 2  # Go's http.DefaultMaxIdleConnsPerHost: more connections are opened, then closed


def _field(body: dict, name: str):
    """What Go's encoding/json puts in a field tagged `name`: the exact key, else a case-insensitive one."""
    if name in body:
        return body[name]
    return next((value for key, value in body.items() if key.lower() == name.lower()), None)


class BasicAuthClient:
    def __init__(self, url: str, ca_file: str | None = None, cert: tuple[str, str] | None = None, timeout=30):
        self.url = url
        self.session = requests.Session()
        self.session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=IDLE_PER_HOST))
        self.verify = ca_file if ca_file else True  # per request: a Session's own loses to REQUESTS_CA_BUNDLE
        self.cert = cert
        self.timeout = timeout

    def authenticate(self, username: str, password: str) -> tuple[dict | None, str | None]:
        if ":" in username:
            return None, "invalid username"
        try:
            response = self.session.get(self.url, auth=(username.encode(), password.encode()),
                                        headers={"Accept": "application/json"}, allow_redirects=False,
                                        verify=self.verify, cert=self.cert, timeout=self.timeout)
        except requests.RequestException as error:
            return None, f"the remote could not be reached: {type(error).__name__}: {error}"
        return interpret(response.status_code, response.content)


def interpret(status: int, content: bytes) -> tuple[dict | None, str | None]:
    """A remote's answer as the OAuth server reads it (after the request, which `authenticate` makes)."""
    if 300 <= status < 400:
        return None, "Redirect attempted"
    if status == 401:
        return None, None
    try:
        body = json.loads(content)
    except ValueError as error:
        return None, f"the body is not JSON: {error}"
    if not isinstance(body, dict):
        return None, "the body is not a JSON object"
    remote_error = _field(body, "error")
    if isinstance(remote_error, str) and remote_error:
        return None, remote_error
    if status != 200:
        return None, f"An error occurred while authenticating ({status})"
    sub = _field(body, "sub")
    if not isinstance(sub, str) or not sub:
        return None, "Could not retrieve user data"
    identity = {"sub": sub}
    for name in ("name", "preferred_username", "email"):
        value = _field(body, name)
        if isinstance(value, str):
            identity[name] = value
    return identity, None
