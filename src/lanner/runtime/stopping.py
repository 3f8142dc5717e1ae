"""Stopping as operators expect: SIGTERM is a graceful stop, a second signal a hard one.

Kubernetes and systemd send SIGTERM, wait, then SIGKILL. So SIGTERM must not lose cleanup:
nothing new starts outside `finally`, running attempts get a grace period to finish
(LANNER_STOP_GRACE seconds, default 30), then they are cancelled the graceful way so `finally`
still runs, and only then does the process exit. A second SIGTERM or SIGINT stops at once and
says which cleanup it skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from lanner.errors import LannerError

DEFAULT_GRACE_SECONDS = 30.0


def grace_seconds() -> float:
    raw = os.environ.get("LANNER_STOP_GRACE", "")
    if not raw:
        return DEFAULT_GRACE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise LannerError(f"LANNER_STOP_GRACE={raw!r} is not a number of seconds",
                          hint="set it to how long running tasks may take to finish on SIGTERM, e.g. 30")
    return value


class StopSignals:
    """SIGTERM and SIGINT of a long-running process (a server, a cluster role), counted.

    The first asks for the graceful stop, the second for the hard stop, and a third exits at once
    (status 1), for an operator whose hard stop itself hangs. One handler owns both signals for the
    whole life of the process, so no library's handler (uvicorn's) decides what the second one means.
    """

    def __init__(self, graceful: Callable[[], None], hard: Callable[[], None]) -> None:
        self.graceful = graceful
        self.hard = hard
        self.received: list[int] = []

    def __call__(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            self.graceful()
        elif len(self.received) == 2:
            self.hard()
        else:
            sys.stderr.write("exiting at once\n")
            sys.stderr.flush()
            os._exit(1)

    @property
    def hard_asked(self) -> bool:
        return len(self.received) >= 2

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """These handlers for SIGINT and SIGTERM while inside (main thread only: Python's rule)."""
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
