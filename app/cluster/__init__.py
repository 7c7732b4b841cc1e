"""The Kubernetes API: the only package that imports the kubernetes client.

`connect(settings)` gives the process's one connection (the pod's service-account token, re-read as it
rotates, or KUBECONFIG outside a pod); everything here takes it. `SecretDocument` is the store's
adapter; `openshift` reads and deletes OpenShift's own objects. API failures are translated here, once,
into the app's errors, with the fix named where there is one.
"""

from app.cluster.client import Connection, connect
from app.cluster.groups import AttendeeGroup
from app.cluster.openshift import ClusterInfo, OAuthRollout, UserDirectory
from app.cluster.projects import Projects
from app.cluster.secrets import NOTES, WRITTEN_AT, SecretDocument
from app.cluster.tokens import AccessTokens

__all__ = ["NOTES", "WRITTEN_AT", "AccessTokens", "AttendeeGroup", "ClusterInfo", "Connection", "OAuthRollout",
           "Projects", "SecretDocument", "UserDirectory", "connect"]
