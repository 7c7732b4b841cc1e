"""The instructor's seat operations (app.admin.AdminService has them): make seats, and release seats
claimed by someone who took more than their own (app.seats.bursts finds them).

Seats are accounts made ahead, handed out by claiming one (app.claims). One attendee with the access code
can claim many, under other people's emails, and a room behind one NAT shares an address, so no limit per
address can tell them from a room: /admin and `status` show every address that claimed CLAIM_BURST seats
or more within a minute, and `seats release` gives those seats back, with new passwords.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

from app import htpasswd, ledger, metrics, roster, rules, seats
from app.documents import ended_in, roster_records, update
from app.errors import Conflict
from app.settings import usable_cpus

log = logging.getLogger("app.admin")  # the instructor's actions: one logger
MAX_SEATS = 500  # per `seats create` (or click on /admin): each takes a bcrypt hash, about 50 ms of a core


class SeatsRefused(ValueError):
    """The seats asked for cannot be made (a name taken or not valid, too many): nothing was changed."""


class EventOver(ValueError):
    """The event has ended: an ended login is not reset or handed out again (its record stays as it is)."""


class SeatDesk:
    """Mixed into AdminService, whose documents, settings, key, _registered, reset_password and _refresh it
    uses."""

    def next_seat(self, prefix: str = "user") -> int:
        """The first free number for more seats of this prefix (app.seats.next_number)."""
        state = self.documents.latest()
        return seats.next_number(prefix, self.documents.index(state), self.store.state.retired())

    def create_seats(self, count: int, prefix: str = "user", start: int = 1) -> list[tuple[str, str]]:
        """Make `count` seats named prefix+start… in one roster write; return (username, password) pairs,
        to be printed once (each password is derived from the seat's nonce, app.seats, never stored).

        Their logins are pending: the next write of the logins publishes them all at once (the caller
        wakes the handover). Raises SeatsRefused, with nothing changed, when a name is taken or invalid.
        """
        if not 1 <= count <= MAX_SEATS:
            raise SeatsRefused(f"make 1 to {MAX_SEATS} seats at a time")
        names = seats.names(prefix, start, count)
        invalid = next(((name, problem) for name in (names[0], names[-1])
                        if (problem := rules.check_username(name, self.settings)[1])), None)
        if invalid:
            raise SeatsRefused(f"{invalid[0]} is not a valid username: {invalid[1]}")
        state = self.documents.latest(fresh=True)
        taken = seats.taken(names, prefix, self.documents.index(state))
        if taken:
            raise SeatsRefused(taken)
        retired = sorted(set(names) & set(self.store.state.retired()))
        if retired:
            raise SeatsRefused(f"removed, their User and Identity maybe still there: {', '.join(retired)} "
                               "(python -m app unblock NAME once they are gone)")
        key = self.key.get()
        nonces = {name: seats.new_nonce() for name in names}
        made = {name: seats.password(key, name, nonce) for name, nonce in nonces.items()}
        with ThreadPoolExecutor(max(1, usable_cpus())) as pool:  # bcrypt lets go of the GIL while it hashes
            lines = pool.map(lambda name: htpasswd.make_entry(name, made[name], self.settings.bcrypt_rounds), names)
            now = roster.now()
            rows = [seats.row(name, line, nonces[name], now) for name, line in zip(names, lines, strict=True)]
        while True:
            snapshot = self.documents.roster.read()
            logins = self.documents.logins.read()
            records = self.documents.records(snapshot)
            plan = ledger.plan_roster(logins.content, records, rows, ledger.Limits.for_settings(self.settings))
            if plan.refused:
                problem = next(iter(plan.refused.values()))
                raise SeatsRefused("; ".join(problem.errors.values()) + f" (for {names[min(plan.refused)]})")
            try:
                metrics.counted_write(self.documents.roster, "roster", snapshot,
                                      roster.render_store(plan.records).encode())
                break
            except Conflict:
                continue  # someone registered meanwhile: plan again on what they wrote
        self._refresh()
        log_action("create_seats", f"{names[0]}..{names[-1]}")
        return [(name, made[name]) for name in names]

    def release_seats(self, usernames: list[str]) -> list[str]:
        """Give claimed seats back: unclaimed again, each with a new password (so the one its claimer saw no
        longer works) that its next claimer will see. Returns the seats released (claimed seats only)."""
        released = []
        for username in usernames:
            record = self._registered(username)
            if record.ended:
                raise EventOver(f"the event has ended: {username}'s seat is a record now")
            if not record.seat or record.unclaimed:
                continue

            def unclaim(content: bytes, name=username) -> bytes:
                records = roster_records(content)
                if ended_in(records, name):  # ended meanwhile: a record now
                    raise EventOver(f"the event has ended: {name}'s seat is a record now")
                records = [dataclasses.replace(r, email="", claimed_at=None, claimed_from="", seat_nonce="")
                           if r.username == name else r for r in records]
                return roster.render_store(records).encode()
            update(self.documents.roster, unclaim)
            self._refresh()
            self.reset_password(username)  # an unclaimed seat: a new nonce, and its password's line
            released.append(username)
        for username in released:
            log_action("release_seat", username)
        return released


def log_action(action: str, username: str = "-") -> None:
    """Every instructor's action, in one form (app.admin's too), without secrets."""
    log.info("event=admin_action who=admin action=%s username=%s", action, username)
