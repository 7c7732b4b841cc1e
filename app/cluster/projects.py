"""A project per attendee (PROJECT_TEMPLATE, opt-in: openshift/extras/projects grants the rights).

Once an attendee's login is written, the app requests a project for them, named from the template, as
any person may (a ProjectRequest): OpenShift makes the namespace, annotates it with the requester
(`openshift.io/requester`, which nobody can change afterwards) and binds `admin` there to the app. So
the app is admin of the projects it requested and of nothing else. It then binds the event's quota role
to itself there, sets the ResourceQuota and LimitRange the instructor keeps in the ConfigMap
`workshop-registration-project` (keys `resourcequota` and `limitrange`: each the object's `spec` as YAML
or JSON), and only then binds `admin` to the attendee; a project it has just requested is deleted again
when any of that fails. Idempotent: an existing project of ours is completed, never duplicated; one it
did not request is "foreign" and never touched. Without the rights, the `oc` commands are given instead.
"""

from __future__ import annotations

import logging
import threading
import time

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from app.cluster.client import Connection, why
from app.errors import StoreUnavailable

log = logging.getLogger(__name__)
CONFIG_MAP = "workshop-registration-project"
BINDING, QUOTA_ACCESS, QUOTA, LIMITS = "workshop-admin", "workshop-quota", "workshop-quota", "workshop-limits"
REQUESTER = "openshift.io/requester"
PROJECTS = ("project.openshift.io", "v1")
ADMIN_WAIT = 10.0  # seconds a new project's `admin` binding may take to reach the authorizer


class Projects:
    """The attendees' projects, requested and deleted through OpenShift's project API."""

    enabled = True

    def __init__(self, connection: Connection, template: str, event: str | None):
        self.connection = connection
        self.core = client.CoreV1Api(connection.api)
        self.rbac = client.RbacAuthorizationV1Api(connection.api)
        self.objects = client.CustomObjectsApi(connection.api)
        self.auth = client.AuthenticationV1Api(connection.api)
        self.authz = client.AuthorizationV1Api(connection.api)
        self.template = template
        self.event = event or "workshop-registration"  # the app's namespace names the event
        self._me: str | None = None
        self._lock = threading.Lock()

    def name_for(self, username: str) -> str:
        return self.template.replace("{username}", username)

    def ensure(self, username: str) -> str:
        """Make (or complete) the attendee's project: "created", "exists", "foreign" or "denied"."""
        name = self.name_for(username)
        try:
            created = self._request(name, username)
            if not created and not self._ours(name):
                log.warning("event=project_refused project=%s username=%s reason='a project of that name exists "
                            "and was not requested by this app'", name, username)
                return "foreign"
            try:
                if created:
                    self._wait_for_admin(name)
                self._complete(name, username)
            except (ApiException, StoreUnavailable):
                if created:  # no project of an attendee without its quota: take back what was just made
                    self._delete(name)
                raise
        except ApiException as error:
            if error.status in (401, 403):
                log.warning("event=project_denied project=%s username=%s cause=%r fix='enable "
                            "openshift/extras/projects, or run: %s'", name, username, why(error),
                            " && ".join(self.commands(username)))
                return "denied"
            raise StoreUnavailable(f"the Kubernetes API failed to make project {name} (HTTP {error.status})") from None
        outcome = "created" if created else "exists"
        log.info("event=project_ready project=%s username=%s outcome=%s", name, username, outcome)
        return outcome

    def delete(self, username: str) -> bool:
        """Delete the attendee's project if this app requested it: True deleted; False when there is none
        the app may see (none, someone else's, or its admin binding taken away)."""
        name = self.name_for(username)
        try:
            if not self._ours(name):
                return False
            return self._delete(name)
        except ApiException as error:
            raise StoreUnavailable(f"the Kubernetes API failed to delete project {name} (HTTP {error.status})") \
                from None

    def commands(self, username: str) -> list[str]:
        """What a cluster admin runs where the app may not (the project, then the attendee's admin role)."""
        name = self.name_for(username)
        return [f"oc new-project {name} --skip-config-write",
                f"oc adm policy add-role-to-user admin {username} -n {name}"]

    def delete_command(self, username: str) -> str:
        return f"oc delete project {self.name_for(username)} --ignore-not-found"

    def _request(self, name: str, username: str) -> bool:
        """Request the project; True when made now, False when one of that name exists already."""
        try:
            self._call(self.objects.create_cluster_custom_object, *PROJECTS, "projectrequests", {
                "apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest", "metadata": {"name": name},
                "displayName": f"{username}'s lab", "description": f"workshop {self.event}: {username}"})
            return True
        except ApiException as error:
            if error.status == 409:
                return False
            raise

    def _ours(self, name: str) -> bool:
        """Whether the project exists and this app requested it (a project it may not see is not ours)."""
        try:
            project = self._call(self.objects.get_cluster_custom_object, *PROJECTS, "projects", name)
        except ApiException as error:
            if error.status in (403, 404):
                return False
            raise
        return ((project.get("metadata") or {}).get("annotations") or {}).get(REQUESTER) == self._identity()

    def _complete(self, name: str, username: str) -> None:
        """The quota role for the app, the quota and limits, then `admin` for the attendee, in that order."""
        me = self._identity()
        _, _, account = me.rpartition(":")
        self._create(self.rbac.create_namespaced_role_binding, name, {
            "metadata": {"name": QUOTA_ACCESS},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": f"workshop-registration-project-quota.{self.event}"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": self.event}]})
        quota, limits = self._specs()
        if quota:
            self._create(self.core.create_namespaced_resource_quota, name, {"metadata": {"name": QUOTA}, "spec": quota})
        if limits:
            self._create(self.core.create_namespaced_limit_range, name, {"metadata": {"name": LIMITS}, "spec": limits})
        self._create(self.rbac.create_namespaced_role_binding, name, {
            "metadata": {"name": BINDING},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": username}]})

    def _wait_for_admin(self, name: str) -> None:
        """Wait (briefly) until the API server's authorizer knows the `admin` binding OpenShift just made
        for the app in the new project: its caches follow a new RoleBinding within moments, not at once."""
        delay, waited = 0.05, 0.0
        while waited < ADMIN_WAIT:
            review = self._call(self.authz.create_self_subject_access_review, {"spec": {"resourceAttributes": {
                "verb": "create", "group": "rbac.authorization.k8s.io", "resource": "rolebindings",
                "namespace": name}}})
            if review.status.allowed:
                return
            time.sleep(delay)
            waited += delay
            delay = min(1.0, delay * 2)

    def _delete(self, name: str) -> bool:
        try:
            self._call(self.objects.delete_cluster_custom_object, *PROJECTS, "projects", name)
            return True
        except ApiException as error:
            if error.status in (403, 404):
                return False
            raise

    def _identity(self) -> str:
        """The app's own user name, as the API server knows it (system:serviceaccount:<ns>:<name>)."""
        with self._lock:
            if self._me is None:
                review = self._call(self.auth.create_self_subject_review, {})
                self._me = review.status.user_info.username
            return self._me

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
