"""Execution tasks, carried out by the executor itself: Labels, SetVariables/UnsetVariables, Subflow,
Pause, Kill and Exit
(a ForEachItem's batches of child executions are in `item_subflows.py`, the layer below).

Each is known by its declared `ExecutionTask.effect` (the engine imports no task class); what it
does to the execution is decided here, and its outside part (a child execution to start, a pause
to end later) leaves as `Effects` for the runtime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from lanner.engine.context import EngineContext
from lanner.engine.effects import SubflowStart
from lanner.engine.item_subflows import ItemSubflows
from lanner.engine.scope import final_run_state
from lanner.engine.subflow_target import render_target
from lanner.errors import LannerError
from lanner.model.execution import Attempt, TaskRun
from lanner.model.property import is_template
from lanner.model.state import WORSE_THAN_SUCCESS, State, StateType, iso

# The state a Pause with a duration ends in when the duration is over, by its `behavior`.
_PAUSE_ENDED: dict[str, StateType] = {"RESUME": StateType.SUCCESS, "WARN": StateType.WARNING,
                                      "FAIL": StateType.FAILED, "CANCEL": StateType.CANCELLED}


class ExecutionTaskEffects(ItemSubflows):
    def _apply_execution_task(self, run: TaskRun, task: Any) -> None:
        """Carry out an execution task by its declared `effect` (see `plugins.api.ExecutionTask`).

        A property of the flow's that cannot be read at run time (a template rendering to no
        duration, an undefined variable) fails this task run, as a worker task's would: raised out
        of the executor, it would stop the whole execution where it stands, its `finally` unrun.
        """
        run.state.to(StateType.RUNNING, self._now())
        try:
            self._carry_out(run, task)
        except LannerError as exc:
            if run.current is not StateType.RUNNING:  # it had changed the run already: not ours to judge
                raise
            self._log(run, task, "ERROR", exc.render())
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))

    def _carry_out(self, run: TaskRun, task: Any) -> None:
        effect = getattr(task, "effect", None)
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
        elif effect == "variables":
            self._change_variables(run, task)
        elif effect == "subflow":
            self._start_subflow(run, task)
        elif effect == "item_subflows":
            self._start_item_subflows(run, task)
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

    def _change_variables(self, run: TaskRun, task: Any) -> None:
        """SetVariables / UnsetVariables: the task computes the new variables, stored here so that
        every later task sees them (`vars`); a failure leaves them as they were."""
        try:
            updated = task.updated_variables(self._context(run, task), self.exe.vars_of(self.flow.variables))
        except Exception as exc:  # noqa: BLE001 - a task's failure, whatever its class, fails its run
            self._log(run, task, "ERROR", getattr(exc, "message", str(exc)))
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        self.exe.variables = updated
        self.exe.variables_set = True
        self._fx.execution_changed = True
        self._end_run(run, StateType.SUCCESS)

    def _start_subflow(self, run: TaskRun, task: Any) -> None:
        ctx = self._context(run, task)
        try:
            inputs = ctx.render_typed(task.inputs or {})
            namespace, flow_id, labels = render_target(ctx, task, self.exe.labels)
        except LannerError as exc:
            self._log(run, task, "ERROR", exc.render())
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        child_id = self.surroundings.new_id()
        run.outputs = {"executionId": child_id}
        # One attempt per child execution: a retried Subflow starts a new child, and each shows.
        run.attempts.append(Attempt(State(StateType.RUNNING, [run.state.histories[-1]])))
        self._touch(run)
        self._fx.subflows.append(SubflowStart(run.id, child_id, namespace, flow_id, task.revision, inputs, labels,
                                              task.wait))
        self._log(run, task, "INFO", f"Started subflow {namespace}.{flow_id} as execution {child_id}")
        if not task.wait:
            run.attempts[-1].state.to(StateType.SUCCESS, self._now())
            self._end_run(run, StateType.SUCCESS)

    def _end_subflow(self, run: TaskRun, task: Any, state: StateType, outputs: dict[str, Any],
                     child: Mapping[str, Any] | None) -> None:
        """The child of a waiting Subflow run ended: its outputs, then a retry or the run's end.

        The Subflow's own `outputs:` map (Kestra's older way) is rendered in the child's
        variables (`child`, see `child_view.py`) when the child flow declares no outputs, as in
        Kestra; a template that fails there fails the task run.
        """
        run.outputs = {**run.outputs, "state": state.value, "outputs": outputs}
        result = state if task.transmitFailed and state in WORSE_THAN_SUCCESS else StateType.SUCCESS
        if task.outputs and outputs:
            self._log(run, task, "WARN", "the child flow declares its own outputs; they are used and this "
                                         "Subflow's `outputs` map is not rendered (as in Kestra)")
        elif task.outputs:
            try:
                run.outputs["outputs"] = self._child_context(run, task, child).render_typed(task.outputs)
            except LannerError as exc:
                self._log(run, task, "ERROR", f"Subflow `outputs` could not be rendered: {exc.render()}")
                result = StateType.FAILED
        if self._stopping and result is StateType.SUCCESS and self.exe.kill:
            result = StateType.KILLED
        if run.attempts:
            run.attempts[-1].state.to(result, self._now())
        if result is StateType.FAILED and self._retry_subflow(run):
            return
        self._end_run(run, final_run_state(task, result, len(run.attempts) or 1))

    def _child_context(self, run: TaskRun, task: Any, child: Mapping[str, Any] | None) -> EngineContext:
        """A context whose variables are the ended child's (the parent's `envs` kept)."""
        ctx = self._context(run, task)
        if child is None:
            raise LannerError("the runtime did not pass the child execution's variables",
                              hint="this runtime cannot render a Subflow's `outputs` map")
        ctx.variables = {"envs": ctx.variables.get("envs", {}), "vars": {}, "globals": {}, **child}
        return ctx

    def _retry_subflow(self, run: TaskRun) -> bool:
        """A failed child under a `retry` policy: wait, then start a new child execution (Kestra)."""
        if self.exe.kill is not None or self.exe.exit_state is not None:
            return False
        policy = self._retry_policy(run)
        if policy is None or policy.behavior != "RETRY_FAILED_TASK":
            return False
        now = self._now()
        due = policy.next_retry(len(run.attempts), run.attempts[0].state.start_date or now, now)
        if due is None:
            return False
        self._wait_for_retry(run, due, now, f"Subflow execution {run.outputs.get('executionId')} failed "
                                            f"(attempt {len(run.attempts)})")
        return True

    def _wait_for_retry(self, run: TaskRun, due: dt.datetime, at: dt.datetime, what: str) -> None:
        """A failed attempt under a retry policy: the run waits in RETRYING until `due`."""
        run.state.to(StateType.FAILED, at)
        run.state.to(StateType.RETRYING, at)
        run.retry_at = due
        self._touch(run)
        self._fx.retries.append((run.id, due))
        self._log(run, None, "WARN", f"{what}; retrying at {iso(due)}")
        if self.exe.state.current is StateType.RUNNING:
            self._set_execution(StateType.RETRYING)

    def _retry_policy(self, run: TaskRun) -> Any:
        place = self.index[run.task_id]
        if place.task.retry is not None:
            return place.task.retry
        parent = self.exe.by_id.get(run.parent_id) if run.parent_id else None
        while parent is not None:
            ptask = self.index[parent.task_id].task
            if ptask.retry is not None:
                return ptask.retry
            parent = self.exe.by_id.get(parent.parent_id) if parent.parent_id else None
        return self.flow.retry

    def _pause(self, run: TaskRun, task: Any) -> None:
        raw = task.pauseDuration or task.delay
        ctx = self._context(run, task)
        behavior = self._pause_behavior(run, task, ctx)
        if behavior is None:
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        at = self._now()  # the timer counts from the entry into PAUSED, as a take-over counts it again
        try:
            timer = self._pause_timer(task, ctx, behavior, at)
        except LannerError as exc:  # a duration or timeout rendered to no duration: the task's failure
            self._log(run, task, "ERROR", f"the pause's duration or timeout could not be read: {exc.render()}")
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        run.state.to(StateType.PAUSED, at)
        self._touch(run)
        if not self.exe.state.current.terminated and self.exe.kill is None:
            self._set_execution(StateType.PAUSED)
        if timer is not None:
            self._fx.resumes.append((run.id, *timer))
        asked = "".join(f" -i {i.id}=…" for i in getattr(task, "onResume", None) or [])
        self._log(run, task, "INFO", "Paused" + (f" for {raw}" if raw else "; resume with `lanner execution resume "
                                                 f"{self.exe.id}{asked}`"))

    def _pause_behavior(self, run: TaskRun, task: Any, ctx: EngineContext) -> str | None:
        """What the pause ends in once its duration is over: Kestra's Property<Behavior>, a template
        rendered when the pause starts; None (said in the log) when it renders to none of the four."""
        behavior: str = task.behavior
        if not (task.pauseDuration or task.delay) or not is_template(behavior):
            return behavior
        try:
            behavior = str(ctx.render(behavior)).strip()
        except LannerError as exc:
            self._log(run, task, "ERROR", f"`behavior` could not be rendered: {exc.render()}")
            return None
        if behavior not in _PAUSE_ENDED:
            if behavior:
                self._log(run, task, "ERROR", f"`behavior` rendered to `{behavior}`; it must be one of "
                                              + ", ".join(_PAUSE_ENDED))
            return None
        return behavior

    def _pause_timer(self, task: Any, ctx: EngineContext, behavior: str,
                     since: dt.datetime) -> tuple[dt.datetime, StateType] | None:
        """When a pause that started `since` ends by itself, and in which state: its duration (by its
        `behavior`), else its `timeout` (FAILED); None when only a resume ends it."""
        from lanner.model.duration import parse_duration

        raw = task.pauseDuration or task.delay
        if raw:
            return since + parse_duration(ctx.render(raw)), _PAUSE_ENDED[behavior]
        if task.timeout is not None:
            limit = task.timeout if isinstance(task.timeout, dt.timedelta) else parse_duration(ctx.render(task.timeout))
            return since + limit, StateType.FAILED
        return None

    def _rearm_wait(self, run: TaskRun, task: Any) -> None:
        """A paused run of an execution taken over after its process stopped: the timer that ends its
        wait died with that process, so it is armed again, due when it was (at once if that is past).
        A cluster keeps its timers in its queue and never calls this."""
        if getattr(task, "effect", None) != "pause":
            return
        since = next((h.date for h in reversed(run.state.histories) if h.state is StateType.PAUSED), self._now())
        ctx = self._context(run, task)
        behavior = self._pause_behavior(run, task, ctx)
        try:
            timer = self._pause_timer(task, ctx, behavior, since) if behavior is not None else None
        except LannerError as exc:
            self._log(run, task, "ERROR", f"the end of the pause could not be armed again: {exc.render()}")
            return
        if timer is not None:
            self._fx.resumes.append((run.id, *timer))
