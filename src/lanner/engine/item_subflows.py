"""A ForEachItem's batches: one child execution per batch, their ends counted on one task run.

The `<id>_items` task run (effect `item_subflows`) starts a child per batch that its sibling
`<id>_split` left in its outputs (the worker read the file and rendered each batch's inputs; the
executor reads nothing). Its outputs are Kestra's — `numberOfBatches`, and `iterations`, the
children counted by state and updated as each one ends (how its progress shows) — plus Lanner's
`executionIds` (by batch) and, while counting, `executionStates` and `executionOutputs` by batch
index (what makes a repeated end idempotent, and what `<id>_merge` writes out). When all ended,
the run ends FAILED if a child failed, else KILLED if one was killed, else WARNING if one warned,
else SUCCESS, as Kestra decides — or SUCCESS whatever they did without `transmitFailed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanner.engine.effects import SubflowStart
from lanner.engine.kills import KillHandling
from lanner.engine.scope import final_run_state
from lanner.engine.subflow_target import render_target
from lanner.errors import LannerError
from lanner.model.execution import Attempt, TaskRun
from lanner.model.state import State, StateType

# Worst first: the first of these a child ended in is the state of the whole run (Kestra's order).
_WORST_FIRST = (StateType.FAILED, StateType.KILLED, StateType.WARNING)


class ItemSubflows(KillHandling):
    def _start_item_subflows(self, run: TaskRun, task: Any) -> None:
        split = next((r for r in self.exe.children(run.parent_id) if r.task_id == task.splitTask), None)
        batches = split.outputs.get("batches") if split is not None else None
        if not isinstance(batches, list):
            self._log(run, task, "ERROR", f"the batches of `{task.splitTask}` are missing; it must run first")
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        try:
            namespace, flow_id, labels = render_target(self._context(run, task), task, self.exe.labels)
        except LannerError as exc:
            self._log(run, task, "ERROR", exc.render())
            self._end_run(run, final_run_state(task, StateType.FAILED, 1))
            return
        ids = [self.surroundings.new_id() for _ in batches]
        run.attempts.append(Attempt(State(StateType.RUNNING, [run.state.histories[-1]])))
        if not batches:  # an empty file: nothing to start, and no outputs (as Kestra)
            self._log(run, task, "INFO", "No items: no subflow execution started")
            self._finish_items(run, task, StateType.SUCCESS)
            return
        n = len(batches)
        run.outputs = {"numberOfBatches": n, "iterations": {"CREATED": 0, "RUNNING": n}, "executionIds": ids}
        self._touch(run)
        for i, (batch, child_id) in enumerate(zip(batches, ids, strict=True)):
            self._fx.subflows.append(SubflowStart(run.id, child_id, namespace, flow_id, task.revision,
                                                  dict(batch.get("inputs") or {}), labels, task.wait, iteration=i))
        self._log(run, task, "INFO", f"Started {n} subflow execution(s) of {namespace}.{flow_id}, one per batch")
        if not task.wait:
            run.outputs["iterations"] = {"RUNNING": 0, "SUCCESS": n}
            self._finish_items(run, task, StateType.SUCCESS)

    def _end_item_subflow(self, run: TaskRun, task: Any, state: StateType, outputs: dict[str, Any],
                          child: Mapping[str, Any] | None) -> None:
        """One batch's child ended: count it; the last one ends the run."""
        child_id = ((child or {}).get("execution") or {}).get("id")
        ids = run.outputs.get("executionIds") or []
        if child_id not in ids:
            return
        key = str(ids.index(child_id))
        states: dict[str, str] = run.outputs.setdefault("executionStates", {})
        if key in states:
            return  # this child's end was counted already
        states[key] = state.value
        iterations: dict[str, int] = run.outputs["iterations"]
        iterations["RUNNING"] = iterations.get("RUNNING", 0) - 1
        iterations[state.value] = iterations.get(state.value, 0) + 1
        if outputs:
            run.outputs.setdefault("executionOutputs", {})[key] = outputs
        self._touch(run)
        if len(states) < len(ids):
            return
        result = StateType.SUCCESS
        if task.transmitFailed:
            result = next((s for s in _WORST_FIRST if iterations.get(s.value)), StateType.SUCCESS)
        if self._stopping and result is StateType.SUCCESS and self.exe.kill:
            result = StateType.KILLED
        self._log(run, task, "INFO" if result is StateType.SUCCESS else "WARN",
                  "All subflow executions ended: " + ", ".join(f"{v} {k}" for k, v in iterations.items() if v))
        self._finish_items(run, task, result)

    def _finish_items(self, run: TaskRun, task: Any, result: StateType) -> None:
        run.attempts[-1].state.to(result, self._now())
        self._touch(run)
        self._end_run(run, final_run_state(task, result, 1))

    def _item_subflow_failed(self, run: TaskRun, task: Any, child_id: str, message: str) -> None:
        """A batch's child could not be created (flow missing, inputs refused): that batch FAILED."""
        self._log(run, task, "ERROR", message)
        self._end_item_subflow(run, task, StateType.FAILED, {}, {"execution": {"id": child_id}})
