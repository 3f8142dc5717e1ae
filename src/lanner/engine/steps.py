"""The step loop: task runs created, ended and handed to their scope, scopes moved through their phases.

Every scope (the flow, or one run of a flowable) goes main tasks → errors → finally (→ the flow's
afterExecution); `_advance` creates what may start now, `_drain` hands ended runs to their scope
and ends scopes upwards, and `_room` applies the task run limit. Results of attempts enter here
(`_apply_result`), retries are decided here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lanner.engine.bookkeeping import CLEANUP_RESERVE
from lanner.engine.context import EngineContext
from lanner.engine.flow_end import FlowEnd
from lanner.engine.scope import CLEANUP_BLOCKS, STOPS_A_GROUP, Scope, final_run_state
from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.execution import TaskRun
from lanner.model.results import WorkerResult
from lanner.model.state import State, StateType
from lanner.plugins.api import Again, ExecutionTask, FlowableTask, Resolution, Stop, Task


class Steps(FlowEnd):
    def _apply_result(self, result: WorkerResult) -> None:
        run = self.exe.by_id.get(result.task_run_id)
        if run is None or run.current.terminated or run.current is StateType.RETRYING:
            return  # a late or duplicate report: results are idempotent
        if len(run.attempts) != result.attempt:
            return
        attempt = run.attempts[-1]
        attempt.state.to(result.state, result.ended)
        if result.worker_id:
            attempt.worker_id = result.worker_id
        if result.log_file:
            attempt.log_file = result.log_file
        run.outputs = result.outputs or {}
        self._touch(run)
        if result.state is StateType.FAILED and self.exe.kill is None and self.exe.exit_state is None \
                and run.interrupted_as is None:
            due = self._retry_due(run, result)
            if due is not None:
                self._wait_for_retry(run, due, result.ended, f"Attempt {len(run.attempts)} failed")
                return
        task = self.index[run.task_id].task
        self._end_run(run, final_run_state(task, result.state, len(run.attempts)))

    def _open_scope(self, run: TaskRun, task: FlowableTask, replay: bool = False) -> Scope | None:
        ctx = self._context(run, task)
        try:
            if replay and "evaluationResult" in run.outputs:
                ctx.variables = dict(ctx.variables)
            resolution = self._resolution(run, task, ctx)
        except (LannerError, Exception) as exc:  # noqa: BLE001 - a plugin's error is the user's to read
            message = exc.message if isinstance(exc, LannerError) else str(exc) or type(exc).__name__
            self._log(run, task, "ERROR", message)
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return None
        if resolution.outputs and not replay:
            run.outputs = {**run.outputs, **resolution.outputs}
            self._touch(run)
        scope = Scope.for_flowable(run, task, resolution)
        scope.broken = "brokenAfter" in run.outputs  # a Loop whose `breakWhen` held before a take-over
        self.scopes[run.id] = scope
        scope.replay(self.exe.children(run.id))
        return scope

    def _resolution(self, run: TaskRun, task: FlowableTask, ctx: EngineContext) -> Resolution:
        """A flowable's children, as it resolves them (an Approval's layer picks them by its decision)."""
        return task.resolve(ctx)

    def _advance(self, scope: Scope) -> None:
        """Create what can start now in this scope, and end it when everything in it ended."""
        if scope.phase == "main":
            halted = self._halted(scope)
            if not halted:
                while (gi := scope.take_group()) is not None:
                    group = scope.groups[gi]
                    if not group.tasks:
                        scope.group_done(gi)
                        continue
                    if not self._room(scope, "tasks"):
                        scope.group_done(gi)  # never started; the scope is failed and halts
                        break
                    scope.active[gi] = 0
                    self._create(scope, group.tasks[0], "tasks", gi, group.value, group.iteration)
                    if self._halted(scope):
                        break
            halted = halted or self._halted(scope)  # the task run limit may have stopped it just now
            if scope.open_main == 0 and (halted or scope.main_done()):
                if not halted and self._loops_again(scope):
                    return
                self._end_main(scope)
        if scope.phase in ("errors", "finally", "after"):
            self._advance_block(scope)

    def _loops_again(self, scope: Scope) -> bool:
        """A looping flowable whose iteration ended well: wait for the next one, or let it end."""
        if scope.waiting:
            return True
        if scope.run is None or scope.task is None:
            return False
        run, task = scope.run, scope.task
        if run.retry_at is not None:  # it was already waiting when this executor was rebuilt
            scope.waiting = True
            if not self._timers_kept:
                self._fx.retries.append((run.id, run.retry_at))
            return True
        try:
            decision = task.next_iteration(self._context(run, task), len(scope.groups),
                                           run.state.start_date or self._now())
        except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated fails the loop
            message = exc.message if isinstance(exc, LannerError) else str(exc) or type(exc).__name__
            self._log(run, task, "ERROR", f"Loop condition: {message}")
            scope.forced_state = StateType.FAILED
            return False
        if isinstance(decision, Again):
            scope.waiting = True
            due = self._now() + decision.after
            run.retry_at = due
            self._touch(run)
            self._fx.retries.append((run.id, due))
            return True
        if isinstance(decision, Stop) and decision.state is not None:
            scope.forced_state = decision.state
        return False

    def _end_main(self, scope: Scope) -> None:
        if self.exe.kill == "hard":
            scope.phase = "done"
            return
        if not self._stopping and scope.main_state() is StateType.FAILED and scope.errors:
            scope.enter("errors")
        elif scope.finally_:
            scope.enter("finally")
        else:
            self._end_scope(scope)

    def _advance_block(self, scope: Scope) -> None:
        if scope.block_open:
            return
        if scope.phase == "errors" and self._stopping:
            scope.block_pos = len(scope.block_tasks())  # a kill skips the rest of errors
        tasks = scope.block_tasks()
        block = {"errors": "errors", "finally": "finally", "after": "afterExecution"}.get(scope.phase, "")
        if scope.phase == "after" and scope.block_pos < scope.listener_count:
            block = "listeners"
        if scope.block_pos < len(tasks) and not self._room(scope, block):
            scope.block_pos = len(tasks)  # the rest of the block cannot start
            if scope.phase == "finally":
                scope.record_finally(StateType.FAILED)
        if scope.block_pos < len(tasks):
            task = tasks[scope.block_pos]
            scope.block_open = True
            self._create(scope, task, block, 0, None, None)
            return
        if scope.phase == "errors":
            if scope.finally_:
                scope.enter("finally")
                self._advance_block(scope)
            else:
                self._end_scope(scope)
        elif scope.phase == "finally":
            self._end_scope(scope)
        elif scope.phase == "after":
            scope.phase = "done"

    def _end_scope(self, scope: Scope) -> None:
        if scope.run is not None and self._in_cleanup(scope.run):  # cleanup ran to its own end: its own state
            state = scope.final_state(None, None)
        else:
            state = scope.final_state(self.exe.kill, self.exe.exit_state)
        if scope.run is None:
            self._end_flow(scope, state)
            return
        scope.phase = "done"
        task = scope.task
        assert task is not None
        attempts = scope.run.attempts
        if state is StateType.SUCCESS and attempts and attempts[-1].state.current is StateType.WARNING:
            state = StateType.WARNING  # a Pause whose duration ended with WARN, then its block succeeded
        self._end_run(scope.run, final_run_state(task, state, 1, flowable=True))

    def _end_flow(self, scope: Scope, state: StateType) -> None:
        if self.flow.outputs and state is not StateType.KILLED:
            try:
                self.exe.outputs = self._flow_outputs()
            except LannerError as exc:
                self._log(None, None, "ERROR", f"Flow outputs could not be computed: {exc.render()}")
                state = StateType.FAILED
        if state is not StateType.KILLED:
            state = self._assertions(state)
        self._set_execution(state)
        self._log(None, None, "INFO" if state.successful else "ERROR", f"Flow ended {state.value}")
        if self.exe.kill != "hard":
            self._add_listeners(scope)
        if scope.after and self.exe.kill != "hard":
            scope.enter("after")
            self._advance_block(scope)
        else:
            scope.phase = "done"

    def _flow_outputs(self) -> dict[str, Any]:
        from lanner import expr
        from lanner.model.inputs import coerce_output

        ctx_vars = variables.build(self.flow, self.exe, envs=self.surroundings.envs)
        out: dict[str, Any] = {}
        for o in self.flow.outputs:
            value = expr.render_value_typed(o.value, ctx_vars, self._services)
            out[o.id] = coerce_output(o, value)
        return out

    def _create(self, scope: Scope, task: Task, block: str, group: int, value: str | None,
                iteration: int | None) -> TaskRun:
        run = TaskRun(
            id=self.surroundings.new_id(), execution_id=self.exe.id, namespace=self.exe.namespace,
            flow_id=self.exe.flow_id, task_id=task.id, parent_id=scope.key, block=block, group=group, value=value,
            iteration=iteration,
            state=State.created(self._now()),
        )
        if self._stopping and block in CLEANUP_BLOCKS:
            run.kill_exempt = True
        self.exe.add(run)
        self._touch(run)
        if block == "tasks":
            scope.open_main += 1
        if task.runIf is not None:
            try:
                ctx = self._context(run, task)
                runs = ctx.is_true(task.runIf) if not isinstance(task.runIf, bool) else task.runIf
            except LannerError as exc:
                self._log(run, task, "ERROR", f"runIf could not be evaluated: {exc.render()}")
                self._end_run(run, final_run_state(task, StateType.FAILED, 0))
                return run
            if not runs:
                self._end_run(run, StateType.SKIPPED)
                return run
        if isinstance(task, ExecutionTask):  # first: a Pause with a block is also flowable, after its pause
            self._apply_execution_task(run, task)
        elif isinstance(task, FlowableTask):
            run.state.to(StateType.RUNNING, self._now())
            scope_child = self._open_scope(run, task)
            if scope_child is not None:
                self._advance(scope_child)
        else:
            self._dispatch(run)
        return run

    def _halted(self, scope: Scope, by_failure: bool = True) -> bool:
        """No further main task starts in this scope: it failed, or the execution is stopping.

        A flowable inside `finally`/`afterExecution` is cleanup: a kill, an Exit or the task
        run limit does not stop it from running its children. `by_failure=False`: the next task
        of an iteration that runs on its own (a Loop's) is not stopped by another one's failure,
        which only keeps new iterations from starting.
        """
        if (scope.failed and by_failure) or (scope.run is not None and scope.run.interrupted_as is not None):
            return True
        return self._stopping and not (scope.run is not None and self._in_cleanup(scope.run))

    def _room(self, scope: Scope, block: str) -> bool:
        """May one more task run be created in `block` of `scope`? If not, apply the runaway limit.

        Main work (`tasks`, `errors`) stops at `max_task_runs`: the execution fails as an Exit
        would, running work is cancelled, and cleanup still runs. Cleanup (`finally`,
        `afterExecution`, and anything inside them) has `CLEANUP_RESERVE` more so that a
        runaway never starves it; past that, the cleanup scope fails too.
        """
        cleanup = block in CLEANUP_BLOCKS or (scope.run is not None and self._in_cleanup(scope.run))
        limit = self.max_task_runs + (CLEANUP_RESERVE if cleanup else 0)
        if len(self.exe.task_runs) < limit:
            return True
        if cleanup:
            message = (f"Cleanup stopped: the execution has {len(self.exe.task_runs):,} task runs, past the limit "
                       f"of {self.max_task_runs:,} plus {CLEANUP_RESERVE:,} kept for finally and afterExecution; "
                       "the rest of this cleanup block does not run")
        else:
            message = (f"Failing the execution: it reached the maximum of {self.max_task_runs:,} task runs per "
                       "execution (a runaway loop?); no further task starts, finally blocks still run. Raise "
                       "LANNER_MAX_TASK_RUNS if the flow really needs more")
        if cleanup not in self._limit_said:
            self._limit_said.add(cleanup)
            self._log(scope.run, scope.task, "ERROR", message)
            self.exe.notes.append(message)
            self._fx.execution_changed = True
        scope.failed = True
        scope.forced_state = StateType.FAILED
        if not cleanup and self.exe.kill is None and self.exe.exit_state is None:
            self.exe.exit_state = StateType.FAILED
            self._fx.execution_changed = True
            self._stop_running_work()
        return False

    def _drain(self) -> None:
        """Hand every ended run to its scope; ending a scope ends its run, and so on upwards."""
        while self._ended:
            run = self._ended.popleft()
            scope = self.scopes.get(run.parent_id)
            if scope is None:
                continue
            if run.block == "tasks":
                scope.open_main -= 1
                scope.record_main(run.current, run.group)
                interrupt = scope.task.child_failure_state() if scope.task is not None else None
                if interrupt is not None and run.current is StateType.FAILED and run.interrupted_as is None \
                        and scope.phase == "main":
                    assert scope.run is not None  # a flowable's scope
                    self._interrupt_children(scope.run, interrupt)
                if run.group in scope.active:
                    pos = scope.active[run.group] + 1
                    tasks = scope.groups[run.group].tasks
                    own_iteration = scope.task is not None and scope.task.isolates_iterations
                    if pos < len(tasks) and run.current not in STOPS_A_GROUP \
                            and not self._halted(scope, by_failure=not own_iteration) and self._room(scope, "tasks"):
                        scope.active[run.group] = pos
                        g = scope.groups[run.group]
                        self._create(scope, tasks[pos], "tasks", run.group, g.value, g.iteration)
                    else:
                        scope.group_done(run.group)
                        if scope.task is not None and scope.task.isolates_iterations:
                            self._iteration_ended(scope, run)
            elif run.block in ("errors", "finally", "afterExecution", "listeners"):
                scope.block_open = False
                scope.block_pos += 1
                if run.block == "finally":
                    scope.record_finally(run.current)
            self._advance(scope)

    def _iteration_ended(self, scope: Scope, run: TaskRun) -> None:
        """An isolated iteration (a Loop's) ended with `run`, its last run: its state is counted
        on the Loop's run, its declared outputs rendered where its own outputs are seen, and the
        Loop told whether to go on (`breakWhen`)."""
        loop, task = scope.run, scope.task
        assert loop is not None and task is not None
        state = scope.group_worst.get(run.group, StateType.SUCCESS)
        try:
            end = task.iteration_ended(self._context(run, task, files_of=loop), run.group, state)
        except Exception as exc:  # noqa: BLE001 - an output or condition that cannot be rendered fails the iteration
            message = exc.message if isinstance(exc, LannerError) else str(exc) or type(exc).__name__
            self._log(loop, task, "ERROR", f"Iteration {run.group}: {message}")
            state, end = StateType.FAILED, None
            if task.transmits_failure():
                scope.failed = True
                scope.forced_state = StateType.FAILED
        counts = dict(loop.outputs.get("terminatedIterations") or {})
        counts[state.value] = counts.get(state.value, 0) + 1
        outputs = {**loop.outputs, "terminatedIterations": counts, "runningIterations": len(scope.active)}
        if end is not None:
            if end.outputs is not None:
                outputs["outputs"] = [*(loop.outputs.get("outputs") or []), end.outputs]
            if end.stop:
                scope.broken = True
                outputs["brokenAfter"] = run.group
        loop.outputs = outputs
        self._touch(loop)

    def _retry_due(self, run: TaskRun, result: WorkerResult) -> dt.datetime | None:
        policy = self._retry_policy(run)
        if policy is None or policy.behavior != "RETRY_FAILED_TASK":
            return None
        first = run.attempts[0].state.start_date or result.started
        return policy.next_retry(len(run.attempts), first, result.ended)
