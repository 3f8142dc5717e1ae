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
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def hard_on_signal(runtime: Any) -> Iterator[None]:
    """While a graceful stop is under way, SIGTERM or SIGINT makes it a hard stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(_signum: int, _frame: Any) -> None:
        runtime.kill(hard=True)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
