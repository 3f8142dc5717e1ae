"""From the executor loop to live HTTP streams: wake-ups, not data.

The runtime calls `listener` from its loop thread (and worker threads, for log lines) and must
never wait, so the hub only wakes the waiters of the execution concerned; each stream then
reads what changed from the database, where it has already been persisted. A waiter that is
woken many times before it runs is woken once (the flag), so a chatty task cannot flood the
event loop. Execution state changes are also handed to the scheduler (Flow triggers, stopAfter).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from lanner.runtime.flow_trigger import Ended

ALL = "*"  # waiters of every execution (the executions list's live refresh)


class Waiter:
    """Wakes one asyncio task from any thread."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self._pending = False

    def wake(self) -> None:
        if self._pending:
            return
        self._pending = True
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop is closed (server shutting down)
            pass

    async def wait(self, timeout: float) -> bool:
        """True when woken, False on timeout (callers re-read the database either way)."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._pending = False
            self.event.clear()


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, tuple[Waiter, ...]] = {}
        self.on_execution: Callable[[Ended], None] | None = None

    # -- the runtime's side ------------------------------------------------------------------

    def listener(self, kind: str, payload: Any) -> None:
        if kind == "execution":
            execution_id = payload.id
            if self.on_execution is not None:
                self.on_execution(Ended(payload.id, payload.namespace, payload.flow_id, payload.flow_revision,
                                        payload.state.current.value, dict(payload.labels), dict(payload.outputs),
                                        dict(payload.trigger) if payload.trigger else None))
            for w in self._waiters.get(ALL, ()):
                w.wake()
        elif kind in ("log", "run"):
            execution_id = payload.execution_id
        else:
            return
        for w in self._waiters.get(execution_id, ()):
            w.wake()

    def poke(self, execution_id: str) -> None:
        """Wake the waiters of an execution (and the list) after a change made outside the loop."""
        for topic in (execution_id, ALL):
            for w in self._waiters.get(topic, ()):
                w.wake()

    # -- the streams' side -------------------------------------------------------------------

    def subscribe(self, topic: str) -> Waiter:
        """A waiter for one execution id (or ALL); call from inside the event loop."""
        waiter = Waiter(topic)
        with self._lock:
            self._waiters[topic] = self._waiters.get(topic, ()) + (waiter,)
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        with self._lock:
            rest = tuple(w for w in self._waiters.get(waiter.topic, ()) if w is not waiter)
            if rest:
                self._waiters[waiter.topic] = rest
            else:
                self._waiters.pop(waiter.topic, None)
