"""Revoking attendees' OAuth access tokens (app.cluster.AccessTokens, openshift/extras/revoke-tokens) on the
real API server, with the component's RBAC rendered from openshift/ and the app as its own ServiceAccount.

OAuthAccessToken is a STAND-IN CRD here (tests/crds/standins.yaml; oauth-apiserver serves it on OpenShift)
with the same field selectors (userName, userUID, clientName). Its objects are named `sha256-<hex>`: a
custom resource's name cannot hold the real `sha256~`. Tokens are cluster-scoped and the server is the
session's, so each test starts and ends with none.
"""

from __future__ import annotations

import logging
import shlex

import pytest

from app import cluster
from app.cluster import tokens as tokens_module
from app.cluster.tokens import AccessTokens
from app.errors import PermissionDenied
from app.settings import Settings
from tests.deploy import Deployment, issue_tokens, token_names
from tests.helpers import wait_until

pytestmark = pytest.mark.cluster
RESOURCE = "oauthaccesstokens.oauth.openshift.io"
OTHERS = ("kube:admin", "attendee-10", "attendee-1x")  # not revoked: names sharing a prefix, a cluster admin


def can_i(kube, kubeconfig, *args) -> str:
    return kube.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False).stdout.strip()


def app_connection(deployment) -> cluster.Connection:
    """The connection the app's own loader builds from its pod's service-account folder."""
    env = deployment.kube.pod_env(deployment.sa_dir())
    return cluster.connect(Settings.from_env({**env, "REGISTRATIONS_SECRET_NAMESPACE": deployment.namespace}))


def with_the_component(kube, tmp_path) -> AccessTokens:
    """openshift/ with extras/revoke-tokens applied; the app's AccessTokens once its binding is in force."""
    deployment = Deployment.apply(kube, tmp_path, ("revoke-tokens",))
    app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "as-app")
    wait_until(lambda: can_i(kube, app, "delete", RESOURCE) == "yes")  # the RBAC caches follow the apply
    return AccessTokens(app_connection(deployment))


class IgnoringSelectors(cluster.Connection):
    """A server that ignores field selectors and answers every token (an old or an odd one)."""

    def call(self, method, *args, **kwargs):
        kwargs.pop("field_selector", None)
        return super().call(method, *args, **kwargs)


def test_only_the_component_lets_the_app_list_and_delete_tokens_and_nothing_more(kube, tmp_path):
    without = Deployment.apply(kube, tmp_path / "without")
    plain = kube.kubeconfig_for(without.sa_dir(), tmp_path / "without-app")
    assert {verb: can_i(kube, plain, verb, RESOURCE) for verb in ("list", "delete")} == {"list": "no", "delete": "no"}

    deployment = Deployment.apply(kube, tmp_path / "with", ("revoke-tokens",))
    app = kube.kubeconfig_for(deployment.sa_dir(), tmp_path / "with-app")
    wait_until(lambda: can_i(kube, app, "list", RESOURCE) == "yes")
    rights = {right: can_i(kube, app, *right) for right in [
        ("list", RESOURCE), ("delete", RESOURCE), ("delete", f"{RESOURCE}/sha256-anyone"), ("get", RESOURCE),
        ("get", f"{RESOURCE}/sha256-anyone"), ("watch", RESOURCE), ("create", RESOURCE), ("update", RESOURCE),
        ("patch", RESOURCE), ("deletecollection", RESOURCE), ("list", "oauthclients.oauth.openshift.io"),
        ("list", "useroauthaccesstokens.oauth.openshift.io"), ("delete", "users.user.openshift.io"),
        ("list", "secrets", "-A")]}
    allowed = {("list", RESOURCE), ("delete", RESOURCE), ("delete", f"{RESOURCE}/sha256-anyone")}
    assert rights == {right: "yes" if right in allowed else "no" for right in rights}
    # The other workshop's account gained nothing from this one's component.
    assert can_i(kube, plain, "list", RESOURCE) == "no"


def test_revoking_deletes_every_token_of_the_named_users_and_no_one_elses(kube, tmp_path, oauth_tokens, caplog):
    tokens = with_the_component(kube, tmp_path)
    made = issue_tokens(oauth_tokens, "attendee-1", "attendee-1", "attendee-2", *OTHERS)
    caplog.set_level(logging.INFO, logger="app.cluster.tokens")

    assert tokens.revoke({"attendee-1", "attendee-2"}) == 3
    assert token_names(oauth_tokens) == {name: user for name, user in made.items() if user in OTHERS}
    assert [r.getMessage() for r in caplog.records] == ["event=tokens_revoked count=3 users=2"]
    assert tokens.revoke({"attendee-1", "attendee-2"}) == 0  # again: nothing left to delete
    assert tokens.revoke(set()) == 0
    assert token_names(oauth_tokens) == {name: user for name, user in made.items() if user in OTHERS}


def test_a_server_ignoring_the_selector_still_gets_no_one_elses_token_deleted(kube, tmp_path, oauth_tokens):
    tokens = with_the_component(kube, tmp_path)
    made = issue_tokens(oauth_tokens, "attendee-1", "attendee-2", *OTHERS)
    ignoring = AccessTokens(IgnoringSelectors(tokens.connection.api))

    assert ignoring.revoke({"attendee-1"}) == 1
    assert token_names(oauth_tokens) == {name: user for name, user in made.items() if user != "attendee-1"}


def test_many_names_are_revoked_from_one_paged_list(kube, tmp_path, oauth_tokens, monkeypatch):
    """More names than field-selector lists are made for (25 > SELECTED): one list of every token, in
    pages (small ones here, so that the continue tokens are followed while tokens are being deleted)."""
    tokens = with_the_component(kube, tmp_path)
    names = {f"attendee-{i}" for i in range(1, 27) if i != 10}  # attendee-10 is one of OTHERS
    assert len(names) == 25 > tokens_module.SELECTED
    made = issue_tokens(oauth_tokens, *sorted(names), "attendee-1", *OTHERS, "attendee-27", "attendee-100")
    monkeypatch.setattr(tokens_module, "PAGE", 4)

    assert tokens.revoke(names) == 26
    assert token_names(oauth_tokens) == {name: user for name, user in made.items() if user not in names}
    assert set(token_names(oauth_tokens).values()) == {*OTHERS, "attendee-27", "attendee-100"}


def test_without_the_component_nothing_is_deleted_and_the_commands_are_given(kube, tmp_path, oauth_tokens):
    deployment = Deployment.apply(kube, tmp_path)
    tokens = AccessTokens(app_connection(deployment))
    made = issue_tokens(oauth_tokens, "attendee-1", "attendee-1", "attendee-2", *OTHERS)

    for names in ({"attendee-1"}, {f"attendee-{i}" for i in range(1, 26)}):  # either way of listing
        with pytest.raises(PermissionDenied, match="enable openshift/extras/revoke-tokens, or run the printed oc"):
            tokens.revoke(names)
    assert token_names(oauth_tokens) == made

    commands = tokens.commands({"attendee-2", "attendee-1"})
    assert commands == ["oc delete oauthaccesstokens --field-selector=userName=attendee-1",
                        "oc delete oauthaccesstokens --field-selector=userName=attendee-2"]
    for command in commands:  # as a cluster admin runs them (kubectl is oc's own kubectl)
        program, *args = shlex.split(command)
        assert program == "oc"
        kube.kubectl(*args)
    assert token_names(oauth_tokens) == {name: user for name, user in made.items() if user in OTHERS}
    assert tokens.commands({"a b", "kube:admin"}) == [
        "oc delete oauthaccesstokens '--field-selector=userName=a b'",
        "oc delete oauthaccesstokens --field-selector=userName=kube:admin"]
