"""An execution and its task runs: plain records, printed in Kestra's Execution JSON shape.

The executor is the only writer of an `Execution`; workers get read-only views of what they
need. Task runs are kept in creation order and indexed by id, by parent and by task id, so that
resolving the next step never rescans the whole list (a ForEach over 10,000 values stays linear).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from lanner.model.state import State, StateType, iso, parse_iso

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


_TO_CHAR = bytes(_ALPHABET[b % 62].encode()[0] for b in range(256))  # bytes below 248 map evenly
_DROPPED = bytes(range(4 * 62, 256))


def new_id() -> str:
    """A 22-character base62 id, like Kestra's friendly ids: 22 random characters (131 bits).

    Made from random bytes in C (`bytes.translate`), bytes past 247 dropped so that every
    character is as likely as any other: one id per task run, 100,000 for a ForEach over 100,000
    values, and the arithmetic of a 128-bit number in base 62 cost more than the rest of making a
    task run.
    """
    chars = b""
    while len(chars) < 22:
        chars += os.urandom(32).translate(_TO_CHAR, _DROPPED)
    return chars[:22].decode()


@dataclasses.dataclass(slots=True)
class Attempt:
    state: State
    worker_id: str | None = None
    log_file: str | None = None  # `kestra://` URI of the attempt's log lines, when its task has `logToFile: true`

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state.to_json()}
        if self.worker_id:
            out["workerId"] = self.worker_id
        if self.log_file:
            out["logFile"] = self.log_file
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        return cls(State.from_json(data["state"]), data.get("workerId"), data.get("logFile"))


@dataclasses.dataclass(slots=True)
class TaskRun:
    id: str
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    parent_id: str | None
    block: str  # which list of the parent holds the task: tasks, errors, finally, afterExecution, then…
    group: int = 0  # index of the parent's group (ForEach iteration, Parallel branch)
    value: str | None = None
    iteration: int | None = None
    state: State = dataclasses.field(default_factory=State.created)
    attempts: list[Attempt] = dataclasses.field(default_factory=list)
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    retry_at: dt.datetime | None = None  # due time of the next attempt while RETRYING
    kill_exempt: bool = False  # a finally run started during a graceful kill: let it finish
    # a Dag/Parallel with `onChildFailure` interrupted this run when a sibling failed: it ends in this
    # state (CANCELLED or FAILED) instead of KILLED, and is never retried
    interrupted_as: StateType | None = None
    seq: int = -1  # position in the execution's creation order (kept by Execution, not serialised)

    @property
    def current(self) -> StateType:
        return self.state.current

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "executionId": self.execution_id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "taskId": self.task_id,
            "parentTaskRunId": self.parent_id,
            "value": self.value,
            "attempts": [a.to_json() for a in self.attempts],
            "outputs": self.outputs,
            "state": self.state.to_json(),
        }
        if self.iteration is not None:
            out["iteration"] = self.iteration
        out["block"] = self.block
        out["group"] = self.group
        if self.retry_at is not None:
            out["nextRetryDate"] = iso(self.retry_at)
        if self.kill_exempt:
            out["killExempt"] = True
        if self.interrupted_as is not None:
            out["interruptedAs"] = self.interrupted_as.value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskRun:
        return cls(
            id=data["id"],
            execution_id=data["executionId"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            task_id=data["taskId"],
            parent_id=data.get("parentTaskRunId"),
            block=data.get("block", "tasks"),
            group=data.get("group", 0),
            value=data.get("value"),
            iteration=data.get("iteration"),
            state=State.from_json(data["state"]),
            attempts=[Attempt.from_json(a) for a in data.get("attempts", [])],
            outputs=data.get("outputs") or {},
            retry_at=parse_iso(data["nextRetryDate"]) if data.get("nextRetryDate") else None,
            kill_exempt=bool(data.get("killExempt")),
            interrupted_as=StateType(data["interruptedAs"]) if data.get("interruptedAs") else None,
        )


@dataclasses.dataclass(slots=True)
class Execution:
    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    # True once a SetVariables/UnsetVariables task ran: `variables` is then what `vars` reads,
    # instead of the flow's `variables` (see `vars_of`)
    variables_set: bool = False
    state: State = dataclasses.field(default_factory=State.created)
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    parent_id: str | None = None
    original_id: str | None = None
    kill: str | None = None  # None, "graceful" (finally still runs) or "hard" (cleanup skipped)
    exit_state: StateType | None = None  # set by an Exit task: the state the execution ends in
    notes: list[str] = dataclasses.field(default_factory=list)  # things the user must know (skipped cleanup)
    task_runs: list[TaskRun] = dataclasses.field(default_factory=list)
    # indexes, rebuilt by `reindex` and kept up to date by `add`
    by_id: dict[str, TaskRun] = dataclasses.field(default_factory=dict, repr=False)
    by_parent: dict[str | None, list[TaskRun]] = dataclasses.field(default_factory=dict, repr=False)
    by_task: dict[str, list[TaskRun]] = dataclasses.field(default_factory=dict, repr=False)
    # (parent run, group) → its runs: built on first use only (a Loop's iteration read by its own
    # tasks), then kept up to date by `add`; None until then, so other executions pay nothing
    by_group: dict[tuple[str, int], list[TaskRun]] | None = dataclasses.field(default=None, repr=False,
                                                                               compare=False)

    def add(self, run: TaskRun) -> None:
        run.seq = len(self.task_runs)
        self.task_runs.append(run)
        self.by_id[run.id] = run
        self.by_parent.setdefault(run.parent_id, []).append(run)
        self.by_task.setdefault(run.task_id, []).append(run)
        if self.by_group is not None and run.parent_id is not None:
            self.by_group.setdefault((run.parent_id, run.group), []).append(run)

    def reindex(self) -> None:
        for i, r in enumerate(self.task_runs):
            r.seq = i
        self.by_id = {r.id: r for r in self.task_runs}
        self.by_parent = {}
        self.by_task = {}
        self.by_group = None
        for r in self.task_runs:
            self.by_parent.setdefault(r.parent_id, []).append(r)
            self.by_task.setdefault(r.task_id, []).append(r)

    def group_runs(self, parent_id: str, group: int) -> list[TaskRun]:
        """The runs of one group (a Loop's iteration, a ForEach's value) directly under `parent_id`."""
        if self.by_group is None:
            self.by_group = {}
            for r in self.task_runs:
                if r.parent_id is not None:
                    self.by_group.setdefault((r.parent_id, r.group), []).append(r)
        return self.by_group.get((parent_id, group), [])

    def waiting_parent(self) -> tuple[str, str] | None:
        """The (execution, Subflow task run) this child reports its end to, from its trigger.

        Kept on the execution itself, so the link survives any restart of the runtime.
        """
        trigger = self.trigger or {}
        variables = trigger.get("variables") or {}
        if str(trigger.get("type", "")).endswith("Subflow") and variables.get("taskRunId") \
                and variables.get("wait", True):
            return str(variables["executionId"]), str(variables["taskRunId"])
        return None

    def vars_of(self, flow_variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """What `{{ vars }}` reads: the flow's variables, until a task set or unset some."""
        return self.variables if self.variables_set else dict(flow_variables or {})

    def children(self, parent_id: str | None) -> list[TaskRun]:
        return self.by_parent.get(parent_id, [])

    def to_json(self) -> dict[str, Any]:
        return self._json([r.to_json() for r in self.task_runs])

    def header_json(self) -> dict[str, Any]:
        """Everything but the task runs (stored apart, one row each).

        Built without them, not by dropping them: it is written with every change of the
        execution's own state, so its cost must not grow with the task run count (a ForEach
        over 100,000 values).
        """
        return self._json(None)

    def json_around_runs(self) -> dict[str, Any]:
        """`to_json()` with an empty `taskRunList` in its place, for a writer that adds the task
        runs one at a time instead of holding the JSON of all of them at once."""
        return self._json([])

    def _json(self, runs: list[dict[str, Any]] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "flowRevision": self.flow_revision,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "labels": [{"key": k, "value": v} for k, v in self.labels.items()],
            "variables": self.variables,
            "state": self.state.to_json(),
        }
        if runs is not None:
            out["taskRunList"] = runs
        out.update({
            "originalId": self.original_id or self.id,
            "parentId": self.parent_id,
            "trigger": self.trigger,
        })
        if self.variables_set:
            out["variablesSet"] = True
        if self.kill:
            out["kill"] = self.kill
        if self.exit_state:
            out["exitState"] = self.exit_state.value
        if self.notes:
            out["notes"] = self.notes
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], task_runs: list[dict[str, Any]] | None = None) -> Execution:
        labels = data.get("labels") or {}
        if isinstance(labels, list):
            labels = {i["key"]: i["value"] for i in labels}
        exe = cls(
            id=data["id"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            flow_revision=data.get("flowRevision", 1),
            inputs=data.get("inputs") or {},
            labels=labels,
            variables=data.get("variables") or {},
            variables_set=bool(data.get("variablesSet")),
            state=State.from_json(data["state"]),
            outputs=data.get("outputs") or {},
            trigger=data.get("trigger"),
            parent_id=data.get("parentId"),
            original_id=data.get("originalId"),
            kill=data.get("kill"),
            exit_state=StateType(data["exitState"]) if data.get("exitState") else None,
            notes=list(data.get("notes") or []),
            task_runs=[TaskRun.from_json(t)
                       for t in (task_runs if task_runs is not None else data.get("taskRunList", []))],
        )
        exe.reindex()
        return exe
