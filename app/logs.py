"""Logging to stdout, one key=value line per event, at LOG_LEVEL."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def configure(level: str, stream=None) -> None:
    """Send the app's log lines to stdout (the container's log), or another stream, at the given level."""
    root = logging.getLogger()
    if not any(getattr(h, "_workshop", False) for h in root.handlers):
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%dT%H:%M:%S%z"))
        handler._workshop = True
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "kubernetes"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
