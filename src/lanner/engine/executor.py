"""The executor: decides what happens next in one execution. No I/O, no waiting.

Each call (`start`, `on_result`, `on_retry_due`, `kill`) mutates the execution it owns and
returns `Effects`: the task runs to persist, the runnable ones to hand to workers, the ones to
cancel, the retries to schedule. The runtime persists the effects *before* acting on them, so a
crash at any point leaves a state from which `resume` continues (cleanup runs once). The time,
new ids and the environment templates see come from the `Surroundings` it is given
(`surroundings.py`), never from the host.

This module holds the entry points; the class is built in layers, each using only those before
it: `bookkeeping.py` → `kills.py` → `execution_tasks.py` → `flow_end.py` → `steps.py` → `pauses.py` →
`approvals.py` → `recovery.py` → `Executor`.

Every scope (the flow itself, or one run of a flowable task) goes through the same phases:

    main tasks ──(failure)──▶ errors ──▶ finally ──▶ final state  (root: ──▶ listeners ──▶ afterExecution)
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

from collections.abc import Mapping
from typing import Any

from lanner.engine.approvals import is_approval
from lanner.engine.bookkeeping import CLEANUP_RESERVE, DEFAULT_MAX_TASK_RUNS
from lanner.engine.effects import Effects, SubflowStart
from lanner.engine.recovery import Recovery
from lanner.engine.scope import final_run_state
from lanner.model.results import WorkerResult
from lanner.model.state import NOT_STARTED, StateType, iso
from lanner.plugins.api import ExecutionTask

__all__ = ["CLEANUP_RESERVE", "DEFAULT_MAX_TASK_RUNS", "Effects", "Executor", "SubflowStart"]


class Executor(Recovery):
    """The entry points: one call per event, each returning the `Effects` of its decision."""

    def start(self, finished: Mapping[tuple[str, int], WorkerResult] | None = None) -> Effects:
        """CREATED → RUNNING and the first task runs; on a resumed execution, pick up where it was.

        `finished` holds the results of attempts that ended before the process that ran them
        stopped (kept by `Repository.save_result`): those are applied, never run again. Only an
        attempt that was cut off mid-run gets a new attempt.
        """
        self._begin()
        if self.exe.state.current in NOT_STARTED:
            self._set_execution(StateType.RUNNING)
            self._log(None, None, "INFO", f"Flow started: {self.flow.namespace}.{self.flow.id}")
            for unsupported in self._unsupported():
                self._log(None, None, "WARN", unsupported)
        late: list[WorkerResult] = []
        self._rebuild(finished=finished or {}, late=late)
        for result in late:
            self._apply_result(result)
        self._arm_sla_timers()  # a taken-over execution's timers died with the process that armed them
        return self._finish()

    def _unsupported(self) -> list[str]:
        """What the flow declares that Lanner accepts but does not do: said once, never silently."""
        out = []
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
            at = self._now()
            return self.on_result(WorkerResult(self.exe.id, run_id, attempt, StateType.KILLED, started=at, ended=at,
                                               message="its worker stopped during the kill"))
        run.attempts[-1].state.to(StateType.FAILED, self._now())
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
        run.state.to(StateType.CREATED, self._now())
        if self.exe.state.current is StateType.RETRYING and not any(
            r.current is StateType.RETRYING for r in self.exe.task_runs if r.id != run_id
        ):
            self._set_execution(StateType.RUNNING)
        task = self.index[run.task_id].task
        if isinstance(task, ExecutionTask):  # a Subflow: its next attempt is a new child execution
            self._apply_execution_task(run, task)
        else:
            self._dispatch(run)
        return self._finish()

    def on_sla_due(self, sla_id: str) -> Effects:
        """A MAX_DURATION SLA's timer fired: a violation if the execution still runs (Kestra).

        FAIL and CANCEL end the execution in that state the way an Exit task does: running work
        is cancelled, `errors` are skipped, `finally` still runs. An execution already ending
        (killed, exited, or past its main tasks) is not violated again.
        """
        self._begin()
        sla = next((s for s in self.flow.sla if s.id == sla_id and s.type == "MAX_DURATION"), None)
        root = self.scopes.get(None)
        if sla is None or self.exe.state.current.terminated or self._stopping or (root and root.phase == "done"):
            return self._finish()
        state = self._sla_violated(sla, self._max_duration_reason(sla))
        if state is not None:
            self.exe.exit_state = state
            self._fx.execution_changed = True
            self._stop_running_work()
            for scope in list(self.scopes.values()):
                self._advance(scope)
        return self._finish()

    def on_subflow_end(self, run_id: str, state: StateType, outputs: dict[str, Any],
                       child: Mapping[str, Any] | None = None) -> Effects:
        """The child execution of a waiting Subflow run ended; `child` is its `child_view.child_view`."""
        self._begin()
        run = self.exe.by_id.get(run_id)
        if run is None or run.current.terminated or run.current is StateType.RETRYING:
            return self._finish()
        task: Any = self.index[run.task_id].task
        if task.effect == "item_subflows":  # one of a ForEachItem's children, told apart by `child`
            self._end_item_subflow(run, task, state, outputs, child)
        else:
            assert task.effect == "subflow"
            self._end_subflow(run, task, state, outputs, child)
        return self._finish()

    def fail_run(self, run_id: str, message: str, execution_id: str | None = None) -> Effects:
        """A task run the runtime could not carry out (a Subflow whose flow is missing) fails.

        For a ForEachItem, `execution_id` names the batch's child that could not be created: that
        batch counts as FAILED and the others go on.
        """
        self._begin()
        run = self.exe.by_id.get(run_id)
        if run is None or run.current.terminated:
            return self._finish()
        task = self.index[run.task_id].task
        if execution_id is not None and getattr(task, "effect", None) == "item_subflows":
            self._item_subflow_failed(run, task, execution_id, message)
            return self._finish()
        self._log(run, task, "ERROR", message)
        self._end_run(run, final_run_state(task, StateType.FAILED, 1))
        return self._finish()

    def resume(self, run_id: str | None = None, state: StateType = StateType.SUCCESS,
               inputs: Mapping[str, Mapping[str, Any]] | None = None, by: str | None = None) -> Effects:
        """Resume paused task runs (one, or all): they end with `state` and the execution goes on.

        A manual resume gives `inputs` (each paused run's `onResume` values by run id, already typed
        by `model/resume_inputs.py`; `{}` when none): they become the run's outputs `onResume`, with
        `resumed` saying by whom and when. A pause whose duration ran out gives none, as in Kestra.
        A paused Approval takes only a decision (its record in `inputs`, `model/approval_decisions.py`);
        without `inputs` (its timeout ran out) it expires.
        """
        self._begin()
        paused = [r for r in self.exe.task_runs if r.current is StateType.PAUSED and (run_id is None or r.id == run_id)]
        resumed = False
        for run in paused:
            task = self.index[run.task_id].task
            if is_approval(task):  # its decision rides in `inputs` (`model/approval_decisions.py`); none: expired
                resumed = self._decide(run, task, None if inputs is None else inputs.get(run.id, {}), by) or resumed
                continue
            resumed = True
            self._log(run, None, "INFO", "Resumed" if state is StateType.SUCCESS else f"Pause ended {state.value}")
            if inputs is not None:
                run.outputs = {**run.outputs, "onResume": dict(inputs.get(run.id, {})),
                               "resumed": {"by": by, "on": iso(self._now())}}
                self._touch(run)
            self._end_pause(run, task, state)
        still = any(r.current is StateType.PAUSED for r in self.exe.task_runs)
        if resumed and not still and self.exe.state.current is StateType.PAUSED:
            self._set_execution(StateType.RUNNING)  # kept PAUSED while a sibling still waits (Kestra)
        return self._finish()

    def kill(self, hard: bool = False, cancel_running: bool = True, reason: str | None = None) -> Effects:
        """Graceful: cancel work, skip errors, still run finally. Hard: stop now, skip cleanup.

        With `cancel_running=False` (a graceful stop: SIGTERM) nothing new starts outside cleanup
        but running attempts may finish; a later `kill()` cancels what still runs.
        """
        self._begin()
        if self.exe.state.current.terminated and not any(s.phase != "done" for s in self.scopes.values()):
            return self._finish()
        if self.exe.state.current in NOT_STARTED or self.exe.state.current is StateType.RESTARTED:
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

    def _begin(self) -> Effects:
        self._fx = Effects()
        return self._fx

    def _kill_unstarted(self) -> Effects:
        """An execution killed before it started (waiting for its flow's concurrency limit) ends KILLED
        at once: nothing runs, so nothing is cancelled and no `finally` is owed. A restart's reopened
        task runs end with it, so it can be restarted again."""
        for run in self.exe.task_runs:
            if not run.current.terminated:
                run.state.to(StateType.KILLED, self._now())
                self._touch(run)
        self._set_execution(StateType.KILLED)
        self._log(None, None, "WARN", "Killed before it started: no task ran")
        fx = self._finish()
        fx.ended = True
        return fx

    def _finish(self) -> Effects:
        self._drain()
        fx = self._fx
        root = self.scopes.get(None)
        if root is not None and root.phase == "done":
            fx.ended = True
        return fx
