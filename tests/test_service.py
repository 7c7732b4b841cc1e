"""The registration service over fake documents (our own adapter interface) in cluster mode."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import timedelta

import pytest

from app import htpasswd, ledger, roster
from app.documents import Documents
from app.errors import AlreadyTaken, NotRecognised, RegistrationError
from app.eventstate import EventState
from app.ledger import Limits, Line
from app.oauthwatch import OAuthWatch
from app.publisher import Policy, Publisher
from app.ratelimit import ClientLimiter
from app.reserver import Reserver
from app.rollout import OAuthServer, Pace
from app.service import RegistrationService
from app.settings import Settings
from app.store import NoRefresher, Store
from tests.fakes import MemoryDocument, RecordingMirror, ScriptedOAuth
from tests.helpers import FAST_ROUNDS, GOOD


def cluster_store(settings, logins, records, state) -> Store:
    """A store as cluster mode builds it (copies kept until refreshed), over fakes of our documents."""
    documents = Documents(logins, records, RecordingMirror(), max_age=math.inf)
    return Store("cluster", settings, documents, EventState(state, settings.registration_open, max_age=math.inf),
                 NoRefresher(), MemoryDocument())


@pytest.fixture
def cluster_service(tmp_path, start):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, cluster_sync=True)
    logins, records, state = MemoryDocument(), MemoryDocument(), MemoryDocument()
    for document, name in ((logins, "htpasswd"), (records, "registrations"), (state, "state")):
        document.label = name
    store = cluster_store(settings, logins, records, state)
    reserver = start(Reserver(store.documents, Limits(), timeout=5))
    service = RegistrationService(settings, store, reserver, ClientLimiter(None, tmp_path / "c.sqlite3"))
    return service, store, logins


GENERATIONS = itertools.count(1)


def publish(store) -> None:
    """What any replica's publisher does once the OAuth rollout of the last write has completed."""
    Publisher(store.documents, OAuthWatch(ScriptedOAuth(OAuthServer(next(GENERATIONS))), Pace()), Policy()).step()


def test_a_registration_is_answered_pending_and_again_before_and_after_it_is_written(cluster_service):
    service, store, logins = cluster_service
    first = service.register(GOOD, "1.2.3.4")
    assert (first.line, first.again) == (Line.PENDING, False) and logins.content == b""
    again = service.register(GOOD, "1.2.3.4")  # a retry while the login waits: the same registration
    assert (again.line, again.again, again.registered_at) == (Line.PENDING, True, first.registered_at)
    publish(store)
    again = service.register(GOOD, "1.2.3.4")
    assert (again.line, again.again) == (Line.WRITTEN, True)
    with pytest.raises(AlreadyTaken):  # the right username and email, another password: not "again"
        service.register(dict(GOOD, password="cobalt walrus tangerine", password_confirm="cobalt walrus tangerine"),
                         "1.2.3.4")


def test_a_stale_copy_never_decides_a_refusal_or_an_again(cluster_service):
    service, store, logins = cluster_service
    assert not service.register(GOOD, "1.2.3.4").again
    publish(store)
    store.documents.read()  # the refresher's copy now holds alice
    logins.external_write(b"")  # an instructor removed her (another process)...
    store.documents.roster.external_write(b"")  # ...and her record
    again = service.register(GOOD, "1.2.3.4")
    assert not again.again  # registered anew, not "you are registered"
    publish(store)
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
    assert store.settings.registration_open and service.closure() is None
    store.state.set_open(False)
    assert service.closure() is not None
    replica = cluster_store(store.settings, store.documents.logins, store.documents.roster,
                            store.state.document)  # another replica
    replica.state.refresh()
    assert not replica.state.is_open()


OTHER = "another long passphrase 42"


def test_the_same_username_and_password_bring_the_registration_back_at_any_time(cluster_service):
    service, store, logins = cluster_service
    first = service.register(GOOD, "1.2.3.4")
    publish(store)
    old = dataclasses.replace(roster.parse_store(store.documents.roster.content.decode())[0],
                              registered_at=first.registered_at - timedelta(days=1))
    store.documents.roster.external_write(roster.render_store([old]).encode())  # as if registered yesterday
    store.documents.read()
    again = service.register(dict(GOOD, email="other@example.com"), "1.2.3.4")  # another email: still them
    assert again.again and again.registered_at == old.registered_at and again.line == Line.WRITTEN
    back = service.sign_back_in({k: GOOD[k] for k in ("username", "password", "access_code") if k in GOOD}, "1.2.3.4")
    assert back == again
    with pytest.raises(AlreadyTaken):  # someone else's password: the name is taken
        service.register(dict(GOOD, password=OTHER, password_confirm=OTHER), "1.2.3.4")
    for wrong in (dict(username=GOOD["username"], password=OTHER),
                  dict(username="nobody-here", password=GOOD["password"]), dict(username="", password="")):
        with pytest.raises(NotRecognised) as refused:
            service.sign_back_in(dict(wrong, access_code=GOOD.get("access_code", "")), "1.2.3.4")
        assert refused.value.status == 403 and set(refused.value.errors) == {"form"}  # the same for each


class HeldNames:
    """Our UserDirectory interface: these names belong to Users of another identity provider."""

    def __init__(self, *held: str):
        self.names, self.asked = set(held), []

    def identity(self, username: str) -> str:
        return f"workshop:{username}"

    def held(self, username: str) -> bool:
        self.asked.append(username)
        return username in self.names


def test_a_name_the_cluster_holds_is_taken_before_any_hash(tmp_path, start):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, cluster_sync=True)
    store = dataclasses.replace(cluster_store(settings, MemoryDocument(), MemoryDocument(), MemoryDocument()),
                                users=HeldNames(GOOD["username"]))
    hashed = []
    service = RegistrationService(settings, store, start(Reserver(store.documents, Limits(), timeout=5)),
                                  ClientLimiter(None, tmp_path / "c.sqlite3"),
                                  make_entry=lambda *args: hashed.append(args) or b"x:y")
    with pytest.raises(AlreadyTaken) as refused:
        service.register(GOOD, "1.2.3.4")
    assert refused.value.errors == {"username": ledger.USERNAME_TAKEN} and hashed == []
    invalid = dict(GOOD, username="someone-else", password="x", password_confirm="x")
    with pytest.raises(RegistrationError):
        service.register(invalid, "1.2.3.4")
    assert store.users.asked == [GOOD["username"]]  # asked only once every other check had passed


def test_a_claim_without_the_right_code_reads_nothing_and_the_right_one_reads_after_it(tmp_path, start):
    from app.claims import ClaimService
    from app.errors import SeatsTaken, WrongAccessCode
    from app.settings import digest
    from app.tickets import SharedKey

    settings = Settings(data_dir=tmp_path, rate_limit=None, cluster_sync=True, seats=True,
                        access_code_digest=digest("velvet-otter"))
    logins, records, state = MemoryDocument(), MemoryDocument(), MemoryDocument()
    reads = []
    for document in (logins, records):
        document.before_read = reads.append
    store = cluster_store(settings, logins, records, state)
    service = ClaimService(RegistrationService(settings, store, start(Reserver(store.documents, Limits(), timeout=5)),
                                               ClientLimiter(None, tmp_path / "c.sqlite3")), SharedKey(store.key))
    for form in ({"email": "ann@example.com", "access_code": "wrong"}, {"email": "ann@example.com"},
                 {"email": ["x"], "access_code": {"a": 1}}):
        with pytest.raises(WrongAccessCode):
            service.claim(form, client="10.0.0.1")
    assert reads == [] and store.key.writes == 0  # no Secret read, no key made
    with pytest.raises(SeatsTaken):  # the right code: now the documents are read (no seats made)
        service.claim({"email": "ann@example.com", "access_code": "velvet-otter"}, client="10.0.0.1")
    assert reads


def test_whether_an_email_is_registered_is_said_only_after_a_hash_was_paid_for(tmp_path, start):
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=FAST_ROUNDS, rate_limit=None, cluster_sync=True)
    store = cluster_store(settings, MemoryDocument(), MemoryDocument(), MemoryDocument())
    reserver = start(Reserver(store.documents, Limits(), timeout=5))
    hashed = []

    def make_entry(username, password, rounds):
        hashed.append(username)
        return htpasswd.make_entry(username, password, rounds)
    service = RegistrationService(settings, store, reserver, ClientLimiter(None, tmp_path / "c.sqlite3"), make_entry)
    service.register(GOOD, "1.2.3.4")
    with pytest.raises(AlreadyTaken) as refused:
        service.register(dict(GOOD, username="fresh-name"), "1.2.3.4")  # her email, a name of its own
    assert set(refused.value.errors) == {"email"} and hashed == ["alice", "fresh-name"]
    with pytest.raises(AlreadyTaken) as refused:
        service.register(dict(GOOD, email="other@example.com", password=OTHER, password_confirm=OTHER),
                         "1.2.3.4")  # a taken name (another password): said without hashing one
    assert set(refused.value.errors) == {"username"} and hashed == ["alice", "fresh-name"]


def test_each_username_gets_a_budget_of_password_checks_whoever_asks(cluster_service, tmp_path):
    """Signing back in (or registering again) checks a password with bcrypt: at most a few a minute per
    name, from any address, then "too many attempts for this username" — and the name is simply taken."""
    from app.errors import RateLimited

    service, store, _ = cluster_service
    service.register(GOOD, "1.2.3.4")
    service.per_name = ClientLimiter("3/minute", tmp_path / "names.sqlite3", scope="password-checks")
    guesses = [dict(username="alice", password=f"guess number {n}", access_code=GOOD.get("access_code", ""))
               for n in range(3)]
    for number, guess in enumerate(guesses):
        with pytest.raises(NotRecognised):
            service.sign_back_in(guess, f"10.0.0.{number}")  # each from another address
    with pytest.raises(RateLimited) as limited:
        service.sign_back_in(dict(guesses[0], password=GOOD["password"]), "10.0.0.9")  # even the right one
    assert "this username" in limited.value.errors["form"]
    with pytest.raises(AlreadyTaken):  # registering again as her: no check left, the name is taken
        service.register(GOOD, "10.0.0.10")
    with pytest.raises(NotRecognised):  # another name has its own budget
        service.sign_back_in(dict(guesses[0], username="bob-smith"), "10.0.0.11")
