"""Turning the executor's decisions into rows, inside the transaction that holds the execution's lock.

The engine returns `Effects`; the embedded runtime persists them, then acts. Here acting *is*
writing: a dispatched attempt becomes a `queue_jobs` row, a retry or a pause delay an event with
a future `due`, a Subflow a new execution with its `start` event, the end of a child a
`subflow_end` event for its parent. All of it commits with the task runs that caused it, so no
crash can separate a decision from its consequence. Some consequences answer at once (a job no
worker took yet is cancelled on the spot; a Subflow whose flow is missing fails), which feeds
the executor again until nothing new comes out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from lanner.engine.child_view import child_view
from lanner.engine.executor import Effects, Executor, SubflowStart
from lanner.errors import LannerError
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import StateType
from lanner.runtime import core, refused_writes
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import CHANGES, EXECUTIONS, Kind
from lanner.runtime.queues.database import Tx
from lanner.runtime.stored_flows import StoredFlows
from lanner.storage import execution_rows, tables

if TYPE_CHECKING:
    from lanner.storage.files import LocalFiles


@dataclasses.dataclass(slots=True)
class Held:
    """An execution an executor keeps in memory between events, valid while `version` matches."""

    flow: Flow
    executor: Executor
    version: int
    persisted: int  # how many of its task runs (a prefix of exe.task_runs) are stored
    ready: bool = False  # scopes rebuilt (restore) or started
    secrets: tuple[str, ...] = ()

    @property
    def exe(self) -> Execution:
        return self.executor.exe


def merge(into: Effects, fx: Effects) -> None:
    """Fold one executor call's effects into the transaction's effects for that execution."""
    into.merge(fx)


def worker_group(task: Any) -> tuple[str, str]:
    """(key, fallback) of a task's `workerGroup`; key "" is the default group."""
    spec = getattr(task, "workerGroup", None) or {}
    return str(spec.get("key") or ""), str(spec.get("fallback") or "WAIT").upper()


class Outbox:
    def __init__(self, tx: Tx, flows: StoredFlows, dead_after: float, workdirs: Any = None,
                 instant: Callable[[Held, Effects], None] | None = None,
                 careful: Collection[str] = (), files: LocalFiles | None = None) -> None:
        """`instant(held, fx)` runs the instant tasks among `fx.dispatch` at once, merging their
        consequences into `fx` (the executor's `_run_instant`); the rest become jobs. The log
        lines of the `careful` executions (whose writes were refused before) are written at once,
        each group under a savepoint, so that a line the database refuses is replaced by a
        stand-in (`refused_writes.store_lines`) instead of failing the transaction. `files` is the
        shared storage the files a decision made (`Effects.files`) are written to, before commit."""
        self.careful = careful
        from lanner.runtime.cluster_concurrency import Slots

        self.instant = instant
        self.tx = tx
        self.flows = flows
        self.dead_after = dead_after
        self.workdirs = workdirs
        self.files = files
        self.slots = Slots(tx)
        self._live_groups: set[str] | None = None

    def settle(self, held: Held, first: Effects) -> Effects:
        """Write every consequence of `first` (and of what they answer) but the execution's own rows."""
        total = Effects()
        todo = [first]
        while todo:
            fx = todo.pop(0)
            if self.instant is not None:
                self.instant(held, fx)
            merge(total, fx)
            todo.extend(self._jobs(held, fx))
            for start in fx.subflows:
                problem = self._start_subflow(held, start)
                if problem:
                    todo.append(held.executor.fail_run(start.run_id, problem, start.execution_id))
        self._timers(held, total)
        if total.ended and held.flow.concurrency is not None:
            self.slots.ended(held)
        for child_id in dict.fromkeys(total.kill_executions):
            events.put(self.tx, child_id, Kind.KILL, {"hard": held.exe.kill == "hard"})
        self._finish_workdirs(held, total)
        core.store_files(total, self.files.write if self.files is not None else None)
        return total

    def _jobs(self, held: Held, fx: Effects) -> list[Effects]:
        exe, answers = held.exe, []
        rows = []
        for run in fx.dispatch:
            key, fallback = worker_group(held.flow.task(run.task_id))
            if key and fallback in ("FAIL", "CANCEL") and key not in self.live_groups():
                state = StateType.FAILED if fallback == "FAIL" else StateType.CANCELLED
                answers.append(held.executor.on_result(WorkerResult(
                    exe.id, run.id, len(run.attempts), state, message=f"no worker of group `{key}` is running "
                    f"(workerGroup.fallback: {fallback})")))
                continue
            rows.append(jobs.JobRow(exe.id, run.id, len(run.attempts), key, exe.namespace, exe.flow_id,
                                    exe.flow_revision))
        jobs.put(self.tx, rows)
        for run_id, attempt in jobs.cancel(self.tx, list(dict.fromkeys(fx.cancel))):
            answers.append(held.executor.on_result(WorkerResult(exe.id, run_id, attempt, StateType.KILLED,
                                                                message="cancelled before a worker took it")))
        return answers

    def live_groups(self) -> set[str]:
        if self._live_groups is None:
            self._live_groups = jobs.live_groups(self.tx.conn, self.dead_after)
        return self._live_groups

    def _timers(self, held: Held, fx: Effects) -> None:
        """Timers are events that become due later: the next executor to see them fires them."""
        eid = held.exe.id
        events.put_many(self.tx, [
            (eid, Kind.RETRY_DUE, {"taskRunId": t.run_id}, t.due.timestamp()) if t.kind == "retry" else
            (eid, Kind.SLA_DUE, {"slaId": t.run_id}, t.due.timestamp()) if t.kind == "sla" else
            (eid, Kind.RESUME_DUE, {"taskRunId": t.run_id, "state": t.state.value if t.state else None},
             t.due.timestamp()) for t in core.timers(fx)])

    def _start_subflow(self, parent: Held, start: SubflowStart) -> str | None:
        """Create the child execution and its start event; returns why it could not start."""
        try:
            _, child = core.child_execution(parent.exe, start, self.flows.get)
        except LannerError as exc:
            return exc.render()
        execution_rows.insert(self.tx.conn, child)
        events.put(self.tx, child.id, Kind.START)
        return None

    def _finish_workdirs(self, held: Held, fx: Effects) -> None:
        """An ended WorkingDirectory run stores its outputFiles before anything after it is read."""
        if self.workdirs is None:
            return
        for run in list(fx.runs.values()):
            task = held.flow.task(run.task_id)
            if run.current.terminated and getattr(task, "shares_working_directory", False):
                for level, message in self.workdirs.finish(held.flow, held.exe, run):
                    fx.logs.append(LogEntry(held.exe.id, run.id, run.task_id, level, message))

    # -- the execution's own rows ------------------------------------------------------------

    def written(self, held: Held, fx: Effects) -> tuple[Execution, int, list[tuple[int, TaskRun]], list[TaskRun]]:
        """What `execution_rows.write` stores for this execution (the caller batches them)."""
        exe = held.exe
        new = [(i, exe.task_runs[i]) for i in range(held.persisted, len(exe.task_runs))]
        fresh = {r.id for _, r in new}
        changed = [r for r in fx.runs.values() if r.id not in fresh]
        for entry in fx.logs:
            core.mask(entry, held.secrets)
        if exe.id in self.careful:
            refused_writes.store_lines(fx.logs, self._insert_under_savepoint)
        else:
            self.tx.insert_later(tables.logs, execution_rows.log_rows(fx.logs))
        self.tx.announce(EXECUTIONS, exe.id)
        if fx.execution_changed:
            self._changed(exe)
        if fx.ended:
            self._tell_parent(exe)
        return exe, held.version + 1, new, changed

    def _insert_under_savepoint(self, lines: list[LogEntry]) -> None:
        with self.tx.conn.begin_nested():  # a refused insert rolls back to here, not the whole pass
            execution_rows.add_logs(self.tx.conn, lines)

    def ended_apart(self, exe: Execution) -> None:
        """What an execution's end tells others (Flow triggers, a waiting parent) when it was
        ended outside `written`: given up after its writes were refused again and again."""
        self.tx.announce(EXECUTIONS, exe.id)
        self._changed(exe)
        self._tell_parent(exe)

    def _changed(self, exe: Execution) -> None:
        """Execution state changes feed the scheduler's Flow triggers and stopAfter."""
        from lanner.runtime.queues.base import epoch

        payload = {"id": exe.id, "namespace": exe.namespace, "flowId": exe.flow_id, "revision": exe.flow_revision,
                   "state": exe.state.current.value, "labels": exe.labels, "outputs": exe.outputs,
                   "trigger": exe.trigger}
        self.tx.insert_later(tables.execution_changes, [
            {"payload": json.dumps(payload, separators=(",", ":"), default=str), "created": epoch()}])
        self.tx.announce(CHANGES)

    def _tell_parent(self, exe: Execution) -> None:
        link = exe.waiting_parent()
        if link is not None:
            parent_id, run_id = link
            events.put(self.tx, parent_id, Kind.SUBFLOW_END,
                       {"taskRunId": run_id, "state": exe.state.current.value, "outputs": exe.outputs,
                        "child": child_view(exe)})


