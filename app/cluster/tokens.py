"""The attendees' OAuth access tokens (opt-in: openshift/extras/revoke-tokens grants the rights).

Ending a login (its htpasswd line removed, or the BasicAuth remote refusing it) does not end an access
token the OAuth server has already issued (valid 24 h by default): whoever holds one keeps using the
cluster. So at the event's end, and when an attendee is removed, the app deletes the attendee's
`oauthaccesstokens.oauth.openshift.io` (cluster-scoped, named after a hash of the token, so neither a
name nor a listed object is a usable token). RBAC cannot name future tokens, so the right is cluster-wide:
the app itself touches only tokens whose `userName` is exactly one of the names it was given, checked
on every object before deleting it, whatever the server's field selector did. Without the right, a
cluster admin runs the `oc` commands given by `commands()`.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator

from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection
from app.errors import PermissionDenied, StoreUnavailable

log = logging.getLogger(__name__)
TOKENS = ("oauth.openshift.io", "v1", "oauthaccesstokens")
SELECTED = 20  # up to this many users, one list per user by field selector; more, one list of all tokens
PAGE = 500


class AccessTokens:
    """OAuth access tokens, listed and deleted through oauth-apiserver, of the named users only."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.objects = client.CustomObjectsApi(connection.api)

    def revoke(self, usernames: set[str]) -> int:
        """Delete every access token whose `userName` is one of `usernames`; how many were deleted (one
        already gone is not counted). PermissionDenied without the component, StoreUnavailable otherwise."""
        names = {name for name in usernames if name}
        if not names:
            return 0
        if len(names) <= SELECTED:
            items = (item for name in sorted(names) for item in self._items(f"userName={name}"))
        else:
            items = self._items(None)
        deleted = sum(self._delete(item) for item in items if item.get("userName") in names)
        log.info("event=tokens_revoked count=%d users=%d", deleted, len(names))
        return deleted

    def allowed(self) -> bool:
        """Whether the app may list tokens (the component is enabled): one list of at most one token. False
        also when the API cannot be reached: the commands are then given, which are never wrong."""
        try:
            self.connection.call(self.objects.list_cluster_custom_object, *TOKENS, limit=1)
            return True
        except (ApiException, StoreUnavailable):
            return False

    def commands(self, usernames: set[str]) -> list[str]:
        """What a cluster admin runs instead: one `oc delete` per user, by the same field selector."""
        return [f"oc delete oauthaccesstokens {shlex.quote('--field-selector=userName=' + name)}"
                for name in sorted(usernames)]

    def _items(self, selector: str | None) -> Iterator[dict]:
        """Every token the list answers (with the field selector, if any), page by page."""
        more = None
        while True:
            options = {"limit": PAGE, **({"field_selector": selector} if selector else {}),
                       **({"_continue": more} if more else {})}
            try:
                page = self.connection.call(self.objects.list_cluster_custom_object, *TOKENS, **options)
            except ApiException as error:
                raise _translated(error, "list") from None
            yield from page.get("items") or []
            more = (page.get("metadata") or {}).get("continue")
            if not more:
                return

    def _delete(self, item: dict) -> bool:
        """Delete this very object (its uid as a precondition); False when it is gone already."""
        metadata = item.get("metadata") or {}
        try:
            self.connection.call(self.objects.delete_cluster_custom_object, *TOKENS, metadata.get("name"),
                                 body=client.V1DeleteOptions(preconditions=client.V1Preconditions(
                                     uid=metadata.get("uid"))))
            return True
        except ApiException as error:
            if error.status in (404, 409):  # gone, or its name now another object's: not the one we checked
                return False
            raise _translated(error, "delete") from None


def _translated(error: ApiException, verb: str) -> Exception:
    if error.status in (401, 403):
        return PermissionDenied(
            f"the service account may not {verb} oauthaccesstokens (HTTP {error.status}); enable "
            "openshift/extras/revoke-tokens, or run the printed oc commands as a cluster admin")
    return StoreUnavailable(f"the Kubernetes API failed to {verb} oauthaccesstokens (HTTP {error.status})")
