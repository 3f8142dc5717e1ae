"""Messages between the executor and workers, and log entries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from lanner.model.state import StateType, iso, now

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


class LevelMethods:
    """`trace` … `error` on top of one `_log(level, message)`: the shape of every task logger."""

    def _log(self, level: str, message: str) -> None:
        raise NotImplementedError

    def trace(self, message: str) -> None:
        self._log("TRACE", message)

    def debug(self, message: str) -> None:
        self._log("DEBUG", message)

    def info(self, message: str) -> None:
        self._log("INFO", message)

    def warn(self, message: str) -> None:
        self._log("WARN", message)

    def error(self, message: str) -> None:
        self._log("ERROR", message)


@dataclasses.dataclass(slots=True)
class LogEntry:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    level: str
    message: str
    timestamp: dt.datetime = dataclasses.field(default_factory=now)
    attempt: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "taskRunId": self.task_run_id,
            "taskId": self.task_id,
            "level": self.level,
            "message": self.message,
            "timestamp": iso(self.timestamp),
            "attemptNumber": self.attempt,
        }


@dataclasses.dataclass(slots=True)
class WorkerJob:
    """A runnable task run handed to a worker, for one attempt."""

    execution_id: str
    task_run_id: str
    attempt: int  # 1-based number of this attempt


@dataclasses.dataclass(slots=True)
class WorkerResult:
    """What a worker reports after one attempt."""

    execution_id: str
    task_run_id: str
    attempt: int
    state: StateType  # SUCCESS, WARNING, FAILED or KILLED
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    started: dt.datetime = dataclasses.field(default_factory=now)
    ended: dt.datetime = dataclasses.field(default_factory=now)
    worker_id: str | None = None
    message: str | None = None  # why it failed, for people
    log_file: str | None = None  # the `kestra://` URI of the attempt's log lines (`logToFile: true`)

    def to_json(self) -> dict[str, Any]:
        out = {"taskRunId": self.task_run_id, "attempt": self.attempt, "state": self.state.value,
               "outputs": self.outputs, "started": iso(self.started), "ended": iso(self.ended),
               "workerId": self.worker_id, "message": self.message}
        if self.log_file:
            out["logFile"] = self.log_file
        return out

    @classmethod
    def from_json(cls, execution_id: str, p: dict[str, Any]) -> WorkerResult:
        from lanner.model.state import parse_iso

        return cls(execution_id, p["taskRunId"], int(p["attempt"]), StateType(p["state"]), p.get("outputs") or {},
                   parse_iso(p["started"]), parse_iso(p["ended"]), p.get("workerId"), p.get("message"),
                   p.get("logFile"))
