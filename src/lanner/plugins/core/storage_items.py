"""`…core.storage.FilterItems` and `…core.storage.DeduplicateItems`: Ion files of items, one per
line (what Kestra's serdes tasks write), filtered or deduplicated by a template that sees each
item's fields as variables (`{{ customer_email }}`), over the task's own.

Each kept line is written back unchanged, so the result is the same Ion text, in `.ion` files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal, Protocol, cast

from pydantic import Field

from lanner.errors import LannerError
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.core.storage import file_name, render_uri
from lanner.plugins.core.storage_lines import lines_of


class ItemRendering(Protocol):
    def render_with(self, value: Any, extra: Mapping[str, Any]) -> Any: ...


def _renderer(ctx: RunContext) -> ItemRendering:
    if not hasattr(ctx, "render_with"):
        raise TaskFailure("rendering with an item's fields is not available in this runtime")
    return cast(ItemRendering, ctx)


def items(ctx: RunContext, uri: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each line of the file with the map it holds; a line that is not an Ion map fails the task."""
    from lanner.expr.ion import from_ion

    for number, line in enumerate(lines_of(ctx.read_file(uri).decode("utf-8", "replace")), start=1):
        try:
            item = from_ion(line)
        except LannerError as exc:
            raise TaskFailure(f"line {number} of `{uri}` is not Ion: {exc.message}") from None
        if not isinstance(item, dict):
            raise TaskFailure(f"line {number} of `{uri}` holds a {type(item).__name__}, not an item (an Ion map)")
        yield line, item


def _store(ctx: RunContext, task_id: str, kept: list[str]) -> str:
    return ctx.put_file(file_name(task_id, ".ion"), "".join(line + "\n" for line in kept).encode("utf-8"))


class FilterItems(RunnableTask):
    """Keep (`INCLUDE`) or drop (`EXCLUDE`) the items for which `filterCondition` is true (Kestra's
    truthiness); an item whose condition cannot be rendered fails the task, or is kept or dropped
    as `errorOrNullBehavior` says."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the file of kept items"),
        processedItemsTotal=("integer", "How many items were read"),
        droppedItemsTotal=("integer", "How many items were dropped"),
    )

    acts_outside: ClassVar[bool] = False  # Lanner's own storage only

    from_: str = Field(alias="from")
    filterCondition: str
    filterType: Literal["INCLUDE", "EXCLUDE"] = "INCLUDE"
    errorOrNullBehavior: Literal["FAIL", "INCLUDE", "EXCLUDE"] = "FAIL"

    def run(self, ctx: RunContext) -> Output:
        from lanner import expr

        renderer = _renderer(ctx)
        source = render_uri(ctx, self.from_, "from")
        kept: list[str] = []
        processed = 0
        for line, item in items(ctx, source):
            processed += 1
            try:
                action = self.filterType
                if not expr.is_truthy(str(renderer.render_with(self.filterCondition, item)).strip()):
                    action = "EXCLUDE" if action == "INCLUDE" else "INCLUDE"
            except LannerError as exc:
                if self.errorOrNullBehavior == "FAIL":
                    raise TaskFailure(f"`filterCondition` failed on item {line[:200]}: {exc.message}") from None
                action = self.errorOrNullBehavior
            if action == "INCLUDE":
                kept.append(line)
        return Output({"uri": _store(ctx, self.id, kept), "processedItemsTotal": processed,
                       "droppedItemsTotal": processed - len(kept)})


class DeduplicateItems(RunnableTask):
    """Keep, for each key `expr` renders, the last item with that key, in the file's order."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the file of kept items"),
        numKeys=("integer", "How many distinct keys `expr` gave"),
        processedItemsTotal=("integer", "How many items were read"),
        droppedItemsTotal=("integer", "How many items were dropped"),
    )

    acts_outside: ClassVar[bool] = False  # Lanner's own storage only

    from_: str = Field(alias="from")
    expr: str

    def run(self, ctx: RunContext) -> Output:
        renderer = _renderer(ctx)
        source = render_uri(ctx, self.from_, "from")
        last: dict[str, int] = {}
        lines: list[tuple[str, str]] = []
        for position, (line, item) in enumerate(items(ctx, source)):
            try:
                key = str(renderer.render_with(self.expr, item))
            except LannerError as exc:
                raise TaskFailure(f"`expr` failed on item {line[:200]}: {exc.message}") from None
            last[key] = position
            lines.append((line, key))
        kept = [line for position, (line, key) in enumerate(lines) if last[key] == position]
        return Output({"uri": _store(ctx, self.id, kept), "numKeys": len(last),
                       "processedItemsTotal": len(lines), "droppedItemsTotal": len(lines) - len(kept)})
