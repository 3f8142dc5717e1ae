"""Pause (`…core.flow.Pause`) around its wait: `onPause`, and what runs once the pause is over.

The executor pauses the run itself (`execution_tasks.py:_pause`); this layer adds the Pause's
children. One task run goes RUNNING → PAUSED (its `onPause` task started beside the wait, as a
child in the Pause's first group) → RUNNING (the pause is over: recorded as the run's one
attempt, ended SUCCESS, WARNING, FAILED or CANCELLED) → its end, from its scope, with the
Pause's own `errors` and `finally`:

- over well (resumed, or a duration ended with RESUME or WARN): `onPause` (waited for if it
  still runs) then the deprecated `tasks` block; a failed `onPause` fails the Pause;
- over badly (its `timeout`, `behavior: FAIL`, or CANCEL, which ends the execution as an Exit):
  no block; `errors` run (not under CANCEL, which stops the execution) and `finally` runs, once.

Only the attempt tells the phases apart, so a scope rebuilt after a crash (`Recovery`) resolves
the same children again (`Pause.phase`). While the run waits it has no scope: an `onPause` that
ends then is counted when the pause is over, from the stored run. A kill while `onPause` still
runs keeps the Pause open until its child ended, so that no run outlives its parent; a kill of a
waiting Pause with a `finally` runs that `finally` (its scope had started) but not its `errors`
nor its block, as an Approval's.

This layer sits between `steps.py` and `approvals.py`; it acts only on runs whose task declares
`effect == "pause"` (the engine imports no task class).
"""

from __future__ import annotations

from typing import Any

from lanner.engine.context import EngineContext
from lanner.engine.scope import Scope
from lanner.engine.steps import Steps
from lanner.model.execution import Attempt, TaskRun
from lanner.model.state import State, StateType
from lanner.plugins.api import FlowableTask, Resolution


def is_pause(task: Any) -> bool:
    return getattr(task, "effect", None) == "pause"


def _pause_ended(run: TaskRun) -> StateType | None:
    """How the pause itself ended (its one attempt), or None while it has not."""
    return run.attempts[-1].state.current if run.attempts else None


class Pauses(Steps):
    def _pause(self, run: TaskRun, task: Any) -> None:
        """The pause starts waiting; its `onPause` task, if any, starts with it."""
        super()._pause(run, task)
        if run.current is not StateType.PAUSED or not task.phase(over=False).groups:
            return
        scope = self._open_scope(run, task)
        if scope is not None:
            self._advance(scope)
            # the run waits without a scope: the child's end is counted when the pause is over
            self.scopes.pop(run.id, None)

    def _resolution(self, run: TaskRun, task: FlowableTask, ctx: EngineContext) -> Resolution:
        if not is_pause(task):
            return super()._resolution(run, task, ctx)
        ended = _pause_ended(run)
        phase: Resolution = task.phase(over=ended is not None and ended.successful)  # type: ignore[attr-defined]
        return phase

    def _open_scope(self, run: TaskRun, task: FlowableTask, replay: bool = False) -> Scope | None:
        """A pause that ended badly is the Pause's main state: its `errors` and `finally` follow."""
        scope = super()._open_scope(run, task, replay)
        ended = _pause_ended(run)
        if scope is not None and is_pause(task) and ended is not None and not ended.successful:
            scope.record_main(ended)
        return scope

    def _end_pause(self, run: TaskRun, task: Any, state: StateType) -> None:
        """The wait of a paused Pause run is over, ending `state` (resumed, its duration or its
        timeout): its children run now if it has any to run or to wait for, else it ends."""
        if state is StateType.CANCELLED and self.exe.exit_state is None:
            # A Pause's CANCEL behaviour ends the execution CANCELLED, as an Exit would
            # (Kestra's PauseTest: nothing after the Pause runs; finally still does).
            self.exe.exit_state = StateType.CANCELLED
            self._fx.execution_changed = True
        if self._has_block(run, task, state):
            self._run_pause_block(run, task, state)
            return
        # A timeout or FAIL behaviour is the Pause failing: `allowFailure`/`allowWarning` apply
        # as to any task (Kestra's PauseTest: a timed-out Pause with allowFailure is a WARNING).
        from lanner.engine.scope import final_run_state

        self._end_run(run, final_run_state(task, state, 1) if state is StateType.FAILED else state)

    def _has_block(self, run: TaskRun, task: Any, state: StateType) -> bool:
        """Anything to run or wait for once the pause is over: its children for a good end, its own
        `errors`/`finally` and `onPause` whatever the end (Kestra: FAILED with 4 task runs for
        `pause-errors-finally-after-execution`, whose Pause times out)."""
        if state.successful:
            return bool(task.child_lists())
        return bool(task.errors or task.finally_ or self.exe.children(run.id))

    def _run_pause_block(self, run: TaskRun, task: Any, state: StateType) -> None:
        """The pause is over: its children run now, as a flowable's.

        The pause itself is kept as the run's one attempt, ended `state` (WARNING when its duration
        ran out under `behavior: WARN`, FAILED by its timeout), so the block's success ends the run
        no better than that, after a crash too.
        """
        run.state.to(StateType.RUNNING, self._now())
        run.attempts.append(Attempt(State(StateType.RUNNING, [run.state.histories[-1]])))
        run.attempts[-1].state.to(state, self._now())
        self._touch(run)
        scope = self._open_scope(run, task)
        if scope is not None:
            self._advance(scope)

    def _end_waiting(self, run: TaskRun, state: StateType = StateType.KILLED) -> None:
        """A kill (or a sibling's interruption) reaches a paused Pause: a Pause whose `onPause` still
        runs stays open until that child ended, and a Pause with a `finally` runs it (the cleanup
        of a started scope, as an Approval's); then it ends `state`."""
        task = self.index[run.task_id].task
        open_children = any(not child.current.terminated for child in self.exe.children(run.id))
        if not (is_pause(task) and run.current is StateType.PAUSED
                and (getattr(task, "finally_", None) or open_children)):
            super()._end_waiting(run, state)
            return
        self._run_pause_block(run, task, state)  # the attempt ended `state`: what a rebuilt scope reads
