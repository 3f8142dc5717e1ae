"""The small run context the executor uses to resolve flowables, `runIf` and flow outputs.

It renders templates and collects log lines; it has no sleep and no cancellation, because the
executor never does I/O or waits. Its one file operation, `put_file`, only names a file and hands
its content to the decision's effects (when the executor gave it a `store`); the runtime writes it.
A template's `secret()` and `kv()` are answered by the executor's `Surroundings`, not by the
process environment or the disk.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lanner.errors import LannerError
from lanner.model.results import LevelMethods, LogEntry


class CollectingLogger(LevelMethods):
    def __init__(self, sink: list[LogEntry], execution_id: str, run_id: str | None, task_id: str | None,
                 clock: Callable[[], dt.datetime]) -> None:
        self._sink = sink
        self._ids = (execution_id, run_id, task_id)
        self._clock = clock

    def _log(self, level: str, message: str) -> None:
        self._sink.append(LogEntry(self._ids[0], self._ids[1], self._ids[2], level, message, self._clock()))


class DecisionServices:
    """The template services of a decision: `secret()` and `kv()` through the executor's surroundings.

    `read()` and `errorLogs()` need a task running on a worker; here they fail exactly as they do
    in a template rendered without services (the expression language's own message).
    """

    __slots__ = ("_kv", "_secret")

    def __init__(self, secret: Callable[[str], str], kv: Callable[[str, str | None, bool], Any]) -> None:
        self._secret = secret
        self._kv = kv

    def secret(self, name: str) -> str:
        from lanner.expr.errors import ExpressionError

        try:
            return self._secret(name)
        except LannerError as exc:  # as the expression language reports a missing SECRET_<NAME>
            raise ExpressionError(exc.message, hint=exc.hint) from None

    def read(self, uri: str) -> str:
        from lanner.expr import functions_context

        return functions_context.read(_NO_SERVICES, uri)

    def namespace_file(self, path: str, namespace: str | None) -> str:
        from lanner.expr import functions_context

        return functions_context.read(_NO_SERVICES, path, namespace)

    def error_logs(self) -> list[dict[str, Any]]:
        from lanner.expr import functions_context

        return functions_context.errorLogs(_NO_SERVICES)

    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        return self._kv(key, namespace, error_on_missing)


class _NoServices:
    """The expression environment without services, to borrow the expression language's refusal."""

    services = None


_NO_SERVICES: Any = _NoServices()


class EngineContext:
    def __init__(self, variables: Mapping[str, Any], logger: CollectingLogger, execution_id: str,
                 task_run_id: str, services: DecisionServices,
                 store: Callable[[str, bytes], str] | None = None) -> None:
        self.store = store  # (name, content) -> the URI the file will have; None: no file may be stored
        self.variables = variables
        self.logger = logger
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.services = services
        self.cancelled = threading.Event()

    def render(self, value: Any) -> Any:
        from lanner import expr

        return expr.render_value(value, self.variables, self.services)

    def render_typed(self, value: Any) -> Any:
        from lanner import expr

        return expr.render_value_typed(value, self.variables, self.services)

    def is_true(self, value: Any) -> bool:
        from lanner import expr

        if isinstance(value, str):
            value = expr.render(value, self.variables, self.services)
        return expr.is_truthy(value)

    def sleep(self, seconds: float) -> bool:  # pragma: no cover - flowables never sleep
        raise RuntimeError("the executor does not sleep")

    def working_dir(self) -> Path:  # pragma: no cover
        raise RuntimeError("flowable tasks have no working directory in the executor")

    def put_file(self, name: str, data: bytes) -> str:
        if self.store is None:  # pragma: no cover - only a Loop's iteration end is given a store
            raise RuntimeError("flowable tasks cannot store files in the executor")
        return self.store(name, data)

    def read_file(self, uri: str) -> bytes:  # pragma: no cover
        raise RuntimeError("flowable tasks cannot read files in the executor")

    def kv_store(self) -> Any:  # pragma: no cover
        raise RuntimeError("flowable tasks cannot reach the KV store in the executor")
