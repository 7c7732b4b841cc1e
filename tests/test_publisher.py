"""The publisher (and, beside it, the activations and the batch history that follow its writes) against
fakes of our own documents and OAuth Deployment, with the time passed in (no sleeps).

What is checked is what OpenShift would do after each write: a write during a rollout supersedes it, so
there must be none (until MAX_PUBLISH_DELAY), and every pending login must end up written once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from app import activation, htpasswd, roster
from app.activation import Batch
from app.documents import Documents, Snapshot
from app.eventstate import EventState
from app.handover import HTPasswdHandover
from app.history import BatchHistory
from app.ledger import Limits
from app.oauthwatch import OAuthWatch
from app.publisher import Policy, Publisher
from app.reserver import tidy
from app.rollout import GENERATION, OAuthServer, Pace
from app.roster import Registration
from tests.fakes import MemoryDocument, RecordingMirror, ScriptedOAuth

PACE = Pace(interval=1.0, grace=30.0, unseen_interval=120.0, max_delay=300.0)
T0 = 1_800_000_000.0  # the tests' clock: epoch seconds, moved by hand


class Clocked(MemoryDocument):
    """A MemoryDocument whose writes are stamped with the test's clock, as a Secret's annotation would be."""

    def __init__(self, content: bytes = b"", clock: list[float] | None = None):
        super().__init__(content)
        self.clock = clock

    def write(self, base, content, notes=None):
        written = super().write(base, content, notes)
        self.written_at = self.clock[0]
        return dataclasses.replace(written, written_at=self.clock[0])

    def read(self) -> Snapshot:
        return dataclasses.replace(super().read(), written_at=self.written_at)


@dataclasses.dataclass
class World:
    clock: list
    logins: Clocked
    roster: MemoryDocument
    oauth: ScriptedOAuth

    @property
    def now(self) -> float:
        return self.clock[0]

    def publisher(self, pace: Pace = PACE, state: EventState | None = None, shared: bool = True) -> Publisher:
        """A replica's publisher, as app.handover wires it (the roster tidied after each write); with the
        event state, its activations (`.handover`) and batch history (`.history`) beside it."""
        documents = Documents(self.logins, self.roster, RecordingMirror(), max_age=0)
        watch = OAuthWatch(self.oauth, pace)
        publisher = Publisher(documents, watch, Policy(pace, Limits(), shared),
                              listeners=[lambda reading, added: tidy(documents, reading)])
        if state is not None:
            publisher.handover = HTPasswdHandover(documents, state, watch, publisher)
            publisher.history = BatchHistory(documents, watch, state, interval=5.0)
        return publisher

    def register(self, *names: str, age: float = 0) -> None:
        """Rows that a reservation (of any process) stored: pending logins."""
        when = datetime.fromtimestamp(self.now - age, timezone.utc).replace(microsecond=0)
        records = roster.parse_store(self.roster.content.decode()) if self.roster.content else []
        records += [Registration(n, n.title(), f"{n}@example.com", when, pending_login=f"{n}:$2y$04${n}")
                    for n in names]
        self.roster.external_write(roster.render_store(records).encode())

    def written(self) -> list[str]:
        return sorted(htpasswd.entries(self.logins.content))

    def tick(self, seconds: float) -> None:
        self.clock[0] += seconds


def world(content: bytes = b"", oauth=None) -> World:
    clock = [T0]
    return World(clock, Clocked(content, clock), MemoryDocument(), ScriptedOAuth(oauth or OAuthServer(4)))


def test_a_lone_registration_on_a_quiet_cluster_is_written_at_once_with_the_generation_seen():
    w = world(b"# by hand\nteacher:{SHA}x\n")
    w.register("alice")
    w.publisher().step(w.now)
    assert w.written() == ["alice", "teacher"] and w.logins.writes == 1
    assert w.logins.content.startswith(b"# by hand\nteacher:{SHA}x\n")  # other lines kept byte for byte
    assert w.logins.notes[GENERATION] == "4"
    assert roster.parse_store(w.roster.content.decode())[0].pending_login == ""  # hash tidied away


def test_lines_it_did_not_add_stop_every_write_unless_the_logins_are_shared():
    """HTPASSWD_SECRET_SHARED off: a Secret holding other users' lines gets no login of ours; its own does."""
    w = world(b"teacher:{SHA}x\n")
    w.register("alice")
    publisher = w.publisher(shared=False)
    publisher.step(w.now)
    assert w.logins.writes == 0
    status = publisher.status(w.now)
    assert status.pending == 1 and status.next_write is None and "1 lines this app did not add" in status.blocked
    own = world()
    own.register("bob")
    own.publisher(shared=False).step(own.now)
    assert own.written() == ["bob"]  # lines it added itself are no reason to stop
    own.register("carol")
    own.tick(60)
    own.publisher(shared=False).step(own.now)
    assert own.written() == ["bob", "carol"]


def test_no_write_while_a_rollout_is_in_progress_then_one_write_for_everyone():
    w = world(oauth=OAuthServer(5, rolling=True))
    publisher = w.publisher()
    for _, name in enumerate(["a1", "a2", "a3", "a4", "a5"]):
        w.register(name)
        publisher.step(w.now)
        w.tick(10)
    assert w.logins.writes == 0
    w.oauth.server = OAuthServer(5)  # the rollout completes
    publisher.step(w.now)
    assert w.written() == ["a1", "a2", "a3", "a4", "a5"] and w.logins.writes == 1


def test_after_our_write_the_next_waits_for_the_rollout_it_causes():
    w = world(oauth=OAuthServer(4))
    publisher = w.publisher()
    w.register("first")
    publisher.step(w.now)
    w.tick(2)
    w.register("second")
    publisher.step(w.now)  # the operator has not reacted yet: generation still 4, within the grace
    assert w.logins.writes == 1
    w.oauth.server = OAuthServer(5, rolling=True)  # now it rolls out
    w.tick(60)
    publisher.step(w.now)
    assert w.logins.writes == 1
    w.oauth.server = OAuthServer(5)  # done
    w.tick(60)
    publisher.step(w.now)
    assert w.written() == ["first", "second"] and w.logins.writes == 2 and w.logins.notes[GENERATION] == "5"


def test_an_operator_that_never_reacts_holds_writes_only_for_the_grace():
    w = world(oauth=OAuthServer(4))
    publisher = w.publisher()
    w.register("first")
    publisher.step(w.now)
    w.register("second")
    w.tick(29)
    publisher.step(w.now)
    assert w.logins.writes == 1
    w.tick(2)
    publisher.step(w.now)
    assert w.logins.writes == 2


def test_a_rollout_that_never_completes_holds_nobody_past_max_publish_delay():
    w = world(oauth=OAuthServer(9, rolling=True))
    publisher = w.publisher()
    w.register("stuck")
    w.tick(299)
    publisher.step(w.now)
    assert w.logins.writes == 0
    w.tick(2)
    publisher.step(w.now)
    assert w.written() == ["stuck"]


def test_unseen_rollouts_space_the_writes():
    w = world(oauth=OAuthServer.unseen("forbidden"))
    publisher = w.publisher()
    w.register("first")
    publisher.step(w.now)
    w.tick(60)
    w.register("second")
    publisher.step(w.now)
    assert w.logins.writes == 1
    w.tick(61)
    publisher.step(w.now)
    assert w.written() == ["first", "second"] and GENERATION not in w.logins.notes


def test_two_replicas_write_once_per_slot_the_loser_sees_the_winners_write():
    w = world(oauth=OAuthServer(4))
    one, two = w.publisher(), w.publisher()
    w.register("alice")
    two.documents.latest()  # replica two read the documents before replica one wrote
    one.step(w.now)
    w.register("bob")
    two.step(w.now)  # fresh read before writing: one's write and its generation are there
    assert w.logins.writes == 1 and w.written() == ["alice"]


def test_pending_rows_of_a_dead_process_are_published_by_anyone():
    w = world()
    w.register("orphan", age=3600)  # reserved by a replica that was killed before it published
    w.publisher().step(w.now)
    assert w.written() == ["orphan"]


def test_the_commit_interval_separates_writes():
    w = world(oauth=OAuthServer(4))
    publisher = w.publisher(dataclasses.replace(PACE, interval=5.0))
    w.register("a")
    publisher.step(w.now)
    w.oauth.server = OAuthServer(6)  # moved on and done: only the interval holds
    w.tick(2)
    w.register("b")
    assert publisher.step(w.now) == 3 and w.logins.writes == 1
    w.tick(3)
    publisher.step(w.now)
    assert w.logins.writes == 2


def test_status_says_what_is_pending_and_when_it_is_due():
    w = world(oauth=OAuthServer(5, rolling=True, detail="0 of 1 OAuth pods updated"))
    publisher = w.publisher()
    assert publisher.status(w.now).pending == 0
    w.register("alice", "bob", age=10)
    status = publisher.status(w.now)
    assert (status.pending, status.rollout, status.after_rollout) == (2, "in progress", True)
    assert status.next_write == T0 + 290 and status.oauth == "0 of 1 OAuth pods updated"
    w.oauth.server = OAuthServer(5)
    w.tick(1.5)
    status = publisher.status(w.now)
    assert status.rollout == "idle" and status.due_in() == 0


def test_a_login_counts_active_once_the_rollout_its_write_caused_completes_and_the_batch_is_recorded_once():
    w = world(oauth=OAuthServer(4))
    state = EventState(MemoryDocument(), True, max_age=0)
    publisher, replica = w.publisher(state=state), w.publisher(state=state)
    w.register("alice", "bob")
    assert publisher.handover.activations(w.now) == {"alice": "pending", "bob": "pending"}
    publisher.step(w.now)
    assert w.written() == ["alice", "bob"]
    assert activation.unconfirmed(w.logins.read().notes) == {"alice", "bob"}  # noted with the write itself
    assert publisher.handover.activations(w.now) == {"alice": "pending", "bob": "pending"}  # written, not served yet
    w.tick(10)
    w.oauth.server = OAuthServer(5, rolling=True)
    publisher.step(w.now)
    assert publisher.handover.activations(w.now) == {"alice": "pending", "bob": "pending"} and state.batches() == []
    assert publisher.history.record(publisher.documents.latest(), w.now)  # still rolling out: not yet
    w.tick(60)
    w.oauth.server = OAuthServer(5)  # the rollout completed
    publisher.step(w.now)
    assert publisher.handover.activations(w.now) == {"alice": "active", "bob": "active"}
    assert not publisher.history.record(publisher.documents.latest(), w.now)
    assert state.batches() == [Batch(T0, w.now, 2)]
    replica.history.record(replica.documents.latest(), w.now + 5)  # another replica sees it too: recorded once
    assert state.batches() == [Batch(T0, w.now, 2)]


def test_a_write_forced_during_a_rollout_carries_the_superseded_logins_over():
    w = world(oauth=OAuthServer(4))
    publisher = w.publisher(state=EventState(MemoryDocument(), True, max_age=0))
    w.register("alice")
    publisher.step(w.now)
    w.tick(10)
    w.oauth.server = OAuthServer(5, rolling=True)  # alice's rollout, which will not complete in time
    w.register("bob", age=PACE.max_delay + 1)  # overdue: written anyway, superseding alice's rollout
    publisher.step(w.now)
    assert w.written() == ["alice", "bob"]
    assert activation.unconfirmed(w.logins.read().notes) == {"alice", "bob"}
    assert publisher.handover.activations(w.now) == {"alice": "pending", "bob": "pending"}


def test_a_live_check_or_a_refusal_decides_before_the_rollout_is_seen():
    w = world(oauth=OAuthServer(4))
    state = EventState(MemoryDocument(), True, max_age=0)
    publisher = w.publisher(state=state)
    w.register("alice", "bob", "carol")
    publisher.step(w.now)
    state.confirm("alice")  # the page's live check logged in as alice
    state.refuse("bob")  # OpenShift answered "already mapped" for bob
    assert publisher.handover.activations(w.now) == {"alice": "active", "bob": "refused", "carol": "pending"}
