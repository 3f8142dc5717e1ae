"""The variables a template sees (`flow`, `execution`, `taskrun`, `outputs`, …), Kestra's names.

`outputs` and `tasks` are live read-only views over the execution rather than copies: a flow
with 10,000 task runs would otherwise copy 10,000 entries for every task it dispatches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lanner.model.loop_outputs import is_loop_outputs, readable
from lanner.model.maps import nest_dotted
from lanner.model.state import iso

if TYPE_CHECKING:
    from lanner.model.execution import Execution, TaskRun
    from lanner.model.flow import Flow
    from lanner.model.task import Task


def _value_path(exe: Execution, run: TaskRun, flow: Flow | None = None) -> list[str]:
    """The iteration values that nest this run's outputs (outermost ancestor first). The value of
    an isolated iteration (`flow` given: a Loop's) nests nothing: only that iteration sees it."""
    path: list[str] = []
    parent = exe.by_id.get(run.parent_id) if run.parent_id else None
    if run.value is not None and not (flow is not None and _isolating(flow, parent, run)):
        path.append(run.value)
    while parent is not None:
        above = exe.by_id.get(parent.parent_id) if parent.parent_id else None
        if parent.value is not None and not (flow is not None and _isolating(flow, above, parent)):
            path.append(parent.value)
        parent = above
    path.reverse()
    return path


def _isolating(flow: Flow, parent: TaskRun | None, child: TaskRun) -> bool:
    """Is `child` one of the runs of an isolated iteration of `parent` (a Loop's)?"""
    return parent is not None and child.block == "tasks" and \
        bool(getattr(flow.task(parent.task_id), "isolates_iterations", False))


def iterations_of(flow: Flow, exe: Execution, run: TaskRun) -> list[tuple[TaskRun, TaskRun]]:
    """The isolated iterations `run` is in, innermost first: (the Loop's run, the run directly
    under it that carries the iteration's value and index)."""
    chain: list[tuple[TaskRun, TaskRun]] = []
    child = run
    parent = exe.by_id.get(run.parent_id) if run.parent_id else None
    while parent is not None:
        if _isolating(flow, parent, child):
            chain.append((parent, child))
        child, parent = parent, exe.by_id.get(parent.parent_id) if parent.parent_id else None
    return chain


def _item(loop: TaskRun, child: TaskRun) -> dict[str, Any]:
    item: dict[str, Any] = {"value": child.value, "index": child.group, "iteration": child.group}
    keys = loop.outputs.get("keys")
    if isinstance(keys, list) and child.group < len(keys):
        item["key"] = keys[child.group]
    return item


def item_of(chain: list[tuple[TaskRun, TaskRun]]) -> dict[str, Any]:
    """Kestra's `item` for a run inside Loops: its iteration's `value`, `index` (from 0), `key`
    (a map's), the enclosing Loop's item as `parent`, and every enclosing Loop's as `parents`,
    outermost first (as Kestra's `LoopCaseTest.loopNested` asserts: `parents[0]` is the outer
    Loop's; one example in its docs reads them nearest first)."""
    items = [_item(loop, child) for loop, child in chain]
    item = dict(items[0])
    if len(items) > 1:
        item["parent"] = items[1]
        item["parents"] = items[:0:-1]
    return item


class _IterationScoped:
    """What a reader may see in a flow with isolated iterations (`flow` given): a run inside a
    Loop's iteration only from that same iteration (`seen_from`: the iterations the reader is in,
    as (Loop run id, index) pairs). Without `flow`, every run."""

    def __init__(self, exe: Execution, flow: Flow | None = None,
                 seen_from: frozenset[tuple[str, int]] = frozenset()) -> None:
        self._exe = exe
        self._flow = flow
        self._seen_from = seen_from

    def _visible(self, run: TaskRun) -> bool:
        return self._flow is None or all((loop.id, child.group) in self._seen_from
                                         for loop, child in iterations_of(self._flow, self._exe, run))

    def _enclosing_loops(self, task_id: str) -> list[str]:
        """The ids of the Loops whose iterations hold `task_id` (innermost first), from the flow."""
        assert self._flow is not None
        index = self._flow.index()
        out: list[str] = []
        place = index.get(task_id)
        while place is not None and place.parent_id is not None:
            parent = index[place.parent_id]
            if place.block == "tasks" and getattr(parent.task, "isolates_iterations", False):
                out.append(place.parent_id)
            place = parent
        return out

    def _runs(self, task_id: str) -> list[TaskRun]:
        """The runs of `task_id` the reader sees. Inside a Loop, those of the reader's own
        iteration of its innermost Loop, found by walking that iteration's runs only (a read
        costs what the iteration holds, not what the whole Loop holds); none when the reader is
        not in an iteration of that Loop."""
        if self._flow is None:
            return list(self._exe.by_task.get(task_id, ()))
        loops = self._enclosing_loops(task_id)
        if not loops:
            return list(self._exe.by_task.get(task_id, ()))
        mine = [(loop_id, g) for loop_id, g in self._seen_from
                if (run := self._exe.by_id.get(loop_id)) is not None and run.task_id == loops[0]]
        if not mine:
            return []
        loop_id, group = mine[0]
        found: list[TaskRun] = []
        pending = [r for r in self._exe.group_runs(loop_id, group) if r.block == "tasks"]
        while pending:
            run = pending.pop()
            if run.task_id == task_id:
                found.append(run)
            pending.extend(self._exe.children(run.id))
        found.sort(key=lambda r: r.seq)
        return found


class OutputsView(_IterationScoped, Mapping[str, Any]):
    """`outputs.<taskId>`; runs inside loops nest by iteration value, as in Kestra; inside a
    Loop's iteration, that iteration's own runs, without nesting by its value."""

    def _build(self, task_id: str) -> Any:
        runs = [r for r in self._runs(task_id) if r.outputs]
        if not runs:
            raise KeyError(task_id)
        result: Any = None
        for r in runs:
            shown = readable(r.outputs) if is_loop_outputs(r.outputs) else r.outputs
            path = _value_path(self._exe, r, self._flow)
            if not path:
                result = shown
                continue
            if not isinstance(result, dict):
                result = {}
            node = result
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = shown
        return result

    def __getitem__(self, key: str) -> Any:
        return self._build(key)

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, runs in list(self._exe.by_task.items())
                     if any(r.outputs and self._visible(r) for r in runs)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class TasksView(_IterationScoped, Mapping[str, Any]):
    """`tasks.<taskId>.state`, or `tasks.<taskId>.<value>.state` inside loops; inside a Loop's
    iteration, that iteration's own runs (as `outputs`)."""

    def __getitem__(self, key: str) -> Any:
        runs = self._runs(key)
        if not runs:
            raise KeyError(key)
        result: dict[str, Any] = {}
        for r in runs:
            if r.value is None or (self._flow is not None and _isolating(
                    self._flow, self._exe.by_id.get(r.parent_id) if r.parent_id else None, r)):
                result = {"state": r.current.value}
            else:
                result[r.value] = {"state": r.current.value}
        return result

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, runs in list(self._exe.by_task.items()) if any(self._visible(r) for r in runs)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def build(
    flow: Flow,
    exe: Execution,
    run: TaskRun | None = None,
    task: Task | None = None,
    extra: Mapping[str, Any] | None = None,
    envs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The variables of a template; `envs` is what `{{ envs.x }}` reads (this process's `ENV_*`
    variables unless given: the executor passes the ones of its `Surroundings`)."""
    execution: dict[str, Any] = {
        "id": exe.id,
        "startDate": iso(exe.state.start_date) if exe.state.start_date else None,
        "originalId": exe.original_id or exe.id,
        "state": exe.state.current.value if exe.state.current.terminated else "RUNNING",
    }
    if exe.state.current.terminated:
        execution["outputs"] = exe.outputs
        if exe.state.end_date:
            execution["endDate"] = iso(exe.state.end_date)  # what `afterExecution` tasks see, as in Kestra
    isolated = flow.isolates_iterations()
    chain = iterations_of(flow, exe, run) if run is not None and isolated else []
    seen_from = frozenset((loop.id, child.group) for loop, child in chain)
    variables: dict[str, Any] = {
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": exe.flow_revision},
        "execution": execution,
        "outputs": OutputsView(exe, flow, seen_from) if isolated else OutputsView(exe),
        "tasks": TasksView(exe, flow, seen_from) if isolated else TasksView(exe),
        "labels": _labels(exe.labels),
        "vars": exe.vars_of(flow.variables),
        "envs": process_envs() if envs is None else envs,
        "globals": {},
    }
    if exe.inputs:
        variables["inputs"] = nest_dotted(exe.inputs)
    if exe.trigger:
        variables["trigger"] = exe.trigger.get("variables", exe.trigger)
    if task is not None:
        variables["task"] = {"id": task.id, "type": task.type}
    if run is not None:
        taskrun = _taskrun(run)
        folder = working_directory_of(flow, exe, run)
        if folder is not None:
            # Kestra runs a WorkingDirectory's children as one worker job: they see that job's run
            # as `workerTaskrun`, and its loop value as their own (`{{ taskrun.value }}` in a ForEach).
            variables["workerTaskrun"] = _taskrun(folder)
            if folder.value is not None:
                taskrun["value"] = folder.value
        variables["taskrun"] = taskrun
        parents = _parents(exe, run)
        if parents:
            variables["parents"] = parents
            variables["parent"] = parents[0]
        if chain:
            variables["item"] = item_of(chain)
    if extra:
        variables.update(extra)
    return variables


def _taskrun(run: TaskRun) -> dict[str, Any]:
    taskrun: dict[str, Any] = {
        "id": run.id,
        "startDate": iso(run.state.start_date) if run.state.start_date else None,
        "attemptsCount": max(len(run.attempts) - 1, 0) if run.attempts else 0,
    }
    if run.parent_id:
        taskrun["parentId"] = run.parent_id
    if run.value is not None:
        taskrun["value"] = run.value
    if run.iteration is not None:
        taskrun["iteration"] = run.iteration
    return taskrun


def working_directory_of(flow: Flow, exe: Execution, run: TaskRun) -> TaskRun | None:
    """The run of the nearest `WorkingDirectory` around `run` (a task class that declares
    `shares_working_directory`), if any: the folder `run` works in and the job it belongs to."""
    if not flow.shares_folders():
        return None
    parent = exe.by_id.get(run.parent_id) if run.parent_id else None
    while parent is not None:
        if getattr(flow.task(parent.task_id), "shares_working_directory", False):
            return parent
        parent = exe.by_id.get(parent.parent_id) if parent.parent_id else None
    return None


def _parents(exe: Execution, run: TaskRun) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parent = exe.by_id.get(run.parent_id) if run.parent_id else None
    while parent is not None:
        if parent.value is not None or parent.outputs:
            # `task` names the parent, as newer Kestra gives it: parentOutput() finds its outputs by it.
            entry: dict[str, Any] = {"taskrun": {"value": parent.value}, "outputs": parent.outputs,
                                     "task": {"id": parent.task_id}}
            out.append(entry)
        parent = exe.by_id.get(parent.parent_id) if parent.parent_id else None
    return out


def _labels(labels: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in labels.items():
        if k.startswith("system."):
            out.setdefault("system", {})[k[len("system."):]] = v
        else:
            out[k] = v
    return out


_ENVS: dict[str, str] | None = None


def process_envs() -> dict[str, str]:
    """This process's `ENV_<NAME>` variables as `{name: value}`, read once (Kestra's `envs`)."""
    global _ENVS
    if _ENVS is None:
        _ENVS = {k[4:].lower(): v for k, v in os.environ.items() if k.startswith("ENV_")}
    return _ENVS
