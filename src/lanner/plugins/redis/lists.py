"""`io.kestra.plugin.redis.list.ListPush` and `…ListPop` (aliases `io.kestra.plugin.redis.ListPush|ListPop`).

`ListPush` takes its values (`from`) as a YAML list, a JSON list in a string, or the `kestra://`
URI of an Ion record file (what `ListPop` and other Kestra tasks write), and pushes them at the
head of the list (LPUSH). `ListPop` pops from the head in batches of `count` until the list is
empty, `maxRecords` records were read or `maxDuration` has passed, and stores them as an Ion file.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import Field

from lanner.expr.errors import ExpressionError
from lanner.expr.ion import from_ion, to_ion
from lanner.model.property import Duration, Int
from lanner.plugins.api import Output, RunContext, TaskFailure, output_docs
from lanner.plugins.properties import render_int, render_str
from lanner.plugins.redis.connection import RedisConnection
from lanner.plugins.redis.values import (
    SerdeType,
    deserialize,
    render_duration,
    render_serde,
    serialize,
)

PUSH_BATCH = 1000  # values per LPUSH, so a large file is neither one huge command nor a million small ones


class ListPush(RedisConnection):
    """Push values at the head of a list; `count` is how many were pushed."""

    outputs_doc = output_docs(
        count=("integer", "How many values were pushed"),
    )

    key: str
    from_: list[Any] | str = Field(alias="from")
    serdeType: SerdeType = "STRING"

    def run(self, ctx: RunContext) -> Output:
        key = render_str(ctx, self.key) or ""
        serde = render_serde(ctx, self.serdeType)
        payloads = [serialize(v, serde, f"from[{i}]") for i, v in enumerate(self._values(ctx))]
        pushed = 0
        with self.session(ctx) as client:
            for start in range(0, len(payloads), PUSH_BATCH):
                if ctx.cancelled.is_set():
                    raise TaskFailure(f"ListPush cancelled after pushing {pushed} of {len(payloads)} values")
                batch = payloads[start:start + PUSH_BATCH]
                client.lpush(key, *batch)
                pushed += len(batch)
        ctx.logger.debug(f"Pushed {pushed} values to list `{key}`")
        return Output({"count": pushed})

    def _values(self, ctx: RunContext) -> list[Any]:
        """The values to push: rendered list items, a JSON list, or the records of an Ion file."""
        if isinstance(self.from_, list):
            return [ctx.render(v) if isinstance(v, (str, dict, list)) else v for v in self.from_]
        rendered = str(ctx.render(self.from_)).strip()
        try:
            parsed = json.loads(rendered)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
        if not rendered.startswith("kestra://"):
            shown = rendered if len(rendered) <= 80 else rendered[:77] + "..."
            raise TaskFailure("`from` must be a list, a JSON list or the kestra:// URI of a record file, "
                              f"got `{shown}`")
        try:
            data = ctx.read_file(rendered)
        except Exception as exc:  # noqa: BLE001 - storage errors carry their own explanation
            raise TaskFailure(f"Cannot read `from` ({rendered}): {getattr(exc, 'message', None) or exc}") from exc
        try:
            return list(from_ion(data.decode("utf-8", "replace"), all_rows=True))
        except ExpressionError as exc:
            raise TaskFailure(f"`from` ({rendered}) is not a valid Ion record file: {exc.message}") from None


class ListPop(RedisConnection):
    """Pop records from the head of a list into an Ion file of internal storage (`uri`, `count`)."""

    outputs_doc = output_docs(
        count=("integer", "How many values were popped"),
        uri=("string", "A `kestra://` Ion file of the popped values"),
    )

    key: str
    serdeType: SerdeType = "STRING"
    maxRecords: Int | None = None
    maxDuration: Duration | None = None
    count: Int = 100

    def run(self, ctx: RunContext) -> Output:
        key = render_str(ctx, self.key) or ""
        serde = render_serde(ctx, self.serdeType)
        max_records = render_int(ctx, self.maxRecords, "maxRecords")
        max_duration = render_duration(ctx, self.maxDuration, "maxDuration")
        batch = render_int(ctx, self.count, "count") or 0
        if max_records is None and max_duration is None:
            raise TaskFailure("`maxRecords` or `maxDuration` must be set, so that popping from a list that keeps "
                              "being filled ends")
        if batch < 1:
            raise TaskFailure(f"`count` (records per LPOP) must be at least 1, got {batch}")
        deadline = None if max_duration is None else time.monotonic() + max_duration.total_seconds()
        lines: list[str] = []
        with self.session(ctx) as client:
            while True:
                if ctx.cancelled.is_set():
                    ctx.logger.warn(f"ListPop cancelled after {len(lines)} records; they are kept in the output file")
                    break
                # Never pop more than maxRecords: records popped beyond it would be taken off the list
                # and handed to this run anyway, which is not what a limit of N records promises.
                size = batch if max_records is None else min(batch, max_records - len(lines))
                if size <= 0:
                    break
                popped = client.lpop(key, size)
                if not popped:
                    break
                lines.extend(to_ion(deserialize(item, serde, key)) + "\n" for item in popped)
                if deadline is not None and time.monotonic() > deadline:
                    break
        ctx.logger.debug(f"deleted.records.count = {len(lines)} (key {key})")
        uri = ctx.put_file(f"{key or 'list'}.ion", "".join(lines).encode("utf-8"))
        return Output({"count": len(lines), "uri": uri})
