"""`io.kestra.plugin.core.log.Log` and `…log.Fetch`."""

from __future__ import annotations

from typing import Any, ClassVar

from lanner.plugins.api import LogLevel, Output, RunContext, RunnableTask, output_docs


class Log(RunnableTask):
    """Log one message, or each message of a list, at a level. Never changes the task's state."""

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)
    instant: ClassVar[bool] = True  # renders and logs only (see RunnableTask)

    message: str | list[Any]
    level: LogLevel = "INFO"

    def run(self, ctx: RunContext) -> None:
        messages = self.message if isinstance(self.message, list) else [self.message]
        emit = {
            "TRACE": ctx.logger.trace,
            "DEBUG": ctx.logger.debug,
            "INFO": ctx.logger.info,
            "WARN": ctx.logger.warn,
            "ERROR": ctx.logger.error,
        }[self.level]
        for m in messages:
            emit(str(ctx.render(m)) if isinstance(m, str) else str(ctx.render(str(m))))
        return None


class Fetch(RunnableTask):
    """Collect the logs of this execution (or of given tasks) into a file of internal storage."""

    outputs_doc = output_docs(
        uri=("string", "A `kestra://` Ion file of the fetched log lines"),
        size=("integer", "How many log lines were fetched"),
    )

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)

    executionId: str | None = None
    tasksId: list[str] | None = None
    level: LogLevel = "INFO"
    namespace: str | None = None
    flowId: str | None = None

    def run(self, ctx: RunContext) -> Output:
        fetch = getattr(ctx, "fetch_logs", None)
        if fetch is None:
            from lanner.plugins.api import TaskFailure

            raise TaskFailure("log fetching is not available in this runtime")
        execution_id = ctx.render(self.executionId) if self.executionId else ctx.execution_id
        lines = fetch(execution_id, self.tasksId, self.level)
        body = "".join(f"{line}\n" for line in lines).encode()
        uri = ctx.put_file("logs.txt", body)
        return Output({"uri": uri, "size": len(lines)})

