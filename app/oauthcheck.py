"""Asking the cluster's OAuth server whether a login works, the way `oc login` asks it.

Discovery at `<API>/.well-known/oauth-authorization-server`, then
`GET <authorization_endpoint>?client_id=openshift-challenging-client&response_type=token` with Basic
auth and `X-CSRF-Token` (openshift/oc pkg/helpers/tokencmd): a 302 whose fragment holds `access_token`
means the login works, a 401 means not (yet). With `mappingMethod: claim`, a name that an existing
OpenShift User already holds through another identity answers 500 "... cannot be claimed ... already
mapped ..." (oauth-server pkg/userregistry/identitymapper): that login will never work.

A successful check leaves a real access token (24 h, `user:full`). It is revoked at once with itself:
`DELETE <API>/apis/oauth.openshift.io/v1/useroauthaccesstokens/<name>`, where the name of a token
`sha256~X` is `sha256~` + base64url(SHA-256(X)) without padding (oauth-server's TokenToObjectName);
every user may delete their own tokens. The password and the token are never kept or logged.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import logging
import threading
from urllib.parse import parse_qs, urlsplit

import requests

log = logging.getLogger(__name__)
CLIENT_ID = "openshift-challenging-client"
TIMEOUT = (3.0, 5.0)
TOKENS_PATH = "/apis/oauth.openshift.io/v1/useroauthaccesstokens/"
CLAIM_REFUSED = ("already mapped", "cannot be claimed")


class Answer(enum.Enum):
    WORKS = "works"
    NOT_YET = "not yet"  # 401, or the server unreachable: ask again later
    REFUSED = "refused"  # the name belongs to another identity: it will never work


def token_object_name(token: str) -> str:
    """The name of the OAuthAccessToken object behind an access token (as the OAuth server names it)."""
    secret = token.removeprefix("sha256~")
    digest = hashlib.sha256(secret.encode()).digest()
    return "sha256~" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class LoginChecker:
    """Checks credentials against the OAuth server found from the API URL."""

    def __init__(self, api_url: str, verify: str | bool = True):
        self.api_url = api_url.rstrip("/")
        self.verify = verify
        self._endpoint: str | None = None
        self._session = requests.Session()
        self._lock = threading.Lock()

    def check(self, username: str, password: str) -> Answer:
        """Whether the OAuth server accepts these credentials now; a token it issues is revoked at once."""
        endpoint = self._authorize_endpoint()
        if endpoint is None:
            return Answer.NOT_YET
        try:
            response = self._session.get(
                endpoint, params={"client_id": CLIENT_ID, "response_type": "token"},
                auth=(username.encode(), password.encode("utf-8")), headers={"X-CSRF-Token": "1"},
                allow_redirects=False, timeout=TIMEOUT, verify=self.verify)
        except requests.RequestException as error:
            log.warning("event=login_check_failed cause=%r", type(error).__name__)
            return Answer.NOT_YET
        if response.status_code in (301, 302, 303, 307):
            tokens = parse_qs(urlsplit(response.headers.get("Location", "")).fragment).get("access_token")
            if not tokens:
                return Answer.NOT_YET
            self._revoke(tokens[0])
            return Answer.WORKS
        if response.status_code == 500 and any(words in response.text[:2000] for words in CLAIM_REFUSED):
            return Answer.REFUSED
        return Answer.NOT_YET

    def _revoke(self, token: str) -> None:
        """Delete the token with itself; a failure is logged (without the token) and changes nothing else."""
        try:
            response = self._session.delete(self.api_url + TOKENS_PATH + token_object_name(token),
                                            headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT,
                                            verify=self.verify)
        except requests.RequestException as error:
            log.warning("event=token_revoke_failed cause=%r", type(error).__name__)
            return
        if response.status_code not in (200, 202):
            log.warning("event=token_revoke_failed status=%d", response.status_code)

    def _authorize_endpoint(self) -> str | None:
        with self._lock:
            if self._endpoint is None:
                try:
                    response = self._session.get(f"{self.api_url}/.well-known/oauth-authorization-server",
                                                 timeout=TIMEOUT, verify=self.verify)
                    response.raise_for_status()
                    self._endpoint = response.json()["authorization_endpoint"]
                except (requests.RequestException, ValueError, KeyError) as error:
                    log.warning("event=oauth_discovery_failed url=%s cause=%r", self.api_url, type(error).__name__)
            return self._endpoint


