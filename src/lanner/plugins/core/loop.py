"""Loop (newest Kestra): the children run once per item of `values`, each iteration kept apart.

Kestra runs each iteration as a sub-execution of its own; Lanner runs it as a group of task runs
of the same execution, isolated the same way: a task inside an iteration sees `item` (`value`,
`index`, a map's `key`, and the enclosing Loops' items as `parent`/`parents`) and only its own
iteration's outputs, and nothing outside the Loop sees an iteration's outputs except through the
Loop's declared `outputs` (`outputs.<loop>.outputs`, one entry per iteration). What differs is
where the runs are kept: in the execution (so its task-run count includes them), not in
sub-executions.

With `fetchType: STORE` an iteration's declared outputs are not kept in the Loop's outputs but
written to internal storage as an Ion map, and the entry's `outputs` is `{"uri": "kestra://…"}`,
as Kestra's Loop does (for loops whose outputs would make the execution too big). `AUTO` picks
STORE in Kestra only when `values` is a file of internal storage, which Lanner's Loop refuses, so
here it is always FETCH.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from lanner.model.flow import FlowOutput
from lanner.model.inputs import coerce_output
from lanner.model.state import StateType
from lanner.plugins.api import FlowableTask, Group, IterationEnd, Resolution, RunContext, Task, TaskFailure, output_docs


def _as_text(value: Any) -> str:
    """An item as Kestra coalesces it to a string: text stays, anything else is its JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loop_items(ctx: RunContext, raw: Any) -> tuple[list[str], list[str] | None]:
    """The iterations of `values`: their values as text, and a map's keys (None for a list).

    `values` is a list (string items rendered), a map, or a template (or text) rendering to a
    list, a map or the JSON text of one.
    """
    if isinstance(raw, str):
        rendered = ctx.render_typed(raw)
        if isinstance(rendered, str):
            text = rendered.strip()
            if text.startswith("kestra://"):
                raise TaskFailure("`values` is a file of internal storage; Lanner's Loop takes a list or a map "
                                  "(read the file into a list first, or use ForEachItem for files)")
            try:
                rendered = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TaskFailure(f"`values` is not a JSON list or map: {exc.msg} in `{text[:80]}`") from None
        values = rendered
    elif isinstance(raw, list):
        values = [ctx.render(v) if isinstance(v, str) else v for v in raw]
    else:
        values = {k: ctx.render(v) if isinstance(v, str) else v for k, v in raw.items()}
    if isinstance(values, dict):
        keys = [str(k) for k in values]
        items = list(values.values())
    elif isinstance(values, list):
        keys, items = None, values
    else:
        raise TaskFailure(f"`values` must be a list or a map, got {type(values).__name__}")
    nulls = sum(1 for v in items if v is None)
    if nulls:
        raise TaskFailure(f"`values` holds {nulls} null item(s); give every iteration a value")
    return [_as_text(v) for v in items], keys


class Loop(FlowableTask):
    """The children once per item, `concurrencyLimit` iterations at a time (0: all at once).

    `concurrencyLimit` defaults to 1, one iteration after another: Kestra's tests of the flows
    without it (`loop-serial`, `loop-failed`: one iteration ran, then the loop failed) assert a
    serial loop, while one stored version of its source declares 0.

    An iteration is over when its last child ended, or one ended FAILED or KILLED. With
    `transmitFailed` (the default) such an iteration fails the Loop and no further one starts;
    without it every iteration runs and the Loop ends SUCCESS. `breakWhen`, judged after each
    iteration with `item` and `iteration` (`state`, `outputs`, `executionId`), starts no further
    iteration once it is true. Outputs: `iterationCount`, `terminatedIterations` (iterations by
    state), `runningIterations`, and `outputs` (each iteration's `item` and declared outputs).
    """

    outputs_doc = output_docs(
        iterationCount=("integer", "How many iterations the values give"),
        runningIterations=("integer", "How many iterations are running now"),
        terminatedIterations=("object", "How many iterations ended, by state"),
        keys=("array", "The keys, in order, when `values` is a map"),
        outputs=("array", "For each ended iteration: its `item` (value, iteration, key) and the `outputs` it declared"),
        brokenAfter=("integer", "The iteration after which `breakWhen` held"),
    )

    isolates_iterations: ClassVar[bool] = True

    values: str | list[Any] | dict[str, Any]
    tasks: list[Task] = Field(min_length=1)
    concurrencyLimit: int = Field(default=1, ge=0)  # see the class docstring
    transmitFailed: bool = True
    outputs: list[FlowOutput] | None = None
    fetchType: Literal["AUTO", "FETCH", "STORE"] = "AUTO"  # see the module docstring
    breakWhen: str | bool | None = None

    def resolve(self, ctx: RunContext) -> Resolution:
        values, keys = loop_items(ctx, self.values)
        children = [t for t in self.tasks if not t.disabled]
        groups = [Group(children, value=v, iteration=i) for i, v in enumerate(values)]
        outputs: dict[str, Any] = {"iterationCount": len(values), "runningIterations": 0, "terminatedIterations": {}}
        if keys is not None:
            outputs["keys"] = keys
        return Resolution(groups, concurrency=self.concurrencyLimit, outputs=outputs)

    def _kept(self, ctx: RunContext, iteration: int, values: dict[str, Any]) -> dict[str, Any]:
        """An iteration's declared outputs as the Loop's `outputs` keep them: themselves, or with
        STORE the URI of the Ion file holding them (`read()` and the storage tasks open it)."""
        if self.fetchType != "STORE":
            return values
        from lanner.expr.ion import to_ion

        return {"uri": ctx.put_file(f"iteration-{iteration}.ion", to_ion(values).encode())}

    def transmits_failure(self) -> bool:
        return self.transmitFailed

    def iteration_ended(self, ctx: RunContext, iteration: int, state: StateType) -> IterationEnd | None:
        item = ctx.variables.get("item") or {}
        recorded: dict[str, Any] | None = None
        values: dict[str, Any] = {}
        if self.outputs:
            values = {o.id: coerce_output(o, ctx.render_typed(o.value)) for o in self.outputs}
            entry = {"value": item.get("value"), "iteration": iteration}
            if "key" in item:
                entry["key"] = item["key"]
            recorded = {"item": entry, "outputs": self._kept(ctx, iteration, values)}
        stop = False
        if self.breakWhen is not None:
            seen = dict(ctx.variables)
            # judged on the outputs themselves, also when STORE keeps only their file's URI
            seen["iteration"] = {"executionId": ctx.execution_id, "state": state.value, "outputs": values}
            stop = _judge(ctx, self.breakWhen, seen)
        return IterationEnd(recorded, stop)


def _judge(ctx: RunContext, condition: str | bool, variables: dict[str, Any]) -> bool:
    """`breakWhen` with Kestra's truthiness, seeing the `iteration` variables as well."""
    if isinstance(condition, bool):
        return condition
    kept = ctx.variables
    ctx.variables = variables
    try:
        return ctx.is_true(condition)
    finally:
        ctx.variables = kept
