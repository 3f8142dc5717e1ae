"""Execution tasks, carried out by the executor itself: Labels, Subflow, Pause, Kill and Exit.

Each is known by its declared `ExecutionTask.effect` (the engine imports no task class); what it
does to the execution is decided here, and its outside part (a child execution to start, a pause
to end later) leaves as `Effects` for the runtime.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lanner.engine.effects import SubflowStart
from lanner.engine.kills import KillHandling
from lanner.engine.scope import final_run_state
from lanner.errors import LannerError
from lanner.model.execution import TaskRun
from lanner.model.state import StateType


class ExecutionTaskEffects(KillHandling):
    def _apply_execution_task(self, run: TaskRun, task: Any) -> None:
        """Carry out an execution task by its declared `effect` (see `plugins.api.ExecutionTask`)."""
        effect = getattr(task, "effect", None)
        run.state.to(StateType.RUNNING, self._now())
        if effect == "labels":
            try:
                labels = task.rendered(self._context(run, task))
            except Exception as exc:  # noqa: BLE001
                self._log(run, task, "ERROR", getattr(exc, "message", str(exc)))
                self._end_run(run, final_run_state(task, StateType.FAILED, 1))
                return
            self.exe.labels.update(labels)
            self._fx.execution_changed = True
            self._end_run(run, StateType.SUCCESS)
        elif effect == "subflow":
            self._start_subflow(run, task)
        elif effect == "pause":
            self._pause(run, task)
        elif effect == "kill":
            self._log(run, task, "WARN", "Kill task: killing the execution; finally blocks still run")
            self._end_run(run, StateType.KILLED)
            self.exe.kill = "graceful"
            self._set_execution(StateType.KILLING)
            self._stop_running_work()
        elif effect == "exit":
            state = StateType.CANCELLED if task.state in ("CANCELED", "CANCELLED") else StateType(task.state)
            self._log(run, task, "INFO", f"Exit: ending the execution {state.value}")
            if state is StateType.KILLED:
                self._end_run(run, StateType.KILLED)
                self.exe.kill = "graceful"
                self._set_execution(StateType.KILLING)
            else:
                self.exe.exit_state = state
                self._fx.execution_changed = True
                self._end_run(run, state)
            self._stop_running_work()
        else:  # pragma: no cover - a new execution task without engine support
            self._log(run, task, "ERROR", f"`{task.type}` is not supported by this executor")
            self._end_run(run, StateType.FAILED)

    def _start_subflow(self, run: TaskRun, task: Any) -> None:
        ctx = self._context(run, task)
        try:
            inputs = ctx.render_typed(task.inputs or {})
            raw_labels = task.labels or {}
            if isinstance(raw_labels, list):
                raw_labels = {i.get("key"): i.get("value") for i in raw_labels}
            labels = {str(k): str(v) for k, v in ctx.render(raw_labels).items()}
            namespace, flow_id = str(ctx.render(task.namespace)), str(ctx.render(task.flowId))
        except LannerError as exc:
            self._log(run, task, "ERROR", exc.render())
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        if task.inheritLabels:
            labels = {**{k: v for k, v in self.exe.labels.items() if not k.startswith("system.")}, **labels}
        child_id = self.surroundings.new_id()
        run.outputs = {"executionId": child_id}
        self._touch(run)
        self._fx.subflows.append(SubflowStart(run.id, child_id, namespace, flow_id, task.revision, inputs, labels,
                                              task.wait))
        self._log(run, task, "INFO", f"Started subflow {namespace}.{flow_id} as execution {child_id}")
        if not task.wait:
            self._end_run(run, StateType.SUCCESS)

    def _pause(self, run: TaskRun, task: Any) -> None:
        from lanner.model.duration import parse_duration

        run.state.to(StateType.PAUSED, self._now())
        self._touch(run)
        if not self.exe.state.current.terminated and self.exe.kill is None:
            self._set_execution(StateType.PAUSED)
        raw = task.pauseDuration or task.delay
        ctx = self._context(run, task)
        if raw:
            due = self._now() + parse_duration(ctx.render(raw))
            ended = {"RESUME": StateType.SUCCESS, "WARN": StateType.WARNING, "FAIL": StateType.FAILED,
                     "CANCEL": StateType.CANCELLED}[task.behavior]
            self._fx.resumes.append((run.id, due, ended))
        elif task.timeout is not None:
            limit = task.timeout if isinstance(task.timeout, dt.timedelta) else parse_duration(ctx.render(task.timeout))
            self._fx.resumes.append((run.id, self._now() + limit, StateType.FAILED))
        self._log(run, task, "INFO", "Paused" + (f" for {raw}" if raw else "; resume with `lanner execution resume "
                                                 f"{self.exe.id}`"))
