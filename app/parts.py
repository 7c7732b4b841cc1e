"""The parts of the store whose implementation depends on where the app runs, as interfaces, each with its
null implementation for local files (no cluster): OpenShift's Users, the addresses read from the cluster,
the OAuth server's Deployment, attendees' projects, the attendees' Group and their OAuth tokens. The cluster's
implementations are in app.cluster.
"""

from __future__ import annotations

from typing import Protocol

from app.rollout import OAuthServer


class Users(Protocol):
    """OpenShift's User and Identity objects (app.cluster.UserDirectory)."""

    def identity(self, username: str) -> str:
        """The Identity OpenShift makes for an attendee's first login."""

    def held(self, username: str) -> bool:
        """True when a User of this name is mapped to an identity: another provider's (OpenShift would refuse
        our attendee's login) or ours (a removed attendee's: the newcomer would log in as that User, with its
        groups, bindings and project). False when unknown."""

    def exists(self, name: str) -> bool | None:
        """Whether a User of this name exists: None when it cannot be known (no right to read Users)."""

    def delete_user(self, name: str) -> bool | None:
        """Delete a User: True deleted, False none; PermissionDenied when not allowed."""

    def delete_identity(self, name: str) -> bool | None:
        """Delete an Identity: True deleted, False none; PermissionDenied when not allowed."""


class ClusterInfo(Protocol):
    """Addresses and a CA read from the cluster (app.cluster.ClusterInfo); None when not found."""

    def console_url(self) -> str | None: ...

    def api_server_url(self) -> str | None: ...

    def oauth_ca(self) -> str | None: ...

    def route_url(self, namespace: str | None, name: str) -> str | None: ...


class OAuthDeployment(Protocol):
    """The OAuth server's Deployment, read (app.cluster.OAuthRollout)."""

    def observe(self) -> OAuthServer:
        """Its generation and whether it is rolling out, or why it cannot be seen."""


class Projects(Protocol):
    """A project per attendee (app.cluster.Projects, when PROJECT_TEMPLATE is set)."""

    enabled: bool

    def name_for(self, username: str) -> str: ...

    def ensure(self, username: str) -> str:
        """Make (or complete) the attendee's project: created, exists, foreign or denied."""

    def delete(self, username: str) -> bool:
        """Delete the attendee's project if this app requested it; False when there is none it may see."""

    def commands(self, username: str) -> list[str]:
        """What a cluster admin runs to make it by hand."""

    def delete_command(self, username: str) -> str: ...


class Group(Protocol):
    """The OpenShift Group of the attendees whose logins work (app.cluster.AttendeeGroup, ATTENDEE_GROUP)."""

    name: str  # "" when there is none

    def members(self) -> set[str]:
        """Its users now (StoreError when it cannot be read; PermissionDenied when not allowed or missing)."""

    def set_members(self, names) -> bool:
        """Make its users exactly `names` (a set, or a function asked after each read of the Group), in one
        write (none when equal); True when it wrote."""


class Tokens(Protocol):
    """The attendees' OAuth access tokens (app.cluster.AccessTokens, with openshift/extras/revoke-tokens)."""

    def revoke(self, usernames: set[str]) -> int:
        """Delete every OAuth access token of these users, and no one else's; how many were deleted.
        PermissionDenied when the app may not (the component is not enabled)."""

    def commands(self, usernames: set[str]) -> list[str]:
        """What a cluster admin runs to do it by hand."""

    def allowed(self) -> bool:
        """Whether the app may revoke tokens (one list of at most one token; nothing is deleted)."""


class NoUsers:
    """Local mode: there are no OpenShift User and Identity objects."""

    def __init__(self, provider: str = "workshop"):
        self.provider = provider

    def identity(self, username: str) -> str:
        return f"{self.provider}:{username}"

    def held(self, username: str) -> bool:
        return False

    def exists(self, name: str) -> bool:
        return False

    def delete_user(self, name: str) -> None:
        return None

    def delete_identity(self, name: str) -> None:
        return None


class NoClusterInfo:
    """Local mode: no cluster to discover addresses from."""

    def console_url(self) -> None:
        return None

    def api_server_url(self) -> None:
        return None

    def oauth_ca(self) -> None:
        return None

    def route_url(self, namespace, name) -> None:
        return None


class NoOAuthDeployment:
    """Local mode: no OAuth server rolls out after a write."""

    def observe(self) -> OAuthServer:
        return OAuthServer(0, False, "none (local files)")


class NoProjects:
    """PROJECT_TEMPLATE unset (or local mode): no projects are made, none deleted."""

    enabled = False

    def name_for(self, username: str) -> str:
        return ""

    def ensure(self, username: str) -> str:
        return "off"

    def delete(self, username: str) -> bool:
        return False

    def commands(self, username: str) -> list[str]:
        return []

    def delete_command(self, username: str) -> str:
        return ""


class NoGroup:
    """ATTENDEE_GROUP unset (or local mode): no Group is kept."""

    name = ""

    def members(self) -> set[str]:
        return set()

    def set_members(self, names) -> bool:
        return False


class NoTokens:
    """Local mode: no OAuth server issues tokens."""

    def revoke(self, usernames: set[str]) -> int:
        return 0

    def commands(self, usernames: set[str]) -> list[str]:
        return []

    def allowed(self) -> bool:
        return False
