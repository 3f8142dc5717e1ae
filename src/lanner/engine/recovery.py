"""Rebuilding an execution's scopes from its stored task runs: after a crash, or in a cluster executor.

`_rebuild` replays every scope from the persisted task runs; on a take-over (`live=False`) each
runnable task run is picked up (`_pick_up`): a kept result is applied, an attempt cut off mid-run
runs again once, one that never started starts, a paused run's end (its duration, timeout or
expiry) is armed again. A cluster executor rebuilds with `live=True`: its attempts, retries and
pauses are still queued, so nothing is dispatched or armed again.
"""

from __future__ import annotations

from collections.abc import Mapping

from lanner.engine.approvals import Approvals
from lanner.model.execution import TaskRun
from lanner.model.results import WorkerResult
from lanner.model.state import AT_WORK, StateType
from lanner.plugins.api import FlowableTask, Task


class Recovery(Approvals):
    def _rebuild(self, live: bool = False, finished: Mapping[tuple[str, int], WorkerResult] | None = None,
                 late: list[WorkerResult] | None = None) -> None:
        self._timers_kept = live  # a cluster keeps timers in its queue; the embedded runtime lost them
        root = self._root()
        if self.exe.state.current.terminated and self.exe.kill != "hard":
            self._add_listeners(root)  # an ended flow's `after` list holds the listeners it matched
        root.replay(self.exe.children(None))
        pending = [root]
        while pending:
            scope = pending.pop()
            runs = list(self.exe.children(scope.key))  # a copy: the paused runs' children join it
            while runs:
                run = runs.pop(0)
                task = self.index[run.task_id].task
                if isinstance(task, FlowableTask) and run.current is StateType.RUNNING and run.id not in self.scopes:
                    child = self._open_scope(run, task, replay=True)
                    if child is not None:
                        pending.append(child)
                elif live:
                    continue  # its attempt, retry or pause is still in the queue
                elif task.kind == "runnable" and run.current in AT_WORK:
                    self._pick_up(run, task, finished or {}, late if late is not None else [])
                elif run.current is StateType.RETRYING and run.retry_at is not None:
                    self._fx.retries.append((run.id, run.retry_at))
                elif run.current is StateType.PAUSED:
                    self._rearm_wait(run, task)
                    runs.extend(self.exe.children(run.id))  # a waiting Pause's `onPause`, without a scope
        for scope in list(self.scopes.values()):
            self._advance(scope)

    def _pick_up(self, run: TaskRun, task: Task, finished: Mapping[tuple[str, int], WorkerResult],
                 late: list[WorkerResult]) -> None:
        """A runnable task run of an execution taken over from a process that stopped.

        Its last attempt either finished (its result was kept: apply it), or was cut off mid-run
        (a new attempt, once, saying why), or never started. During a kill, work outside
        cleanup is not started again: it ends KILLED; nor is work a sibling's failure interrupted
        (`onChildFailure`): it ends in the state it was interrupted into.
        """
        cut_off = run.current is StateType.RUNNING and bool(run.attempts)
        if cut_off:
            result = finished.get((run.id, len(run.attempts)))
            if result is not None:
                late.append(result)
                return
        if run.interrupted_as is not None:  # a sibling's failure interrupted it (`onChildFailure`)
            if cut_off:
                run.attempts[-1].state.to(StateType.KILLED, self._now())
            self._end_run(run, run.interrupted_as)
            return
        if self._stopping and not self._in_cleanup(run):
            if cut_off:
                run.attempts[-1].state.to(StateType.KILLED, self._now())
            self._end_run(run, StateType.KILLED)
            return
        if cut_off:
            n = len(run.attempts)
            run.attempts[-1].state.to(StateType.FAILED, self._now())
            self._log(run, task, "WARN", f"Attempt {n} was cut off: the process running it stopped before it "
                                         f"finished; starting attempt {n + 1}")
        self._dispatch(run, restart=cut_off)
