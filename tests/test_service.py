"""The registration service over fake documents (our own adapter interface) in cluster mode."""

from __future__ import annotations

import pytest

from app.committer import Committer
from app.errors import AlreadyTaken
from app.ledger import Limits
from app.ratelimit import ClientLimiter
from app.service import RegistrationService
from app.settings import Settings
from app.store import Store
from tests.conftest import FAST_ROUNDS, GOOD
from tests.fakes import MemoryDocument


@pytest.fixture
def cluster_service(tmp_path):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, cluster_sync=True)
    logins, records, state = MemoryDocument(), MemoryDocument(), MemoryDocument()
    for document, name in ((logins, "htpasswd"), (records, "registrations"), (state, "state")):
        document.label = name
    store = Store(settings, logins, records, state, cluster=True)
    committer = Committer(logins, records, Limits(), interval=0, timeout=5, on_publish=store.published)
    service = RegistrationService(settings, store, committer, ClientLimiter(None, tmp_path / "c.sqlite3"))
    return service, store, logins


def test_a_stale_copy_never_decides_a_refusal_or_an_again(cluster_service):
    service, store, logins = cluster_service
    assert not service.register(GOOD, "1.2.3.4").again
    store.refresh()  # the refresher's copy now holds alice
    logins.external_write(b"")  # an instructor removed her (another process)
    again = service.register(GOOD, "1.2.3.4")
    assert not again.again  # created anew, not "your account exists"
    assert logins.content.startswith(b"alice:$2y$")


def test_a_stale_copy_does_not_hide_a_taken_name(cluster_service):
    service, store, logins = cluster_service
    store.refresh()  # empty copy
    logins.external_write(b"alice:{SHA}made-by-hand\n")
    with pytest.raises(AlreadyTaken):
        service.register(dict(GOOD, email="other@example.com"), "1.2.3.4")
    assert logins.content == b"alice:{SHA}made-by-hand\n"


def test_the_open_switch_overrides_the_setting_for_every_reader(cluster_service):
    service, store, _ = cluster_service
    assert store.settings.registration_open and service.is_open()
    store.set_registration_open(False)
    assert not service.is_open()
    replica = Store(store.settings, store.logins, store.roster, store.state, cluster=True)  # another replica
    replica.refresh()
    assert not replica.registration_open()
