"""The executor: decides what happens next in one execution. No I/O, no waiting.

Each call (`start`, `on_result`, `on_retry_due`, `kill`) mutates the execution it owns and
returns `Effects`: the task runs to persist, the runnable ones to hand to workers, the ones to
cancel, the retries to schedule. The runtime persists the effects *before* acting on them, so a
crash at any point leaves a state from which `resume` continues (cleanup runs once).

Every scope (the flow itself, or one run of a flowable task) goes through the same phases:

    main tasks ──(failure)──▶ errors ──▶ finally ──▶ final state  (root: ──▶ afterExecution)
          └────(success)────────────────▶ finally ──┘

Lanner's rules where Kestra is silent or weak (see docs/semantics.md):
- a graceful kill cancels running work, skips `errors`, and still runs every `finally` whose
  scope had started; the scope then ends KILLED;
- every `finally` task is attempted, and a failing one makes its scope FAILED;
- `errors`/`finally` of a parallel scope wait until the running siblings have ended, so cleanup
  never runs while a sibling still uses the resource;
- an execution may hold at most `max_task_runs` task runs (a runaway loop must not fill the
  store): past it no more task starts and the execution fails, but its `finally` and
  `afterExecution` blocks still run, from a reserve of `CLEANUP_RESERVE` more runs.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from lanner.engine.context import CollectingLogger, EngineContext
from lanner.engine.scope import CLEANUP_BLOCKS, Scope, final_run_state
from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.execution import Attempt, Execution, TaskRun, new_id
from lanner.model.flow import Flow
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import State, StateType, now, severity
from lanner.plugins.api import Again, ExecutionTask, FlowableTask, Stop, Task

DEFAULT_MAX_TASK_RUNS = 100_000  # bench/foreach.py's 10,000-value ForEach fits ten times over
CLEANUP_RESERVE = 1_000  # runs that finally/afterExecution may still create past the limit


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


class Executor:
    def __init__(self, flow: Flow, execution: Execution, max_task_runs: int = DEFAULT_MAX_TASK_RUNS) -> None:
        self.flow = flow
        self.exe = execution
        self.max_task_runs = max_task_runs
        self._limit_said: set[bool] = set()  # which limit (main work, cleanup) was already logged
        self.index = flow.index()
        self.scopes: dict[str | None, Scope] = {}
        self._timers_kept = False
        self._ended: collections.deque[TaskRun] = collections.deque()
        self._fx = Effects()

    # -- entry points ------------------------------------------------------------------------

    def start(self, finished: Mapping[tuple[str, int], WorkerResult] | None = None) -> Effects:
        """CREATED → RUNNING and the first task runs; on a resumed execution, pick up where it was.

        `finished` holds the results of attempts that ended before the process that ran them
        stopped (kept by `Repository.save_result`): those are applied, never run again. Only an
        attempt that was cut off mid-run gets a new attempt.
        """
        self._begin()
        if self.exe.state.current in (StateType.CREATED, StateType.QUEUED):
            self._set_execution(StateType.RUNNING)
            self._log(None, None, "INFO", f"Flow started: {self.flow.namespace}.{self.flow.id}")
            for unsupported in self._unsupported():
                self._log(None, None, "WARN", unsupported)
        late: list[WorkerResult] = []
        self._rebuild(finished=finished or {}, late=late)
        for result in late:
            self._apply_result(result)
        return self._finish()

    def _unsupported(self) -> list[str]:
        """What the flow declares that Lanner accepts but does not do: said once, never silently."""
        out = []
        if self.flow.listeners:
            out.append("`listeners` (deprecated in Kestra) are not run by Lanner; use `afterExecution` instead")
        if self.flow.sla:
            out.append("`sla` is not enforced by Lanner; use a task `timeout` or a `Pause` with a duration")
        retry = self.flow.retry
        if retry is not None and retry.behavior != "RETRY_FAILED_TASK":
            out.append(f"flow retry behavior {retry.behavior} is not supported by Lanner; failed tasks are not retried")
        return out

    def over_limit(self) -> Effects:
        """The flow's `concurrency.limit` is reached: QUEUE waits, CANCEL and FAIL end it now (Kestra)."""
        self._begin()
        concurrency = self.flow.concurrency
        assert concurrency is not None
        limit = f"the flow's concurrency limit ({concurrency.limit}) is reached"
        if concurrency.behavior == "QUEUE":
            self._set_execution(StateType.QUEUED)
            self._log(None, None, "INFO", f"Queued: {limit}; it starts when a running execution of the flow ends")
            return self._finish()
        if concurrency.behavior == "CANCEL":
            self._set_execution(StateType.CANCELLED)
            self._log(None, None, "WARN", f"Cancelled: {limit}")
        else:
            self._set_execution(StateType.FAILED)
            self._log(None, None, "ERROR", f"Flow is FAILED due to concurrency limit exceeded: {limit}")
        fx = self._finish()
        fx.ended = True
        return fx

    def on_result(self, result: WorkerResult) -> Effects:
        self._begin()
        self._apply_result(result)
        return self._finish()

    def _apply_result(self, result: WorkerResult) -> None:
        fx = self._fx
        run = self.exe.by_id.get(result.task_run_id)
        if run is None or run.current.terminated or run.current is StateType.RETRYING:
            return  # a late or duplicate report: results are idempotent
        if len(run.attempts) != result.attempt:
            return
        attempt = run.attempts[-1]
        attempt.state.to(result.state, result.ended)
        if result.worker_id:
            attempt.worker_id = result.worker_id
        run.outputs = result.outputs or {}
        self._touch(run)
        if result.state is StateType.FAILED and self.exe.kill is None and self.exe.exit_state is None:
            due = self._retry_due(run, result)
            if due is not None:
                run.state.to(StateType.FAILED, result.ended)
                run.state.to(StateType.RETRYING, result.ended)
                run.retry_at = due
                fx.retries.append((run.id, due))
                self._log(run, None, "WARN", f"Attempt {len(run.attempts)} failed; retrying at {due.isoformat()}")
                if self.exe.state.current is StateType.RUNNING:
                    self._set_execution(StateType.RETRYING)
                return
        task = self.index[run.task_id].task
        self._end_run(run, final_run_state(task, result.state, len(run.attempts)))

    def restore(self) -> Effects:
        """Rebuild the scopes of a live execution loaded from the store (the cluster executor).

        Unlike `start` after a crash, its running attempts still belong to live workers and its
        retries and pauses are still queued, so nothing is dispatched or scheduled again.
        """
        self._begin()
        self._rebuild(live=True)
        return self._finish()

    def on_worker_lost(self, run_id: str, attempt: int) -> Effects:
        """The worker running `attempt` of a task run died: that attempt failed, start a new one.

        During a kill the lost work was being cancelled anyway, so it ends KILLED instead (a
        `finally` task, exempt from the kill, still gets its new attempt).
        """
        self._begin()
        run = self.exe.by_id.get(run_id)
        if run is None or run.current is not StateType.RUNNING or len(run.attempts) != attempt:
            return self._finish()  # already ended, or already retried: idempotent
        if self._stopping and not self._in_cleanup(run):
            return self.on_result(WorkerResult(self.exe.id, run_id, attempt, StateType.KILLED,
                                               message="its worker stopped during the kill"))
        run.attempts[-1].state.to(StateType.FAILED)
        self._log(run, None, "WARN", f"The worker running attempt {attempt} stopped; starting a new attempt")
        self._dispatch(run, restart=True)
        return self._finish()

    def on_retry_due(self, run_id: str) -> Effects:
        self._begin()
        run = self.exe.by_id.get(run_id)
        scope = self.scopes.get(run_id)
        if run is not None and scope is not None and scope.waiting:  # a loop's next iteration is due
            scope.waiting = False
            run.retry_at = None
            if not run.current.terminated and not self._stopping:
                gi = scope.add_iteration()
                run.outputs = {**run.outputs, "iterationCount": gi + 1}
                self._touch(run)
            self._advance(scope)
            return self._finish()
        if run is None or run.current is not StateType.RETRYING:
            return self._finish()
        run.retry_at = None
        run.state.to(StateType.CREATED)
        if self.exe.state.current is StateType.RETRYING and not any(
            r.current is StateType.RETRYING for r in self.exe.task_runs if r.id != run_id
        ):
            self._set_execution(StateType.RUNNING)
        self._dispatch(run)
        return self._finish()

    def on_subflow_end(self, run_id: str, state: StateType, outputs: dict[str, Any]) -> Effects:
        """The child execution of a waiting Subflow run ended."""
        self._begin()
        run = self.exe.by_id.get(run_id)
        if run is None or run.current.terminated:
            return self._finish()
        task: Any = self.index[run.task_id].task
        assert getattr(task, "effect", None) == "subflow"
        run.outputs = {**run.outputs, "state": state.value, "outputs": outputs}
        if task.transmitFailed:
            result = state if state in (StateType.FAILED, StateType.KILLED, StateType.WARNING,
                                        StateType.CANCELLED) else StateType.SUCCESS
        else:
            result = StateType.SUCCESS
        if self._stopping and result is StateType.SUCCESS:
            result = StateType.KILLED if self.exe.kill else result
        self._end_run(run, final_run_state(task, result, 1))
        return self._finish()

    def fail_run(self, run_id: str, message: str) -> Effects:
        """A task run the runtime could not carry out (a Subflow whose flow is missing) fails."""
        self._begin()
        run = self.exe.by_id.get(run_id)
        if run is None or run.current.terminated:
            return self._finish()
        task = self.index[run.task_id].task
        self._log(run, task, "ERROR", message)
        self._end_run(run, final_run_state(task, StateType.FAILED, 1))
        return self._finish()

    def resume(self, run_id: str | None = None, state: StateType = StateType.SUCCESS) -> Effects:
        """Resume paused task runs (one, or all): they end with `state` and the execution goes on."""
        self._begin()
        paused = [r for r in self.exe.task_runs if r.current is StateType.PAUSED and (run_id is None or r.id == run_id)]
        for run in paused:
            self._log(run, None, "INFO", "Resumed" if state is StateType.SUCCESS else f"Pause ended {state.value}")
            self._end_run(run, state)
        if paused and self.exe.state.current is StateType.PAUSED:
            self._set_execution(StateType.RUNNING)
        return self._finish()

    def kill(self, hard: bool = False, cancel_running: bool = True, reason: str | None = None) -> Effects:
        """Graceful: cancel work, skip errors, still run finally. Hard: stop now, skip cleanup.

        With `cancel_running=False` (a graceful stop: SIGTERM) nothing new starts outside cleanup
        but running attempts may finish; a later `kill()` cancels what still runs.
        """
        self._begin()
        if self.exe.state.current.terminated and not any(s.phase != "done" for s in self.scopes.values()):
            return self._finish()
        if self.exe.state.current in (StateType.CREATED, StateType.QUEUED, StateType.RESTARTED):
            return self._kill_unstarted()
        if hard:
            self._hard_kill()
            return self._finish()
        if self.exe.kill is not None:
            if cancel_running:
                self._stop_running_work()
            return self._finish()
        self.exe.kill = "graceful"
        if not self.exe.state.current.terminated:
            self._set_execution(StateType.KILLING)
        if cancel_running:
            self._log(None, None, "WARN",
                      reason or "Kill requested: cancelling running tasks; finally blocks will still run")
            self._stop_running_work()
        else:
            self._log(None, None, "WARN", reason or "Stopping: no new task starts; running tasks may finish; "
                                                    "finally blocks will still run")
        for scope in list(self.scopes.values()):
            self._advance(scope)
        self._drain()
        return self._finish()

    # -- bookkeeping -------------------------------------------------------------------------

    def _begin(self) -> Effects:
        self._fx = Effects()
        return self._fx

    def _finish(self) -> Effects:
        self._drain()
        fx = self._fx
        root = self.scopes.get(None)
        if root is not None and root.phase == "done":
            fx.ended = True
        return fx

    def _touch(self, run: TaskRun) -> None:
        self._fx.runs[run.id] = run

    def _set_execution(self, state: StateType) -> None:
        if self.exe.state.to(state):
            self._fx.execution_changed = True

    def _log(self, run: TaskRun | None, task: Task | None, level: str, message: str) -> None:
        self._fx.logs.append(
            LogEntry(self.exe.id, run.id if run else None, run.task_id if run else (task.id if task else None),
                     level, message)
        )

    def _context(self, run: TaskRun, task: Task) -> EngineContext:
        logger = CollectingLogger(self._fx.logs, self.exe.id, run.id, task.id)
        return EngineContext(variables.build(self.flow, self.exe, run, task), logger, self.exe.id, run.id)

    def _root(self) -> Scope:
        root = self.scopes.get(None)
        if root is None:
            root = Scope.for_flow(self.flow)
            self.scopes[None] = root
        return root

    @property
    def _stopping(self) -> bool:
        return self.exe.kill is not None or self.exe.exit_state is not None

    # -- rebuilding scopes from the persisted task runs (start and resume) -------------------

    def _rebuild(self, live: bool = False, finished: Mapping[tuple[str, int], WorkerResult] | None = None,
                 late: list[WorkerResult] | None = None) -> None:
        self._timers_kept = live  # a cluster keeps timers in its queue; the embedded runtime lost them
        root = self._root()
        root.replay(self.exe.children(None))
        pending = [root]
        while pending:
            scope = pending.pop()
            for run in self.exe.children(scope.key):
                task = self.index[run.task_id].task
                if isinstance(task, FlowableTask) and run.current is StateType.RUNNING and run.id not in self.scopes:
                    child = self._open_scope(run, task, replay=True)
                    if child is not None:
                        pending.append(child)
                elif live:
                    continue  # its attempt, retry or pause is still in the queue
                elif task.kind == "runnable" and run.current in (StateType.RUNNING, StateType.CREATED):
                    self._pick_up(run, task, finished or {}, late if late is not None else [])
                elif run.current is StateType.RETRYING and run.retry_at is not None:
                    self._fx.retries.append((run.id, run.retry_at))
        for scope in list(self.scopes.values()):
            self._advance(scope)

    def _pick_up(self, run: TaskRun, task: Task, finished: Mapping[tuple[str, int], WorkerResult],
                 late: list[WorkerResult]) -> None:
        """A runnable task run of an execution taken over from a process that stopped.

        Its last attempt either finished (its result was kept: apply it), or was cut off mid-run
        (a new attempt, once, saying why), or never started. During a kill, work outside
        cleanup is not started again: it ends KILLED.
        """
        cut_off = run.current is StateType.RUNNING and bool(run.attempts)
        if cut_off:
            result = finished.get((run.id, len(run.attempts)))
            if result is not None:
                late.append(result)
                return
        if self._stopping and not self._in_cleanup(run):
            if cut_off:
                run.attempts[-1].state.to(StateType.KILLED)
            self._end_run(run, StateType.KILLED)
            return
        if cut_off:
            n = len(run.attempts)
            run.attempts[-1].state.to(StateType.FAILED)
            self._log(run, task, "WARN", f"Attempt {n} was cut off: the process running it stopped before it "
                                         f"finished; starting attempt {n + 1}")
        self._dispatch(run, restart=cut_off)

    # -- scopes --------------------------------------------------------------------------------

    def _open_scope(self, run: TaskRun, task: FlowableTask, replay: bool = False) -> Scope | None:
        ctx = self._context(run, task)
        try:
            if replay and "evaluationResult" in run.outputs:
                ctx.variables = dict(ctx.variables)
            resolution = task.resolve(ctx)
        except (LannerError, Exception) as exc:  # noqa: BLE001 - a plugin's error is the user's to read
            message = exc.message if isinstance(exc, LannerError) else str(exc) or type(exc).__name__
            self._log(run, task, "ERROR", message)
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return None
        if resolution.outputs and not replay:
            run.outputs = {**run.outputs, **resolution.outputs}
            self._touch(run)
        scope = Scope.for_flowable(run, task, resolution)
        self.scopes[run.id] = scope
        scope.replay(self.exe.children(run.id))
        return scope

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
                                           run.state.start_date or now())
        except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated fails the loop
            message = exc.message if isinstance(exc, LannerError) else str(exc) or type(exc).__name__
            self._log(run, task, "ERROR", f"Loop condition: {message}")
            scope.forced_state = StateType.FAILED
            return False
        if isinstance(decision, Again):
            scope.waiting = True
            due = now() + decision.after
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
        self._end_run(scope.run, final_run_state(task, state, 1, flowable=True))

    def _end_flow(self, scope: Scope, state: StateType) -> None:
        if self.flow.outputs and state is not StateType.KILLED:
            try:
                self.exe.outputs = self._flow_outputs()
            except LannerError as exc:
                self._log(None, None, "ERROR", f"Flow outputs could not be computed: {exc.render()}")
                state = StateType.FAILED
        self._set_execution(state)
        self._log(None, None, "INFO" if state.successful else "ERROR", f"Flow ended {state.value}")
        after = [t for t in self.flow.afterExecution if not t.disabled]
        if after and self.exe.kill != "hard":
            scope.enter("after")
            self._advance_block(scope)
        else:
            scope.phase = "done"

    def _flow_outputs(self) -> dict[str, Any]:
        from lanner import expr
        from lanner.model.inputs import coerce_output

        ctx_vars = variables.build(self.flow, self.exe)
        out: dict[str, Any] = {}
        for o in self.flow.outputs:
            value = expr.render_value_typed(o.value, ctx_vars)
            out[o.id] = coerce_output(o, value)
        return out

    # -- task runs ---------------------------------------------------------------------------

    def _create(self, scope: Scope, task: Task, block: str, group: int, value: str | None,
                iteration: int | None) -> TaskRun:
        run = TaskRun(
            id=new_id(), execution_id=self.exe.id, namespace=self.exe.namespace, flow_id=self.exe.flow_id,
            task_id=task.id, parent_id=scope.key, block=block, group=group, value=value, iteration=iteration,
            state=State.created(),
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
        if isinstance(task, FlowableTask):
            run.state.to(StateType.RUNNING)
            scope_child = self._open_scope(run, task)
            if scope_child is not None:
                self._advance(scope_child)
        elif isinstance(task, ExecutionTask):
            self._apply_execution_task(run, task)
        else:
            self._dispatch(run)
        return run

    def _halted(self, scope: Scope) -> bool:
        """No further main task starts in this scope: it failed, or the execution is stopping.

        A flowable inside `finally`/`afterExecution` is cleanup: a kill, an Exit or the task
        run limit does not stop it from running its children.
        """
        if scope.failed:
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

    def _dispatch(self, run: TaskRun, restart: bool = False) -> None:
        run.state.to(StateType.RUNNING)
        run.attempts.append(Attempt(State(StateType.RUNNING, [run.state.histories[-1]])))
        self._touch(run)
        self._fx.dispatch.append(run)

    def _end_run(self, run: TaskRun, state: StateType) -> None:
        if run.current.terminated:
            return
        run.state.to(state)
        self._touch(run)
        self._ended.append(run)

    def _drain(self) -> None:
        """Hand every ended run to its scope; ending a scope ends its run, and so on upwards."""
        while self._ended:
            run = self._ended.popleft()
            scope = self.scopes.get(run.parent_id)
            if scope is None:
                continue
            if run.block == "tasks":
                scope.open_main -= 1
                scope.record_main(run.current)
                if run.group in scope.active:
                    pos = scope.active[run.group] + 1
                    tasks = scope.groups[run.group].tasks
                    if pos < len(tasks) and not self._halted(scope) and self._room(scope, "tasks"):
                        scope.active[run.group] = pos
                        g = scope.groups[run.group]
                        self._create(scope, tasks[pos], "tasks", run.group, g.value, g.iteration)
                    else:
                        scope.group_done(run.group)
            elif run.block in ("errors", "finally", "afterExecution"):
                scope.block_open = False
                scope.block_pos += 1
                if run.block == "finally":
                    scope.record_finally(run.current)
            self._advance(scope)

    def _retry_due(self, run: TaskRun, result: WorkerResult) -> dt.datetime | None:
        policy = self._retry_policy(run)
        if policy is None or policy.behavior != "RETRY_FAILED_TASK":
            return None
        first = run.attempts[0].state.start_date or result.started
        return policy.next_retry(len(run.attempts), first, result.ended)

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

    # -- execution-changing tasks ------------------------------------------------------------

    def _apply_execution_task(self, run: TaskRun, task: Any) -> None:
        """Carry out an execution task by its declared `effect` (see `plugins.api.ExecutionTask`)."""
        effect = getattr(task, "effect", None)
        run.state.to(StateType.RUNNING)
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
        child_id = new_id()
        run.outputs = {"executionId": child_id}
        self._touch(run)
        self._fx.subflows.append(SubflowStart(run.id, child_id, namespace, flow_id, task.revision, inputs, labels,
                                              task.wait))
        self._log(run, task, "INFO", f"Started subflow {namespace}.{flow_id} as execution {child_id}")
        if not task.wait:
            self._end_run(run, StateType.SUCCESS)

    def _pause(self, run: TaskRun, task: Any) -> None:
        from lanner.model.duration import parse_duration

        run.state.to(StateType.PAUSED)
        self._touch(run)
        if not self.exe.state.current.terminated and self.exe.kill is None:
            self._set_execution(StateType.PAUSED)
        raw = task.pauseDuration or task.delay
        ctx = self._context(run, task)
        if raw:
            due = now() + parse_duration(ctx.render(raw))
            ended = {"RESUME": StateType.SUCCESS, "WARN": StateType.WARNING, "FAIL": StateType.FAILED,
                     "CANCEL": StateType.CANCELLED}[task.behavior]
            self._fx.resumes.append((run.id, due, ended))
        elif task.timeout is not None:
            limit = task.timeout if isinstance(task.timeout, dt.timedelta) else parse_duration(ctx.render(task.timeout))
            self._fx.resumes.append((run.id, now() + limit, StateType.FAILED))
        self._log(run, task, "INFO", "Paused" + (f" for {raw}" if raw else "; resume with `lanner execution resume "
                                                 f"{self.exe.id}`"))

    # -- kills -------------------------------------------------------------------------------

    def _in_cleanup(self, run: TaskRun) -> bool:
        r: TaskRun | None = run
        while r is not None:
            if r.block in CLEANUP_BLOCKS or r.kill_exempt:
                return True
            r = self.exe.by_id.get(r.parent_id) if r.parent_id else None
        return False

    def _stop_running_work(self) -> None:
        for run in list(self.exe.task_runs):
            if run.current.terminated or self._in_cleanup(run):
                continue
            task = self.index[run.task_id].task
            if run.current in (StateType.RETRYING, StateType.PAUSED):
                run.retry_at = None
                self._end_run(run, StateType.KILLED)
            elif task.kind == "execution" and run.current is StateType.RUNNING and "executionId" in run.outputs:
                self._fx.kill_executions.append(run.outputs["executionId"])
            elif task.kind == "runnable" and run.current in (StateType.RUNNING, StateType.CREATED):
                self._fx.cancel.append(run.id)

    def _kill_unstarted(self) -> Effects:
        """An execution killed before it started (waiting for its flow's concurrency limit) ends KILLED
        at once: nothing runs, so nothing is cancelled and no `finally` is owed. A restart's reopened
        task runs end with it, so it can be restarted again."""
        for run in self.exe.task_runs:
            if not run.current.terminated:
                run.state.to(StateType.KILLED)
                self._touch(run)
        self._set_execution(StateType.KILLED)
        self._log(None, None, "WARN", "Killed before it started: no task ran")
        fx = self._finish()
        fx.ended = True
        return fx

    def _hard_kill(self) -> None:
        self.exe.kill = "hard"
        skipped: list[str] = []
        for run in self.exe.task_runs:
            if run.current.terminated:
                continue
            if self.index[run.task_id].task.kind == "runnable":
                self._fx.cancel.append(run.id)
            elif "executionId" in run.outputs:
                self._fx.kill_executions.append(run.outputs["executionId"])
            if run.attempts and not run.attempts[-1].state.current.terminated:
                run.attempts[-1].state.to(StateType.KILLED)
            run.state.to(StateType.KILLED)
            self._touch(run)
            if self._in_cleanup(run):
                skipped.append(run.task_id)
        for scope in self.scopes.values():
            if scope.phase in ("main", "errors") and scope.finally_:
                skipped.extend(t.id for t in scope.finally_)
            elif scope.phase == "finally":
                skipped.extend(t.id for t in scope.finally_[scope.block_pos + 1:])
            scope.phase = "done"
        if skipped:
            note = "Hard kill: cleanup was skipped; these finally tasks did not run to completion: " + ", ".join(
                dict.fromkeys(skipped))
            self.exe.notes.append(note)
            self._log(None, None, "WARN", note)
        if not self.exe.state.current.terminated:
            self._set_execution(StateType.KILLED)
        self._fx.execution_changed = True
        self._ended.clear()


def worst_of(a: StateType, b: StateType) -> StateType:
    return a if severity(a) >= severity(b) else b


def now_utc() -> dt.datetime:
    return now()
