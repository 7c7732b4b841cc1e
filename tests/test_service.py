"""The registration service over fake documents (our own adapter interface) in cluster mode."""

from __future__ import annotations

import math

import pytest

from app.committer import Committer
from app.errors import AlreadyTaken
from app.ledger import Limits
from app.ratelimit import ClientLimiter
from app.service import RegistrationService
from app.settings import Settings
from app.store import Documents, NoRefresher, Store
from app.switch import Switch
from tests.helpers import FAST_ROUNDS, GOOD
from tests.fakes import MemoryDocument, RecordingMirror


def cluster_store(settings, logins, records, state) -> Store:
    """A store as cluster mode builds it (copies kept until refreshed), over fakes of our documents."""
    documents = Documents(logins, records, RecordingMirror(), max_age=math.inf)
    return Store("cluster", settings, documents, Switch(state, settings.registration_open, max_age=math.inf),
                 NoRefresher())


@pytest.fixture
def cluster_service(tmp_path):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, cluster_sync=True)
    logins, records, state = MemoryDocument(), MemoryDocument(), MemoryDocument()
    for document, name in ((logins, "htpasswd"), (records, "registrations"), (state, "state")):
        document.label = name
    store = cluster_store(settings, logins, records, state)
    committer = Committer(store.documents, Limits(), interval=0, timeout=5)
    service = RegistrationService(settings, store, committer, ClientLimiter(None, tmp_path / "c.sqlite3"))
    return service, store, logins


def test_a_stale_copy_never_decides_a_refusal_or_an_again(cluster_service):
    service, store, logins = cluster_service
    assert not service.register(GOOD, "1.2.3.4").again
    store.documents.read()  # the refresher's copy now holds alice
    logins.external_write(b"")  # an instructor removed her (another process)
    again = service.register(GOOD, "1.2.3.4")
    assert not again.again  # created anew, not "your account exists"
    assert logins.content.startswith(b"alice:$2y$")


def test_a_stale_copy_does_not_hide_a_taken_name(cluster_service):
    service, store, logins = cluster_service
    store.documents.read()  # empty copy
    logins.external_write(b"alice:{SHA}made-by-hand\n")
    with pytest.raises(AlreadyTaken):
        service.register(dict(GOOD, email="other@example.com"), "1.2.3.4")
    assert logins.content == b"alice:{SHA}made-by-hand\n"


def test_the_open_switch_overrides_the_setting_for_every_reader(cluster_service):
    service, store, _ = cluster_service
    assert store.settings.registration_open and service.is_open()
    store.switch.set(False)
    assert not service.is_open()
    replica = cluster_store(store.settings, store.documents.logins, store.documents.roster,
                            store.switch.document)  # another replica
    replica.switch.refresh()
    assert not replica.switch.is_open()
