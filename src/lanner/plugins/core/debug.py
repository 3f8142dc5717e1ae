"""`…debug.Return`, `…output.OutputValues` and the old `…debug.Echo`: tasks that only produce outputs or logs."""

from __future__ import annotations

from typing import Any, ClassVar

from lanner.plugins.api import LogLevel, Output, RunContext, RunnableTask, output_docs


class Return(RunnableTask):
    outputs_doc = output_docs(
        value=("string", "The rendered `format`; null when `format` is not set"),
    )

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)
    instant: ClassVar[bool] = True  # renders and logs only (see RunnableTask)

    format: str | None = None

    def run(self, ctx: RunContext) -> Output:
        return Output({"value": None if self.format is None else str(ctx.render(self.format))})


class OutputValues(RunnableTask):
    outputs_doc = output_docs(
        values=("object", "The rendered `values` map, each value keeping the type the flow gave it"),
    )

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)
    instant: ClassVar[bool] = True  # renders and logs only (see RunnableTask)

    values: dict[str, Any]

    def run(self, ctx: RunContext) -> Output:
        return Output({"values": ctx.render(self.values)})


class Echo(RunnableTask):
    """Kestra's deprecated way to log a rendered `format` (use `…log.Log`)."""

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)
    instant: ClassVar[bool] = True  # renders and logs only (see RunnableTask)

    format: str
    level: LogLevel = "INFO"

    def run(self, ctx: RunContext) -> None:
        text = str(ctx.render(self.format))
        {"TRACE": ctx.logger.trace, "DEBUG": ctx.logger.debug, "INFO": ctx.logger.info, "WARN": ctx.logger.warn,
         "ERROR": ctx.logger.error}[self.level](text)
