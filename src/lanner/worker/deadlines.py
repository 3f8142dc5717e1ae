"""One timer thread for all of a worker's deadlines (task timeouts, kill grace periods).

A `threading.Timer` per timeout meant one sleeping thread per running task with a timeout,
plus one per kill; a foreach of a thousand timed tasks held a thousand threads. Here a heap of
due times is served by a single thread, started when the first deadline is set and gone again
once none is pending, so an idle worker (and a worker that is dropped) holds no thread at all.

Callbacks run on that thread, one after another: they must be quick (set an event, report a
result), as the worker's are.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class Deadline:
    """A pending call; `cancel()` before it is due and it never runs."""

    __slots__ = ("_owner", "due", "fn", "seq")

    def __init__(self, owner: Deadlines, due: float, seq: int, fn: Callable[[], Any]) -> None:
        self._owner = owner
        self.due = due
        self.seq = seq
        self.fn = fn

    def __lt__(self, other: Deadline) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)

    def cancel(self) -> None:
        self._owner._cancel(self)


class Deadlines:
    """Calls functions at their due time (monotonic clock), on one shared thread."""

    def __init__(self, name: str = "lanner-deadlines") -> None:
        self._name = name
        self._heap: list[Deadline] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, fn: Callable[[], Any]) -> Deadline:
        """Call `fn` once, `seconds` from now (unless the returned deadline is cancelled first)."""
        with self._cond:
            entry = Deadline(self, time.monotonic() + max(seconds, 0.0), next(self._seq), fn)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return entry

    def pending(self) -> int:
        """How many deadlines are still to come (for tests and diagnostics)."""
        with self._cond:
            return len(self._heap)

    def _cancel(self, entry: Deadline) -> None:
        with self._cond:
            try:
                self._heap.remove(entry)
            except ValueError:
                return  # already ran, or cancelled twice
            heapq.heapify(self._heap)
            self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._heap:
                        self._thread = None  # the next `after` starts a new thread
                        return
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        entry = heapq.heappop(self._heap)
                        break
                    self._cond.wait(wait)
            try:
                entry.fn()
            except Exception:  # logged, not raised: one failing callback must not stop every later deadline
                import logging

                logging.getLogger(__name__).exception("deadline callback failed")
