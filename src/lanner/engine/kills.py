"""What a kill does to the work of an execution: graceful (cancel what runs, keep cleanup) or hard.

A graceful kill, a Kill task, an Exit and the task run limit all stop the running work outside
cleanup (`_stop_running_work`); a hard kill ends everything at once and says which cleanup it
skipped (`_hard_kill`). Cleanup (`finally`, `afterExecution` and what runs inside them) is never
stopped by a graceful kill (`_in_cleanup`). The `kill` entry point is `Executor.kill`.
"""

from __future__ import annotations

from lanner.engine.bookkeeping import Bookkeeping
from lanner.engine.scope import CLEANUP_BLOCKS
from lanner.model.execution import TaskRun
from lanner.model.state import AT_WORK, WAITING, StateType


class KillHandling(Bookkeeping):
    def _in_cleanup(self, run: TaskRun) -> bool:
        r: TaskRun | None = run
        while r is not None:
            if r.block in CLEANUP_BLOCKS or r.kill_exempt:
                return True
            r = self.exe.by_id.get(r.parent_id) if r.parent_id else None
        return False

    @staticmethod
    def child_executions(run: TaskRun) -> list[str]:
        """The child executions of a Subflow or ForEachItem run that have not ended (as far as it heard)."""
        if "executionId" in run.outputs:
            return [run.outputs["executionId"]]
        ended = run.outputs.get("executionStates") or {}
        return [c for i, c in enumerate(run.outputs.get("executionIds") or []) if str(i) not in ended]

    def _stop_running_work(self) -> None:
        for run in list(self.exe.task_runs):
            if run.current.terminated or self._in_cleanup(run):
                continue
            task = self.index[run.task_id].task
            if run.current in WAITING:
                run.retry_at = None
                self._end_waiting(run)
            elif task.kind == "execution" and run.current is StateType.RUNNING:
                self._fx.kill_executions.extend(self.child_executions(run))
            elif task.kind == "runnable" and run.current in AT_WORK:
                self._fx.cancel.append(run.id)

    def _interrupt_children(self, parent: TaskRun, state: StateType) -> None:
        """`onChildFailure`: every run under `parent`, at any depth, that has not ended is interrupted
        and will end `state`; work at a worker is cancelled, waiting runs end now, child executions
        are killed. Cleanup (`finally` blocks inside) is left to run, as under a graceful kill."""
        pending = list(self.exe.children(parent.id))
        while pending:
            run = pending.pop()
            if run.current.terminated or run.block in CLEANUP_BLOCKS or run.kill_exempt:
                continue
            pending.extend(self.exe.children(run.id))
            run.interrupted_as = state
            self._touch(run)
            task = self.index[run.task_id].task
            if run.current in WAITING:
                run.retry_at = None
                self._end_waiting(run, state)
            elif task.kind == "execution" and run.current is StateType.RUNNING:
                self._fx.kill_executions.extend(self.child_executions(run))
            elif task.kind == "runnable" and run.current in AT_WORK:
                self._fx.cancel.append(run.id)

    def _end_waiting(self, run: TaskRun, state: StateType = StateType.KILLED) -> None:
        """A run waiting for a retry or a resume ends `state` (an Approval's layer runs its `finally` first)."""
        self._end_run(run, state)

    def _hard_kill(self) -> None:
        self.exe.kill = "hard"
        skipped: list[str] = []
        for run in self.exe.task_runs:
            if run.current.terminated:
                continue
            if self.index[run.task_id].task.kind == "runnable":
                self._fx.cancel.append(run.id)
            else:
                self._fx.kill_executions.extend(self.child_executions(run))
            if run.attempts and not run.attempts[-1].state.current.terminated:
                run.attempts[-1].state.to(StateType.KILLED, self._now())
            run.state.to(StateType.KILLED, self._now())
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
