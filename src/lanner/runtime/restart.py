"""Restarting a FAILED (or KILLED) execution in place, as Kestra's Restart button does.

The execution keeps its id. Task runs that succeeded stay; each failed task run of a `tasks`
block gets a new attempt (runnable tasks go back to CREATED, flowable ones to RUNNING so their
children are looked at again); what ran *because* of the failure — `errors`, `finally` and
`afterExecution` and `listeners` runs — is dropped so that those blocks run again at the new end.

The restarted execution is stored RESTARTED, not RUNNING: like a new one it must first get a slot
of its flow's `concurrency.limit` (`core.admit`, in every runtime), or a restart would let a
flow run more executions at once than it allows (Kestra's issue 7880). Admitted, it moves to
RUNNING and the executor resumes it from the stored task runs like after a crash (`admitted`);
refused (`behavior: FAIL` or `CANCEL`), it ends again without running anything, and the task runs
the restart had reopened are closed so that it can be restarted later (`refused`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lanner.errors import LannerError
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.state import StateType

if TYPE_CHECKING:
    from lanner.engine.executor import Effects, Executor

RESTARTABLE = (StateType.FAILED, StateType.KILLED)
_BAD = (StateType.FAILED, StateType.KILLED, StateType.CANCELLED)
_CLEANUP = ("errors", "finally", "afterExecution", "listeners")  # run again after the restart ends


def plan_restart(flow: Flow, exe: Execution) -> Execution:
    """The execution as it must be stored and resumed; raises LannerError when it cannot restart."""
    if exe.state.current not in RESTARTABLE:
        raise LannerError(f"execution {exe.id} is {exe.state.current.value}; only a FAILED or KILLED execution "
                          "can be restarted", hint="wait for it to end, or kill it first")
    index = flow.index()
    dropped: set[str] = set()
    for run in exe.task_runs:  # parents come before their children
        parent_dropped = run.parent_id is not None and run.parent_id in dropped
        if parent_dropped or run.block in _CLEANUP:
            dropped.add(run.id)
    kept = [r for r in exe.task_runs if r.id not in dropped]
    to_reset = [r for r in kept if r.current in _BAD]
    if not to_reset:
        raise LannerError(f"execution {exe.id} has no failed task run to restart",
                          hint="its failure came from cleanup or outputs; run the flow again instead")
    for run in to_reset:
        place = index.get(run.task_id)
        if place is None:
            raise LannerError(f"task `{run.task_id}` is no longer in revision {exe.flow_revision} of the flow",
                              hint="run the flow again instead")
        if place.task.kind == "execution":
            raise LannerError(f"task `{run.task_id}` ({place.task.type}) cannot be restarted in place",
                              hint="run the flow again instead")
        _reset(run, flowable=place.task.kind == "flowable")
    restarted = Execution.from_json(exe.to_json() | {"taskRunList": []}, [r.to_json() for r in kept])
    restarted.kill = None
    restarted.exit_state = None
    restarted.outputs = {}
    restarted.state.to(StateType.RESTARTED)
    return restarted


def admitted(executor: Executor) -> Effects:
    """A restarted execution got its slot: it runs again from its stored task runs."""
    executor.exe.state.to(StateType.RUNNING)
    fx = executor.start()
    fx.execution_changed = True
    return fx


def refused(executor: Executor) -> Effects:
    """A restarted execution found its flow's limit reached: QUEUED (its reopened task runs wait
    with it), or ended CANCELLED or FAILED as `behavior` says, its reopened task runs closed the same
    way — an ended execution with an open task run could never be restarted or deleted."""
    fx = executor.over_limit()
    ended = executor.exe.state.current
    if ended.terminated:
        for run in executor.exe.task_runs:
            if not run.current.terminated:
                run.state.to(ended)
                fx.runs[run.id] = run
    return fx


def _reset(run: TaskRun, flowable: bool) -> None:
    run.state.to(StateType.RESTARTED)
    run.retry_at = None
    run.kill_exempt = False
    if flowable:
        run.state.to(StateType.RUNNING)
    else:
        run.state.to(StateType.CREATED)
