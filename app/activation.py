"""Who can log in: each attendee's login, pending, active, refused or ended, and the batches of the chart
(pure).

A login is *pending* until it is written and the OAuth rollout that write caused has completed; then it
is *active* — or earlier, when a live check confirmed it. It is *refused* when OpenShift refused it (the
name belongs to another identity), and *ended* once the event's end took it away (app.ending). The
logins written whose rollout is not yet known to be complete are noted on the htpasswd Secret with the
write itself (UNCONFIRMED): a write forced during a rollout carries the previous write's names over,
since that rollout was superseded. Files keep no notes: in local mode a written login is active. Each
completed batch is recorded once in the event state, for the chart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence

from app.ledger import Line
from app.roster import Registration

PENDING, ACTIVE, REFUSED, ENDED = "pending", "active", "refused", "ended"
STATES = (PENDING, ACTIVE, REFUSED, ENDED)
UNCONFIRMED = "unconfirmed-logins"  # the note: JSON list of the usernames whose rollout is not known done


def unconfirmed(notes: Mapping[str, str]) -> set[str]:
    """The names noted on the last write of the logins as not yet served by a completed rollout."""
    try:
        names = json.loads(notes.get(UNCONFIRMED) or "[]")
    except ValueError:
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def note(written: Iterable[str], carried: Iterable[str]) -> dict[str, str]:
    """The note for a write of these names (plus those carried over from a superseded rollout)."""
    return {UNCONFIRMED: json.dumps(sorted(set(written) | set(carried)), separators=(",", ":"))}


def activations(registered: Sequence[tuple[Registration, Line]], waiting: set[str], settled: bool,
                refused: Iterable[str], confirmed: Iterable[str]) -> dict[str, str]:
    """Each registered username's login: pending, active or refused.

    `waiting` are the names written but not known served (the note), `settled` whether the rollout after
    the last write has completed, `confirmed` those a live check found working.
    """
    refused, confirmed = set(refused), set(confirmed)
    found = {}
    for record, line in registered:
        name = record.username
        if line == Line.ENDED:
            found[name] = ENDED
        elif name in refused:
            found[name] = REFUSED
        elif line == Line.PENDING or name in waiting and not settled and name not in confirmed:
            found[name] = PENDING
        else:
            found[name] = ACTIVE
    return found


def counts(found: Mapping[str, str]) -> dict[str, int]:
    values = list(found.values())
    return {state: values.count(state) for state in STATES}


@dataclasses.dataclass(frozen=True)
class Batch:
    """One write of the logins and when its rollout completed (epoch seconds), for the chart."""

    written: float
    active: float
    count: int
