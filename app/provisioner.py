"""The attendees' projects, made once their logins are written (PROJECT_TEMPLATE): the publisher's writes
hand the names over, and one worker makes them one at a time from a bounded queue, never holding up a
write. A name that does not fit in the queue, or whose project fails, is left to the log and to
`python -m app projects`, which makes every missing project again (idempotent).
"""

from __future__ import annotations

import logging

from app.documents import Reading
from app.errors import StoreError
from app.parts import Projects
from app.runtime import Queue

log = logging.getLogger(__name__)
QUEUE_SIZE = 2000  # names waiting for their project: more than one event's burst


class Provisioner:
    def __init__(self, projects: Projects, size: int = QUEUE_SIZE):
        self.projects = projects
        self.queue = Queue("projects", self.make, size)

    def written(self, reading: Reading, added: list[str]) -> None:
        """A publisher's listener: the names whose logins were just written."""
        for name in added:
            if not self.queue.put(name):
                log.warning("event=project_deferred username=%s reason='too many waiting' retry='python -m app "
                            "projects'", name)

    def make(self, name: object) -> None:
        try:
            self.projects.ensure(str(name))
        except StoreError as error:
            log.warning("event=project_failed username=%s cause=%r retry='python -m app projects'", name, error.cause)
