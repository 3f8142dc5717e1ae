"""Replay: a new execution of an ended one, whole or from a chosen task (Kestra's `replay`).

The new execution runs the same flow revision with the same inputs and labels, and records the
replayed one as its `originalId`. From a chosen task run, the task runs of the top-level tasks
before it (with everything nested in them) are copied, with new ids, outputs and states kept;
the chosen task's run is opened anew, and the executor resumes the new execution from these runs
as it resumes one after a crash, so the chosen task and everything after it run again, `finally`
included, exactly once.

Only a top-level task of `tasks` can be the start: a task nested in a flowable shares its
parent's state (a loop's iteration, a branch), which a copy cannot rebuild honestly.
"""

from __future__ import annotations

from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.flow import Flow
from lanner.model.state import StateType
from lanner.server.execution_changes import ended
from lanner.server.problems import ApiProblem, not_found
from lanner.server.services import Services


def _copied_runs(flow: Flow, exe: Execution, task_run_id: str, new_execution_id: str) -> list[TaskRun]:
    chosen = exe.by_id.get(task_run_id)
    if chosen is None:
        raise not_found(f"task run `{task_run_id}` of execution {exe.id}")
    if chosen.parent_id is not None or chosen.block != "tasks":
        top = chosen
        while top.parent_id is not None and top.parent_id in exe.by_id:
            top = exe.by_id[top.parent_id]
        raise ApiProblem(422, f"task run `{task_run_id}` ({chosen.task_id}) is not a top-level task of `tasks`",
                         hint=f"replay from the task run of `{top.task_id}` that holds it, or the whole execution")
    order = [t.id for t in flow.tasks]
    before = set(order[:order.index(chosen.task_id)])
    ids: dict[str, str] = {}
    out = []
    for run in exe.task_runs:  # parents come before their children
        top_level = run.parent_id is None and run.block == "tasks" and run.task_id in before
        if top_level or (run.parent_id is not None and run.parent_id in ids):
            ids[run.id] = new_id()
            data = run.to_json() | {"id": ids[run.id], "executionId": new_execution_id,
                                    "parentTaskRunId": ids.get(run.parent_id) if run.parent_id else None}
            out.append(TaskRun.from_json(data))
    out.append(_opened(flow, chosen, new_execution_id))
    return out


def _opened(flow: Flow, chosen: TaskRun, new_execution_id: str) -> TaskRun:
    """The chosen task's run, opened as a restart opens one: the executor creates the next run
    when the previous one ends, so a replay that only copied the runs before it would wait for
    an end that already happened. A runnable task starts CREATED (the executor dispatches it),
    a flowable RUNNING (the executor opens its scope and starts its first child)."""
    task = flow.task(chosen.task_id)
    if task.kind == "execution":
        raise ApiProblem(422, f"task `{chosen.task_id}` ({task.type}) cannot be the start of a replay",
                         hint="replay the whole execution instead")
    run = TaskRun(id=new_id(), execution_id=new_execution_id, namespace=chosen.namespace, flow_id=chosen.flow_id,
                  task_id=chosen.task_id, parent_id=None, block="tasks", group=chosen.group)
    if task.kind == "flowable":
        run.state.to(StateType.RUNNING)
    return run


def replay(svc: Services, execution_id: str, task_run_id: str | None) -> Execution:
    """Start the replay; the new execution as stored."""
    exe = ended(svc, execution_id, "replaying it")
    flow = svc.flow_of(exe)
    if flow is None:
        raise ApiProblem(409, f"the flow of execution {execution_id} (revision {exe.flow_revision}) is gone",
                         hint="run the flow again instead")
    if task_run_id is not None and svc.cluster is not None:
        raise ApiProblem(422, "a replay from a chosen task runs on `lanner server local` only",
                         hint="replay the whole execution (no taskRunId), or restart a failed one")
    labels = {k: v for k, v in exe.labels.items() if not k.startswith("system.")}
    fresh_id = new_id()
    runs = _copied_runs(flow, exe, task_run_id, fresh_id) if task_run_id is not None else []
    if svc.cluster is not None:  # the cluster client queues the execution as it stores it
        return svc.runtime.create(flow, dict(exe.inputs), labels, execution_id=fresh_id)
    created = svc.runtime.create(flow, dict(exe.inputs), labels, execution_id=fresh_id)  # stored, not started
    replayed = Execution.from_json(created.to_json() | {"taskRunList": []}, [r.to_json() for r in runs])
    replayed.original_id = exe.id
    if runs:
        svc.queries.rewrite_task_runs(replayed)
    svc.repo.save(replayed, (), header=True)
    stored = svc.repo.get(replayed.id)  # refreshes the loop repository's task-run numbering
    assert stored is not None
    svc.runtime.submit(flow, stored)
    svc.hub.poke(stored.id)
    return stored
