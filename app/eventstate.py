"""What every replica must agree on besides the registrations, in one small document (state.json): the
instructor's open/closed switch, when the instructor ended the event, the logins OpenShift refused or a
live check confirmed, the completed batches of logins (for the chart), the attendees whose OAuth tokens are
to be revoked and the signed-out admin sessions.

The switch, with the schedule, decides whether registration is open (app.schedule: the latest event
wins; before any, REGISTRATION_OPENS_AT or REGISTRATION_OPEN). A login is refused when OpenShift answers
that its name already belongs to a user of another identity provider (mappingMethod claim): the
attendee is told at once, and the instructor sees it. In cluster mode the refresher re-reads the
document every REFRESH_INTERVAL, so replicas agree within that; locally the file is read on every
question.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime

from app import roster
from app.activation import Batch
from app.clock import SYSTEM, Clock
from app.documents import Document, update
from app.schedule import Schedule, Window

log = logging.getLogger(__name__)
MAX_BATCHES = 2000  # writes of the logins remembered for the chart (a few per minute at most)
MAX_CONFIRMED = 5000
MAX_LOGINS_SEEN = 5000  # attendees whose logins are remembered (the state shares a Secret with the roster)


class EventState:
    """The shared event state: the switch, refused and confirmed logins, batches, revoked sessions."""

    def __init__(self, document: Document, default: bool, max_age: float, schedule: Schedule = Schedule(),
                 clock: Clock = SYSTEM):
        self.document = document
        self.default = default
        self.max_age = max_age
        self.schedule = schedule
        self.clock = clock
        self._known: tuple[float, dict] | None = None

    def is_open(self) -> bool:
        """True while registration is open (StoreError when the document cannot be read)."""
        return self.window().open

    def window(self) -> Window:
        """Open or not now, and when a scheduled opening is ahead (StoreError when unreadable)."""
        return self.schedule.window(self.clock.utc(), self.default, self._switched(), self._ended_now())

    def ended_at(self) -> datetime | None:
        """When the event ended, if it has: the instructor's end or EVENT_ENDS_AT, the earlier one (a scheduled
        end counts at its time on every replica; StoreError when the document cannot be read)."""
        return self.schedule.ended(self.clock.utc(), self._ended_now())

    def _ended_now(self) -> datetime | None:
        try:
            return roster.parse_time(str(self._state()["ended_at"]))
        except (KeyError, ValueError):
            return None

    def end(self) -> datetime:
        """The instructor ends the event now, for every replica (a second end keeps the first's time)."""
        at = roster.format_time(self.clock.utc())
        self._change(lambda state: state.setdefault("ended_at", at))
        return self.ended_at() or roster.parse_time(at)

    def revoking(self) -> dict[str, float]:
        """The attendees whose OAuth tokens are to be revoked (ended or removed), with since when (epoch)."""
        found = self._state().get("revoking")
        names = {}
        for name, since in (found.items() if isinstance(found, dict) else ()):
            try:
                names[str(name)] = float(since)
            except (TypeError, ValueError):
                continue
        return names

    def revoke_tokens(self, usernames: set[str]) -> None:
        """Ask every replica to revoke these attendees' tokens until their logins' end is served."""
        if usernames - set(self.revoking()):
            now = int(self.clock.now())
            self._change(lambda state: [state.setdefault("revoking", {}).setdefault(name, now) for name in usernames])

    def tokens_revoked(self, usernames: set[str]) -> None:
        if usernames & set(self.revoking()):
            self._change(lambda state: [state.get("revoking", {}).pop(name, None) for name in usernames])

    def _switched(self) -> tuple[bool, datetime] | None:
        """The instructor's last switch and when it happened (a switch without a time: long ago)."""
        state = self._state()
        if "registration_open" not in state:
            return None
        try:
            at = roster.parse_time(str(state.get("changed_at")))
        except ValueError:
            at = datetime.min.replace(tzinfo=self.clock.utc().tzinfo)
        return bool(state["registration_open"]), at

    def set_open(self, value: bool) -> None:
        """Record the instructor's choice where every replica reads it."""
        at = roster.format_time(self.clock.utc())
        self._change(lambda state: state.update(registration_open=value, changed_at=at))

    def refused(self) -> dict[str, str]:
        """The usernames whose login OpenShift refused, with when it was seen."""
        refused = self._state().get("refused")
        return {str(k): str(v) for k, v in refused.items()} if isinstance(refused, dict) else {}

    def refuse(self, username: str) -> None:
        """Record that OpenShift refused this login (once; it is kept until the attendee is removed)."""
        if username not in self.refused():
            self._change(lambda state: state.setdefault("refused", {}).setdefault(
                username, roster.format_time(self.clock.utc())))

    def forget(self, usernames: set[str]) -> None:
        """Forget the refusals, confirmations and logins seen of removed attendees."""
        if usernames & (set(self.refused()) | self.confirmed() | set(self.logins_seen())):
            def edit(state: dict) -> None:
                for name in usernames:
                    state.get("refused", {}).pop(name, None)
                    if isinstance(state.get("logins_seen"), dict):
                        state["logins_seen"].pop(name, None)
                state["confirmed"] = [n for n in state.get("confirmed") or [] if n not in usernames]
            self._change(edit)

    def retired(self, fresh: bool = False) -> dict[str, str]:
        """Names of removed attendees whose OpenShift User and Identity the app could not delete, with when:
        registered again, the newcomer would log in as that User (mappingMethod claim maps the Identity that
        is still there), with its groups, bindings and project. Refused until those are gone. fresh: read
        the document now (an `unblock` elsewhere counts at once)."""
        names = (self.refresh() if fresh else self._state()).get("retired")
        return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}

    def retire(self, usernames: set[str]) -> None:
        if usernames - set(self.retired()):
            at = roster.format_time(self.clock.utc())
            self._change(lambda state: [state.setdefault("retired", {}).setdefault(name, at) for name in usernames])

    def unretire(self, usernames: set[str]) -> None:
        """Their User and Identity are gone (seen, or confirmed by an admin): the names are free again."""
        if usernames & set(self.retired()):
            self._change(lambda state: [state.get("retired", {}).pop(name, None) for name in usernames])

    def batches(self) -> list[Batch]:
        """The completed writes of the logins, oldest first (for the chart)."""
        found = []
        for item in self._state().get("batches") or []:
            try:
                found.append(Batch(float(item["written"]), float(item["active"]), int(item["count"])))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def record_batch(self, batch: Batch) -> None:
        """Record once that a write's rollout completed (any replica may see it first)."""
        if any(b.written == batch.written for b in self.batches()):
            return

        def edit(state: dict) -> None:
            kept = [b for b in state.get("batches") or [] if isinstance(b, dict) and b.get("written") != batch.written]
            state["batches"] = (kept + [dataclasses.asdict(batch)])[-MAX_BATCHES:]
        self._change(edit)

    def confirmed(self) -> set[str]:
        """The usernames a live check found working before their rollout was seen complete."""
        names = self._state().get("confirmed")
        return set(names) if isinstance(names, list) else set()

    def confirm(self, username: str) -> None:
        """Record that a live check logged in as this attendee (once)."""
        if username in self.confirmed():
            return

        def edit(state: dict) -> None:
            names = set(state.get("confirmed") or []) | {username}
            state["confirmed"] = sorted(names)[-MAX_CONFIRMED:]
        self._change(edit)

    def logins_seen(self) -> dict[str, tuple[float, float]]:
        """Each attendee's first and last login that the BasicAuth remote accepted (epoch seconds)."""
        seen = self._state().get("logins_seen")
        found = {}
        for name, times in (seen.items() if isinstance(seen, dict) else ()):
            try:
                found[str(name)] = (float(times[0]), float(times[1]))
            except (IndexError, TypeError, ValueError):
                continue
        return found

    def record_logins(self, seen: dict[str, tuple[float, float]]) -> None:
        """Add logins seen by one process (first and last per name) to what every replica shares."""
        def edit(state: dict) -> None:
            known = state.get("logins_seen") if isinstance(state.get("logins_seen"), dict) else {}
            for name, (first, last) in seen.items():
                before = known.get(name)
                if isinstance(before, list) and len(before) == 2:
                    first, last = min(first, before[0]), max(last, before[1])
                elif len(known) >= MAX_LOGINS_SEEN:
                    continue
                known[name] = [int(first), int(last)]
            state["logins_seen"] = known
        self._change(edit)

    def revoked_sessions(self) -> set[str]:
        """The admin sessions signed out (their ids), on every replica."""
        revoked = self._state().get("revoked_sessions")
        return set(revoked) if isinstance(revoked, dict) else set()

    def revoke_session(self, session_id: str, keep_after: str) -> None:
        """Record a signed-out admin session; forget those that ended before `keep_after` anyway."""
        def edit(state: dict) -> None:
            revoked = state.get("revoked_sessions") if isinstance(state.get("revoked_sessions"), dict) else {}
            revoked = {sid: at for sid, at in revoked.items() if isinstance(at, str) and at >= keep_after}
            revoked[session_id] = roster.format_time(self.clock.utc())
            state["revoked_sessions"] = revoked
        self._change(edit)

    def _state(self) -> dict:
        known = self._known
        return known[1] if known and self.clock.monotonic() - known[0] <= self.max_age else self.refresh()

    def _change(self, edit) -> None:
        def change(content: bytes) -> bytes:
            state = _parse(content)
            edit(state)
            return json.dumps(state, sort_keys=True).encode()
        self._remember(_parse(update(self.document, change).content))

    def refresh(self) -> dict:
        """Read the document now."""
        return self._remember(_parse(self.document.read().content))

    def _remember(self, state: dict) -> dict:
        self._known = (self.clock.monotonic(), state)
        return state


def _parse(content: bytes) -> dict:
    try:
        state = json.loads(content or b"{}")
    except ValueError:
        log.error("event=state_unreadable fix='rewrite or delete state.json'")
        return {}
    return state if isinstance(state, dict) else {}
