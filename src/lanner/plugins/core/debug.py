"""`…debug.Return` and `…output.OutputValues`: tasks whose only job is to produce outputs."""

from __future__ import annotations

from typing import Any

from lanner.plugins.api import Output, RunContext, RunnableTask


class Return(RunnableTask):
    format: str | None = None

    def run(self, ctx: RunContext) -> Output:
        return Output({"value": None if self.format is None else str(ctx.render(self.format))})


class OutputValues(RunnableTask):
    values: dict[str, Any]

    def run(self, ctx: RunContext) -> Output:
        return Output({"values": ctx.render(self.values)})
