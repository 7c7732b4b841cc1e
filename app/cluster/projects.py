"""A project per attendee (PROJECT_TEMPLATE, opt-in: openshift/extras/projects grants the rights).

Once an attendee's login is written, a namespace named from the template is made for them, labelled as
this event's and that attendee's, with the `admin` ClusterRole bound to their user, and the
ResourceQuota and LimitRange the instructor keeps in the ConfigMap `workshop-registration-project`
(keys `resourcequota` and `limitrange`: each the object's `spec` as YAML or JSON). Idempotent: an
existing project of ours is completed, never duplicated; a namespace of that name that is not ours is
refused and reported, never touched. Without the rights, the `oc` commands are given instead.
"""

from __future__ import annotations

import logging

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection, why
from app.errors import StoreUnavailable

log = logging.getLogger(__name__)
EVENT, ATTENDEE = "workshop-registration/event", "workshop-registration/attendee"
CONFIG_MAP = "workshop-registration-project"
BINDING, QUOTA, LIMITS = "workshop-admin", "workshop-quota", "workshop-limits"


class Projects:
    def __init__(self, connection: Connection, template: str, event: str | None):
        self.connection = connection
        self.core = client.CoreV1Api(connection.api)
        self.rbac = client.RbacAuthorizationV1Api(connection.api)
        self.template = template
        self.event = event or "workshop-registration"  # the app's namespace names the event

    def name_for(self, username: str) -> str:
        return self.template.replace("{username}", username)

    def ensure(self, username: str) -> str:
        """Make (or complete) the attendee's project: "created", "exists", "foreign" or "denied"."""
        name = self.name_for(username)
        labels = {EVENT: self.event, ATTENDEE: username}
        try:
            try:
                self._call(self.core.create_namespace, {"metadata": {
                    "name": name, "labels": labels, "annotations": {"openshift.io/requester": username,
                                                                    "openshift.io/display-name": f"{username}'s lab"}}})
                outcome = "created"
            except ApiException as error:
                if error.status != 409:
                    raise
                found = self._call(self.core.read_namespace, name).metadata.labels or {}
                if found.get(EVENT) != self.event or found.get(ATTENDEE) != username:
                    log.warning("event=project_refused project=%s username=%s reason='a namespace of that name "
                                "is not this event's'", name, username)
                    return "foreign"
                outcome = "exists"
            self._create(self.rbac.create_namespaced_role_binding, name, {
                "metadata": {"name": BINDING, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": username}]})
            quota, limits = self._specs()
            if quota:
                self._create(self.core.create_namespaced_resource_quota, name,
                             {"metadata": {"name": QUOTA, "labels": labels}, "spec": quota})
            if limits:
                self._create(self.core.create_namespaced_limit_range, name,
                             {"metadata": {"name": LIMITS, "labels": labels}, "spec": limits})
        except ApiException as error:
            if error.status in (401, 403):
                log.warning("event=project_denied project=%s username=%s cause=%r fix='enable "
                            "openshift/extras/projects, or run: %s'", name, username, why(error),
                            " && ".join(self.commands(username)))
                return "denied"
            raise StoreUnavailable(f"the Kubernetes API failed to make project {name} (HTTP {error.status})") from None
        log.info("event=project_ready project=%s username=%s outcome=%s", name, username, outcome)
        return outcome

    def delete(self, username: str) -> bool | None:
        """Delete the attendee's project if it is ours: True deleted, False none (or not ours), None denied."""
        name = self.name_for(username)
        try:
            found = self._call(self.core.read_namespace, name).metadata.labels or {}
            if found.get(EVENT) != self.event or found.get(ATTENDEE) != username:
                return False
            self._call(self.core.delete_namespace, name)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            if error.status in (401, 403):
                return None
            raise StoreUnavailable(f"the Kubernetes API failed to delete project {name} (HTTP {error.status})") \
                from None

    def commands(self, username: str) -> list[str]:
        """What a cluster admin runs where the app may not (the project, then the attendee's admin role)."""
        name = self.name_for(username)
        return [f"oc new-project {name} --skip-config-write",
                f"oc adm policy add-role-to-user admin {username} -n {name}"]

    def delete_command(self, username: str) -> str:
        return f"oc delete project {self.name_for(username)} --ignore-not-found"

    def _specs(self) -> tuple[dict | None, dict | None]:
        try:
            data = self._call(self.core.read_namespaced_config_map, CONFIG_MAP, self.event).data or {}
        except ApiException as error:
            if error.status == 404:
                return None, None
            raise
        return _spec(data.get("resourcequota")), _spec(data.get("limitrange"))

    def _create(self, create, namespace: str, body: dict) -> None:
        try:
            self._call(create, namespace, body)
        except ApiException as error:
            if error.status != 409:  # already there: never duplicated, never clobbered
                raise

    def _call(self, method, *args):
        return self.connection.call(method, *args)


def _spec(text: str | None) -> dict | None:
    if not text or not text.strip():
        return None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError:
        spec = None
    if not isinstance(spec, dict):
        log.error("event=project_config_unreadable configmap=%s fix='each key holds a spec as YAML'", CONFIG_MAP)
        return None
    return spec
