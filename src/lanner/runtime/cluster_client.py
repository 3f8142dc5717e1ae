"""Asking the cluster to do things: create, start, kill, resume and restart executions.

The webserver, the scheduler, the bench and the tests all go through here. Nothing is done in
the caller's process: each request is a row in the executors' queue, written in the transaction
that stores what it refers to (an execution is stored CREATED together with its `start` event,
so an execution can never be left without one). This is the object `server.services.Services`
uses as its runtime when the server runs as cluster roles, with the same methods as the
embedded `LocalRuntime` it replaces there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.model.execution import Execution, new_id
from lanner.model.flow import Flow
from lanner.model.state import StateType
from lanner.runtime.queues import events
from lanner.runtime.queues.base import EXECUTIONS, Kind
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.stored_flows import StoredFlows
from lanner.storage import execution_rows


class LiveExecutions:
    """`execution_id in runtime.live`: is anything still to happen to it (open task runs, events)?"""

    def __init__(self, db: QueueDatabase) -> None:
        self.db = db

    def __contains__(self, execution_id: object) -> bool:
        with self.db.reader.connect() as conn:
            return bool(execution_rows.unfinished_runs(conn, str(execution_id))
                        or events.pending(conn, str(execution_id)))


class ClusterClient:
    def __init__(self, db: QueueDatabase, flows: StoredFlows | None = None) -> None:
        self.db = db
        self.flows = flows or StoredFlows(db.reader)
        self.live = LiveExecutions(db)
        self._poke: Callable[[str], None] | None = None

    # -- what LocalRuntime offers the server ----------------------------------------------------

    def create(self, flow: Flow, inputs: dict[str, Any], labels: dict[str, str] | None = None,
               parent: Execution | None = None, trigger: dict[str, Any] | None = None,
               execution_id: str | None = None) -> Execution:
        """Store a CREATED execution and its `start` event in one transaction."""
        revision = flow.revision or 1
        if flow.source and not self.flows.holds(flow):  # a flow given as a file: stored first
            revision = self.flows.save(flow)
        exe = Execution(id=execution_id or new_id(), namespace=flow.namespace, flow_id=flow.id, flow_revision=revision,
                        inputs=inputs, labels={**flow.labels, **(labels or {})}, variables=dict(flow.variables),
                        trigger=trigger, parent_id=parent.id if parent else None)
        exe.labels.setdefault("system.correlationId",
                              parent.labels.get("system.correlationId", parent.id) if parent else exe.id)
        exe.original_id = exe.id
        with self.db.transaction() as tx:  # one statement: the execution, its start event, the NOTIFYs
            execution_rows.insert(tx.conn, exe, tx.insert_later)
            events.put(tx, exe.id, Kind.START)
            tx.announce(EXECUTIONS, exe.id)
        return exe

    def submit(self, flow: Flow, exe: Execution) -> None:
        """Start a stored execution: a CREATED one was queued by `create`; a restarted one is queued now."""
        if exe.state.current is StateType.CREATED:
            return
        self._send(exe.id, Kind.RESTART, {})

    def kill(self, execution_id: str | None = None, hard: bool = False) -> None:
        if execution_id is None:
            raise ValueError("a cluster kills one execution at a time")
        self._send(execution_id, Kind.KILL, {"hard": hard})

    def resume(self, execution_id: str, run_id: str | None = None,
               inputs: dict[str, dict[str, Any]] | None = None, by: str | None = None) -> None:
        """A manual resume; `inputs` are the paused runs' `onResume` values, typed already."""
        self._send(execution_id, Kind.RESUME, {"taskRunId": run_id, "inputs": inputs or {}, "by": by})

    def recover(self) -> list[str]:
        """Executors resume unfinished executions by themselves: nothing to do in a webserver."""
        return []

    def serve(self) -> None:
        """Nothing runs here: executors run executions (live views hear of changes through `on_change`)."""

    def stop(self) -> None:
        """Nothing runs here."""

    def close(self) -> None:
        """The database is closed by whoever opened it."""

    def on_change(self, poke: Callable[[str], None]) -> None:
        """Call `poke(execution_id)` whenever an executor writes that execution (live views, SSE)."""

        def listener(channel: str, payload: str) -> None:
            if channel == EXECUTIONS:
                for execution_id in payload.split(","):
                    if execution_id:
                        poke(execution_id)

        self.db.waker.listeners.append(listener)

    # -- helpers for tests, the bench and scripts --------------------------------------------

    def start(self, flow: Flow, inputs: dict[str, Any] | None = None,
              labels: dict[str, str] | None = None) -> Execution:
        """Validate inputs and create an execution of `flow` (stored first if it has a source)."""
        from lanner.model.inputs import resolve_inputs

        return self.create(flow, resolve_inputs(flow, dict(inputs or {})), labels)

    def get(self, execution_id: str) -> Execution | None:
        with self.db.reader.connect() as conn:
            found = execution_rows.load(conn, [execution_id])
        return found[execution_id][0] if execution_id in found else None

    def _send(self, execution_id: str, kind: str, payload: dict[str, Any]) -> None:
        with self.db.transaction() as tx:
            events.put(tx, execution_id, kind, payload)
