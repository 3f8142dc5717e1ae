"""Messages of the cluster's queues, and how a waiting role is woken up.

Every message is a row: writing it in the same transaction as the state it follows from is what
makes a crash between deciding and acting impossible. Wake-ups carry no data — a woken role
reads the tables — so a lost wake-up only costs the fallback poll interval, never a message.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any, Protocol

from lanner.model.results import WorkerResult

# Channels (PostgreSQL NOTIFY names): who should look at which table.
EVENTS = "lanner_events"  # queue_events has something due: executors
JOBS = "lanner_jobs"  # queue_jobs has something to claim: workers
CANCELS = "lanner_cancels"  # a claimed job must be cancelled: workers
EXECUTIONS = "lanner_executions"  # an execution changed (payload: its id): webservers' live views
CHANGES = "lanner_changes"  # execution_changes has rows: the active scheduler
CHANNELS = (EVENTS, JOBS, CANCELS, EXECUTIONS, CHANGES)


class Kind:
    """What an executor event says; each maps onto one call of `engine.executor.Executor`."""

    START = "start"  # a CREATED execution: start()
    RESTART = "restart"  # a restarted execution (failed runs reset): start()
    RESULT = "result"  # a worker's report of one attempt: on_result()
    WORKER_LOST = "worker_lost"  # the worker holding an attempt died: on_worker_lost()
    KILL = "kill"  # kill(hard)
    RESUME = "resume"  # resume a paused run (API): resume()
    RESUME_DUE = "resume_due"  # a pause's delay or timeout is due: resume(run, state)
    RETRY_DUE = "retry_due"  # a retry is due: on_retry_due()
    SLA_DUE = "sla_due"  # a MAX_DURATION SLA's time is up: on_sla_due()
    SUBFLOW_END = "subflow_end"  # a waited-for child execution ended: on_subflow_end()
    SUBFLOW_FAILED = "subflow_failed"  # a child could not start: fail_run()
    FAIL_RUN = "fail_run"  # a task run whose events could not be applied, again and again: fail_run()


@dataclasses.dataclass(slots=True)
class Event:
    seq: int
    execution_id: str
    kind: str
    payload: dict[str, Any]


def encode_result(r: WorkerResult) -> str:
    return json.dumps(r.to_json(), separators=(",", ":"), default=str)


def decode_result(execution_id: str, p: dict[str, Any]) -> WorkerResult:
    return WorkerResult.from_json(execution_id, p)


class Waker(Protocol):
    """Wakes the threads of this process that wait on a channel."""

    def wait(self, channel: str, timeout: float) -> bool:
        """Block until `channel` is signalled or `timeout` passes; True when signalled."""

    def signal(self, channel: str) -> None:
        """Wake this process's waiters of `channel` (other processes hear the database's NOTIFY)."""

    def close(self) -> None: ...


class LocalSignals:
    """One flag per channel; the base of both wakers (in-process signals are always delivered)."""

    def __init__(self) -> None:
        self._events = {c: threading.Event() for c in CHANNELS}
        self.listeners: list[Any] = []  # callables (channel, payload) for EXECUTIONS pokes

    def wait(self, channel: str, timeout: float) -> bool:
        event = self._events[channel]
        woke = event.wait(max(timeout, 0.0))
        event.clear()
        return woke

    def signal(self, channel: str, payload: str = "") -> None:
        self._events[channel].set()
        for listener in self.listeners:
            listener(channel, payload)

    def close(self) -> None:
        for event in self._events.values():
            event.set()


def epoch() -> float:
    """Queue timestamps: epoch seconds of this machine (keep the cluster's clocks in sync, NTP)."""
    return time.time()
