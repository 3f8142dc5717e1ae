"""Approval (`…core.flow.Approval`), carried out by the executor: wait, decide, run the decided block.

One task run goes RUNNING (its `onWait` block) → PAUSED (waiting for a decision; an expiry timer
with a `timeout`) → RUNNING (the decided block, with the Approval's `errors` and `finally`) → its
end, mapped by the decision's behaviour. The decision lives in the run's outputs (`decision`), so
a scope rebuilt after a crash (`Recovery`) resolves the same children again (`Approval.phase`).
A kill while it waits ends it KILLED, after its own `finally` ran; `finally` runs once in every
path, because each path goes through the one scope the run has at a time.

This layer sits between `pauses.py` and `recovery.py`; it overrides the step loop's hooks only for
runs whose task declares `effect == "approval"` (the engine imports no task class).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from lanner.engine.context import EngineContext
from lanner.engine.pauses import Pauses
from lanner.engine.scope import Scope
from lanner.errors import LannerError
from lanner.model.execution import TaskRun
from lanner.model.state import WAITING, StateType, iso, parse_iso
from lanner.plugins.api import FlowableTask, Resolution

EXPIRED = "EXPIRED"
# What a block that ended well becomes under each behaviour (a block that ended badly keeps its state).
BEHAVIOR_STATES = {"WARN": StateType.WARNING, "FAIL": StateType.FAILED, "SUCCEED": StateType.SUCCESS,
                   "CANCEL": StateType.CANCELLED, "KILL": StateType.KILLED}
ENDED_IN_ERROR = frozenset({StateType.FAILED, StateType.KILLED, StateType.CANCELLED})


def is_approval(task: Any) -> bool:
    return getattr(task, "effect", None) == "approval"


class Approvals(Pauses):
    def _apply_execution_task(self, run: TaskRun, task: Any) -> None:
        if not is_approval(task):
            super()._apply_execution_task(run, task)
            return
        run.state.to(StateType.RUNNING, self._now())
        ctx = self._context(run, task)
        try:
            auto = task.autoApprove if isinstance(task.autoApprove, bool) else ctx.is_true(task.autoApprove)
        except LannerError as exc:
            self._log(run, task, "ERROR", f"autoApprove could not be evaluated: {exc.render()}")
            self._end_run(run, StateType.FAILED)
            return
        if auto:
            run.outputs = {"decision": "APPROVED", "auto": True, "by": None, "on": iso(self._now()),
                           "comment": None, "inputs": {}, "due": None}
            self._log(run, task, "INFO", "Approved automatically (autoApprove)")
        self._touch(run)
        self._run_block(run, task)

    def _run_block(self, run: TaskRun, task: Any) -> None:
        """The run's children for its current phase (`Approval.phase`) start, in a new scope."""
        scope = self._open_scope(run, task)
        if scope is not None:
            self._advance(scope)

    def _resolution(self, run: TaskRun, task: FlowableTask, ctx: EngineContext) -> Resolution:
        if not is_approval(task):
            return super()._resolution(run, task, ctx)
        phase: Resolution = task.phase(run.outputs.get("decision"), bool(run.outputs.get("auto")))  # type: ignore[attr-defined]
        return phase

    def _end_main(self, scope: Scope) -> None:
        """An Approval whose `onWait` ended well pauses for its decision instead of ending."""
        run, task = scope.run, scope.task
        if (run is None or not is_approval(task) or "decision" in run.outputs or self._stopping
                or scope.main_state() in ENDED_IN_ERROR or scope.failed):
            super()._end_main(scope)
            return
        del self.scopes[run.id]
        self._pause_for_decision(run, task)

    def _pause_for_decision(self, run: TaskRun, task: Any) -> None:
        from lanner.model.duration import parse_duration

        run.state.to(StateType.PAUSED, self._now())
        due: dt.datetime | None = None
        if task.timeout is not None:
            ctx = self._context(run, task)
            limit = task.timeout if isinstance(task.timeout, dt.timedelta) else parse_duration(ctx.render(task.timeout))
            due = self._now() + limit
            self._fx.resumes.append((run.id, due, StateType.CANCELLED))
        run.outputs = {**run.outputs, "due": iso(due) if due else None}
        self._touch(run)
        if not self.exe.state.current.terminated and self.exe.kill is None:
            self._set_execution(StateType.PAUSED)
        until = f" (expires at {iso(due)})" if due else ""
        self._log(run, task, "INFO", f"Waiting for approval{until}; decide with `lanner execution approve "
                                     f"{self.exe.id}` or `lanner execution deny {self.exe.id}`")

    def _rearm_wait(self, run: TaskRun, task: Any) -> None:
        """A waiting Approval taken over after a crash expires when it was due (`outputs.due`)."""
        if not is_approval(task):
            super()._rearm_wait(run, task)
        elif run.outputs.get("due"):
            self._fx.resumes.append((run.id, parse_iso(str(run.outputs["due"])), StateType.CANCELLED))

    def _decide(self, run: TaskRun, task: Any, record: Mapping[str, Any] | None, by: str | None) -> bool:
        """A decision reached a paused Approval run (None: its timeout ran out). False when the
        resume carries no decision for it (a plain resume): the run stays PAUSED."""
        if record is not None and "decision" not in record:
            return False
        decision = EXPIRED if record is None else str(record["decision"])
        run.outputs = {**run.outputs, "decision": decision, "auto": False,
                       "by": None if record is None else by, "on": iso(self._now()),
                       "comment": None if record is None else record.get("comment"),
                       "inputs": {} if record is None else dict(record.get("inputs") or {})}
        self._log(run, task, "INFO", f"Approval {decision.lower()}" + (f" by {by}" if by and record else ""))
        run.state.to(StateType.RUNNING, self._now())
        self._touch(run)
        self._run_block(run, task)
        return True

    def _end_scope(self, scope: Scope) -> None:
        """A decided block that ended well is mapped by its behaviour; SUCCEED, CANCEL and KILL end
        the whole execution so, as an Exit or a Kill task would (finally blocks still run): KILL
        cancels running siblings, SUCCEED and CANCEL let them finish and start nothing new."""
        run, task = scope.run, scope.task
        decision = run.outputs.get("decision") if run is not None else None
        if run is None or not is_approval(task) or decision is None or self._stopping:
            super()._end_scope(scope)
            return
        state = scope.final_state(None, None)
        behavior = task.behavior(decision)  # type: ignore[union-attr]
        if state in ENDED_IN_ERROR or behavior == "CONTINUE":
            super()._end_scope(scope)
            return
        ended = BEHAVIOR_STATES[behavior]
        scope.phase = "done"
        self._log(run, task, "INFO" if ended.successful else "WARN",
                  f"{decision.capitalize()}: {behavior} ends this task {ended.value}"
                  + (" and the execution" if behavior in ("SUCCEED", "CANCEL", "KILL") else ""))
        if behavior == "KILL":
            self.exe.kill = "graceful"
            self._set_execution(StateType.KILLING)
        elif behavior in ("SUCCEED", "CANCEL"):
            self.exe.exit_state = ended
            self._fx.execution_changed = True
        self._end_run(run, ended)
        if behavior == "KILL":
            self._stop_running_work()
        elif behavior in ("SUCCEED", "CANCEL"):
            self._end_other_waiting_runs()

    def _end_other_waiting_runs(self) -> None:
        """SUCCEED and CANCEL let running siblings finish (Kestra), but nothing waiting starts again:
        a paused or retrying run outside cleanup ends CANCELLED (a waiting Approval after its `finally`)."""
        for other in list(self.exe.task_runs):
            if other.current in WAITING and not self._in_cleanup(other):
                other.retry_at = None
                self._end_waiting(other, StateType.CANCELLED)

    def _end_waiting(self, run: TaskRun, state: StateType = StateType.KILLED) -> None:
        """A kill (or a sibling's CANCEL/SUCCEED) reaches an Approval waiting for its decision: its own
        `finally` runs, then it ends as the execution does (KILLED, or the exit's state)."""
        task = self.index[run.task_id].task
        if not (is_approval(task) and run.current is StateType.PAUSED and task.finally_):  # type: ignore[attr-defined]
            super()._end_waiting(run, state)
            return
        run.state.to(StateType.RUNNING, self._now())
        self._touch(run)
        self._run_block(run, task)
