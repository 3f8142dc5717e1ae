"""The small run context the executor uses to resolve flowables, `runIf` and flow outputs.

It renders templates and collects log lines; it has no files, no sleep and no cancellation,
because the executor never does I/O or waits.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lanner.model.results import LevelMethods, LogEntry


class CollectingLogger(LevelMethods):
    def __init__(self, sink: list[LogEntry], execution_id: str, run_id: str | None, task_id: str | None) -> None:
        self._sink = sink
        self._ids = (execution_id, run_id, task_id)

    def _log(self, level: str, message: str) -> None:
        self._sink.append(LogEntry(self._ids[0], self._ids[1], self._ids[2], level, message))


class EngineContext:
    def __init__(self, variables: Mapping[str, Any], logger: CollectingLogger, execution_id: str,
                 task_run_id: str) -> None:
        self.variables = variables
        self.logger = logger
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.cancelled = threading.Event()

    def render(self, value: Any) -> Any:
        from lanner import expr

        return expr.render_value(value, self.variables)

    def render_typed(self, value: Any) -> Any:
        from lanner import expr

        return expr.render_value_typed(value, self.variables)

    def is_true(self, value: Any) -> bool:
        from lanner import expr

        if isinstance(value, str):
            value = expr.render(value, self.variables)
        return expr.is_truthy(value)

    def sleep(self, seconds: float) -> bool:  # pragma: no cover - flowables never sleep
        raise RuntimeError("the executor does not sleep")

    def working_dir(self) -> Path:  # pragma: no cover
        raise RuntimeError("flowable tasks have no working directory in the executor")

    def put_file(self, name: str, data: bytes) -> str:  # pragma: no cover
        raise RuntimeError("flowable tasks cannot store files in the executor")

    def read_file(self, uri: str) -> bytes:  # pragma: no cover
        raise RuntimeError("flowable tasks cannot read files in the executor")
