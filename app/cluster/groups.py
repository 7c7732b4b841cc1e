"""The attendees' OpenShift Group (ATTENDEE_GROUP): its users kept equal to the attendees whose logins work,
so that an instructor grants the whole room a namespace with one RoleBinding
(`oc adm policy add-role-to-group edit <group> -n <namespace>`).

Least privilege: openshift/setup.sh creates the Group, labelled as the event's (and refuses one that is not);
openshift/extras/attendee-group lets the app get, update and patch that one Group by name and nothing else,
so it can neither create, delete nor list Groups, nor touch anyone else's. A write is one PUT carrying the
resourceVersion it read: a concurrent change (an admin's `oc adm groups add-users`) is never overwritten
blind but answered 409, and the app reads again and writes what it wants on top of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection
from app.errors import PermissionDenied, StoreUnavailable

log = logging.getLogger(__name__)
GROUPS = ("user.openshift.io", "v1", "groups")
ATTEMPTS = 5  # writes tried when others keep changing the Group in between


class AttendeeGroup:
    """One OpenShift Group, read and replaced by name."""

    def __init__(self, connection: Connection, name: str):
        self.connection = connection
        self.objects = client.CustomObjectsApi(connection.api)
        self.name = name

    def members(self) -> set[str]:
        """Its users now."""
        return set(self._read().get("users") or [])

    def set_members(self, names: set[str] | Callable[[], set[str]]) -> bool:
        """Make its users exactly `names` (sorted) in one write, none when they are already; True when it
        wrote. A function is asked after each read of the Group, so that the write rests on what it learnt
        after the Group it replaces; a 409 (the Group changed since it was read) reads it again, up to
        ATTEMPTS times."""
        for _ in range(ATTEMPTS):
            group = self._read()
            wanted = sorted(names() if callable(names) else names)
            if set(group.get("users") or []) == set(wanted):
                return False
            group["users"] = wanted
            try:
                self.connection.call(self.objects.replace_cluster_custom_object, *GROUPS, self.name, group)
            except ApiException as error:
                if error.status == 409:
                    continue
                raise self._translate("update", error) from None
            log.info("event=group_written group=%s members=%d", self.name, len(wanted))
            return True
        raise StoreUnavailable(f"the Group {self.name} changed during each of {ATTEMPTS} writes (HTTP 409)")

    def _read(self) -> dict:
        try:
            return self.connection.call(self.objects.get_cluster_custom_object, *GROUPS, self.name)
        except ApiException as error:
            raise self._translate("get", error) from None

    def _translate(self, verb: str, error: ApiException) -> Exception:
        if error.status == 404:
            return PermissionDenied(f"the Group {self.name} does not exist: run openshift/setup.sh "
                                    "(it creates the Group named by ATTENDEE_GROUP)")
        if error.status in (401, 403):
            return PermissionDenied(f"the service account may not {verb} the Group {self.name} (HTTP "
                                    f"{error.status}): enable openshift/extras/attendee-group (its ATTENDEE_GROUP "
                                    "names the Group the app may write)")
        return StoreUnavailable(f"the Kubernetes API failed to {verb} groups/{self.name} (HTTP {error.status})")
