"""ForEachItem: split a file of internal storage into batches, start one Subflow execution per batch.

As in Kestra, the task is a flowable made of three internal tasks that run one after another and
show as task runs of their own: `<id>_split` (a worker reads the file, writes one file per batch
and renders the Subflow `inputs` of each batch, `{{ taskrun.items }}` and `{{ taskrun.iteration }}`
included), `<id>_items` (the executor starts one child execution per batch and counts their ends
in `iterations`) and `<id>_merge` (a worker writes the children's declared outputs, one Ion line
per child in batch order, to the file `subflowOutputs`). Reading and writing files happens on the
worker only: the executor decides from the outputs the split left behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from lanner.plugins.api import (
    ExecutionEffect,
    FlowableTask,
    Group,
    Output,
    Resolution,
    RunContext,
    RunnableTask,
    Task,
    TaskFailure,
    output_docs,
)
from lanner.plugins.core.execution import SCHEDULE_DATE_REFUSED, ChildFlow
from lanner.plugins.core.refusals import refusing

SPLIT, ITEMS, MERGE = "_split", "_items", "_merge"
_TYPE = "io.kestra.plugin.core.flow.ForEachItem"
_LINE_END = re.compile(r"\r\n|\r|\n")
_SIZE = re.compile(r"\s*(\d+)\s*([KMG]B)?\s*", re.IGNORECASE)
_UNITS = {None: 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


class Batch(BaseModel):
    """How the items are cut: by `rows` (1 when nothing is said), `bytes`, `partitions` or `regexPattern`.

    Kestra silently takes the first of regexPattern, bytes, partitions, rows that is set; two of
    them at once is refused here instead, since one of them would be ignored.
    """

    model_config = ConfigDict(extra="forbid")

    rows: int | str | None = None
    bytes: str | int | None = None
    partitions: int | str | None = None
    regexPattern: str | None = None
    separator: str = "\n"

    @model_validator(mode="after")
    def _one_way(self) -> Batch:
        given = [n for n in ("rows", "bytes", "partitions", "regexPattern") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"`batch` sets {' and '.join(f'`{n}`' for n in given)}; only one way of "
                             "splitting applies, keep one of them")
        return self


class ForEachItem(FlowableTask):
    """One Subflow execution per batch of lines of `items`, their outputs merged into one file.

    It records no outputs of its own: its internal tasks do, as `outputs.<id>_split` (`splits`,
    `batches`), `outputs.<id>_items` (`numberOfBatches`, `iterations`, `executionIds`…) and
    `outputs.<id>_merge.subflowOutputs` (the children's outputs, a line each).
    """

    items: str
    batch: Batch = Batch()
    namespace: str
    flowId: str
    revision: int | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, Any] | list[dict[str, Any]] = {}
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False
    scheduleDate: Any = None  # refused below: Kestra's, named so that the refusal says why
    restartBehavior: Any = None

    refused: ClassVar[dict[str, str]] = {
        "scheduleDate": SCHEDULE_DATE_REFUSED,
        "restartBehavior": "is not supported by Lanner: a ForEachItem (like a Subflow) is not "
                           "restarted in place; remove it, and run the flow again to retry",
    }

    _steps: list[Task] = PrivateAttr(default_factory=list)

    check_refused = refusing("scheduleDate", "restartBehavior")

    @model_validator(mode="after")
    def _build_steps(self) -> ForEachItem:
        self._steps = [
            ForEachItemSplit(id=self.id + SPLIT, type=f"{_TYPE}$ForEachItemSplit", items=self.items,
                             batch=self.batch, inputs=self.inputs),
            ForEachItemExecutable(id=self.id + ITEMS, type=f"{_TYPE}$ForEachItemExecutable",
                                  namespace=self.namespace, flowId=self.flowId, revision=self.revision,
                                  labels=self.labels, wait=self.wait, transmitFailed=self.transmitFailed,
                                  inheritLabels=self.inheritLabels, splitTask=self.id + SPLIT),
            ForEachItemMergeOutputs(id=self.id + MERGE, type=f"{_TYPE}$ForEachItemMergeOutputs",
                                    itemsTask=self.id + ITEMS),
        ]
        return self

    def internal_tasks(self) -> list[Task]:
        """The tasks this one adds, whose ids must not clash with the flow's (the loader checks)."""
        return list(self._steps)

    def child_lists(self) -> dict[str, list[Task]]:
        out = {"tasks": self._steps}
        out.update({k: v for k, v in super().child_lists().items() if k != "tasks"})
        return out

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution([Group(list(self._steps))])


class ForEachItemSplit(RunnableTask):
    """Cut `items` into batch files and render each batch's Subflow inputs (internal to ForEachItem)."""

    outputs_doc = output_docs(
        splits=("string", "A `kestra://` file listing the URI of each batch, one a line"),
        batches=("array", "Each batch: its `items` file URI and its rendered Subflow `inputs`"),
    )

    acts_outside: ClassVar[bool] = False  # writes internal storage only; running it again is harmless

    items: str
    batch: Batch
    inputs: dict[str, Any] | None = None

    def run(self, ctx: RunContext) -> Output:
        uri = str(ctx.render(self.items)).strip()
        if not uri.startswith("kestra://"):
            raise TaskFailure(f"Unable to split the items from `{uri[:200]}`: this is not an internal storage URI "
                              "(kestra://…); give the `uri` output of a task or a FILE input")
        try:
            text = ctx.read_file(uri).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TaskFailure(f"`items` ({uri}) is not UTF-8 text at byte {exc.start}; ForEachItem splits text "
                              "files by line (JSON lines, Ion, CSV without header)") from None
        separator = str(ctx.render(self.batch.separator))
        parts = split_rows(_rows(text), self._rule(ctx))
        suffix = PurePosixPath(uri).suffix or ".tmp"
        uris = [ctx.put_file(f"batch-{i}{suffix}", "".join(r + separator for r in rows).encode())
                for i, rows in enumerate(parts)]
        listing = ctx.put_file("splits.txt", "\n".join(uris).encode())
        batches = [{"items": u, "inputs": self._inputs(ctx, u, i)} for i, u in enumerate(uris)]
        ctx.logger.info(f"{len(uris)} batch(es) from {uri}")
        return Output({"splits": listing, "batches": batches})

    def _rule(self, ctx: RunContext) -> tuple[str, Any]:
        b = self.batch
        if b.regexPattern is not None:
            pattern = str(ctx.render(b.regexPattern))
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise TaskFailure(f"`batch.regexPattern` `{pattern}` is not a valid pattern: {exc}") from None
            if compiled.groups < 1:
                raise TaskFailure(f"`batch.regexPattern` `{pattern}` has no group; its first group names the "
                                  "batch of each line, e.g. `\"type\":\"(\\w+)\"`")
            return "regex", compiled
        if b.bytes is not None:
            return "bytes", parse_size(str(ctx.render(b.bytes)))
        if b.partitions is not None:
            return "partitions", _positive(ctx.render(b.partitions), "batch.partitions")
        return "rows", _positive(ctx.render(b.rows) if b.rows is not None else 1, "batch.rows")

    def _inputs(self, ctx: RunContext, uri: str, iteration: int) -> dict[str, Any]:
        """The Subflow inputs of one batch, rendered here where `read(taskrun.items)` can be read."""
        if not self.inputs:
            return {}
        own = ctx.variables
        found = own.get("taskrun")
        taskrun: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        ctx.variables = {**own, "taskrun": {**taskrun, "items": uri, "iteration": iteration}}
        try:
            rendered = ctx.render_typed(self.inputs)
        finally:
            ctx.variables = own
        return dict(rendered)


def _rows(text: str) -> list[str]:
    """The lines of `text` as Java's readLine gives them: `\\n`, `\\r` or `\\r\\n` end one; no empty last."""
    rows = _LINE_END.split(text)
    if rows and rows[-1] == "":
        rows.pop()
    return rows


def split_rows(rows: list[str], rule: tuple[str, Any]) -> list[list[str]]:
    """The batches, in order: a new one starts when the current holds `rows` lines or `bytes` bytes
    (counted with the separator, as Kestra does), lines dealt round-robin over `partitions` (empty
    ones dropped), or grouped by the first group of `regexPattern` (lines it misses are dropped)."""
    kind, limit = rule
    if kind == "partitions":
        dealt: list[list[str]] = [[] for _ in range(limit)]
        for i, row in enumerate(rows):
            dealt[i % limit].append(row)
        return [p for p in dealt if p]
    if kind == "regex":
        keyed: dict[str, list[str]] = {}
        for row in rows:
            m = limit.search(row)
            if m is not None and m.group(1) is not None:
                keyed.setdefault(m.group(1), []).append(row)
        return list(keyed.values())
    out: list[list[str]] = []
    size = 0
    for row in rows:
        if not out or (len(out[-1]) >= limit if kind == "rows" else size >= limit):
            out.append([])
            size = 0
        out[-1].append(row)
        size += len(row.encode()) + 1
    return out


def parse_size(text: str) -> int:
    """`10KB`, `5mb`, `1GB` or a number of bytes (Kestra's readable sizes: K = 1024)."""
    m = _SIZE.fullmatch(text)
    if m is None or int(m.group(1)) < 1:
        raise TaskFailure(f"`batch.bytes` is `{text}`, not a size; write a number of bytes or e.g. `10KB`, `1MB`")
    return int(m.group(1)) * _UNITS[m.group(2).upper() if m.group(2) else None]


def _positive(value: Any, name: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise TaskFailure(f"`{name}` is `{value}`; it must be a whole number of at least 1")
    return number


class ForEachItemExecutable(ChildFlow):
    """Start one child execution per batch and wait for them (internal to ForEachItem; the executor's)."""

    outputs_doc = output_docs(
        numberOfBatches=("integer", "How many child executions were started, one per batch"),
        iterations=("object", "How many child executions are in each state"),
        executionIds=("array", "The child execution ids, in batch order"),
        executionStates=("object", "The final state of each ended child, by batch index"),
        executionOutputs=("object", "The declared outputs of each ended child, by batch index"),
    )

    effect: ClassVar[ExecutionEffect | None] = "item_subflows"

    splitTask: str


class ForEachItemMergeOutputs(RunnableTask):
    """Gather the children's outputs into one Ion file, a line per child (internal to ForEachItem)."""

    outputs_doc = output_docs(
        subflowOutputs=("string", "A `kestra://` Ion file of the children's outputs, a line per child"),
    )

    acts_outside: ClassVar[bool] = False  # writes internal storage only; running it again is harmless

    itemsTask: str

    def run(self, ctx: RunContext) -> Output:
        from lanner.expr.ion import to_ion

        items = _sibling_outputs(ctx.variables, self.itemsTask)
        kept = (items or {}).get("executionOutputs") or {}
        if not kept:
            return Output({})  # no child declared outputs (or none was waited for): nothing to merge
        lines = [to_ion(kept[k]) for k in sorted(kept, key=int)]
        return Output({"subflowOutputs": ctx.put_file("outputs.ion", ("\n".join(lines) + "\n").encode())})


def _sibling_outputs(variables: Mapping[str, Any], task_id: str) -> Mapping[str, Any] | None:
    """A sibling's outputs, walked down by the values of the loops around (as `currentEachOutput`)."""
    outputs = variables.get("outputs") or {}
    current = outputs.get(task_id) if isinstance(outputs, Mapping) else None
    for parent in reversed(list(variables.get("parents") or [])):
        value = (parent.get("taskrun") or {}).get("value") if isinstance(parent, Mapping) else None
        if value is not None and isinstance(current, Mapping) and "numberOfBatches" not in current:
            current = current.get(value)
    return current if isinstance(current, Mapping) else None
