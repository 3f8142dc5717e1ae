"""What one decision of the executor asks the runtime to do: the `Effects` it returns.

The runtime persists them before acting on any of them (docs/architecture.md, "Persist before
acting"); `runtime/core.py` and the two runtimes read them, nothing in them reads back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from lanner.model.execution import TaskRun
from lanner.model.results import LogEntry
from lanner.model.state import StateType


@dataclasses.dataclass(slots=True)
class Effects:
    runs: dict[str, TaskRun] = dataclasses.field(default_factory=dict)  # created or changed
    execution_changed: bool = False
    dispatch: list[TaskRun] = dataclasses.field(default_factory=list)
    cancel: list[str] = dataclasses.field(default_factory=list)
    retries: list[tuple[str, dt.datetime]] = dataclasses.field(default_factory=list)
    logs: list[LogEntry] = dataclasses.field(default_factory=list)
    subflows: list[SubflowStart] = dataclasses.field(default_factory=list)
    kill_executions: list[str] = dataclasses.field(default_factory=list)  # child executions to kill
    resumes: list[tuple[str, dt.datetime, StateType]] = dataclasses.field(default_factory=list)
    slas: list[tuple[str, dt.datetime]] = dataclasses.field(default_factory=list)  # MAX_DURATION SLA id, due
    # (kestra:// URI, content): files of internal storage the decision made (a Loop's stored
    # iteration outputs), written by the runtime before the decision that names them is stored
    files: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    ended: bool = False  # the execution is terminal and has nothing left to run

    def merge(self, fx: Effects) -> None:
        """Fold a later call's effects into these (a runtime applies a batch of events at once)."""
        self.runs.update(fx.runs)
        self.execution_changed = self.execution_changed or fx.execution_changed
        self.dispatch.extend(fx.dispatch)
        self.cancel.extend(fx.cancel)
        self.retries.extend(fx.retries)
        self.logs.extend(fx.logs)
        self.subflows.extend(fx.subflows)
        self.kill_executions.extend(fx.kill_executions)
        self.resumes.extend(fx.resumes)
        self.slas.extend(fx.slas)
        self.files.extend(fx.files)
        self.ended = self.ended or fx.ended


@dataclasses.dataclass(slots=True)
class SubflowStart:
    """Start execution `execution_id` of flow `namespace.flow_id` for the Subflow run `run_id`."""

    run_id: str
    execution_id: str
    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: dict[str, str]
    wait: bool
    iteration: int | None = None  # a ForEachItem batch's index, `taskRunIteration` in the child's trigger
