"""An attempt's log lines kept as a file in internal storage instead of the log store (`logToFile: true`).

The point of the property is to keep big logs out of the database, so the lines of such an attempt
are appended to a part file as they come (never held in memory), which becomes the attempt's file
when it ends. It becomes it before the attempt's result is reported, so a stored result never
names a file that is not there: a process that dies first leaves at worst a part file that nothing
names, and the attempt is run or adopted again like any cut-off attempt, with a file of its own.

No line is lost: one logged after the file was made (a plugin that kept logging after it was
abandoned at its timeout or kill) goes to the log store, and so does every line once the storage
refuses to take more (a full disk), after a WARN line that says so.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from lanner.model.log_file_lines import line_of
from lanner.model.results import LogEntry


def file_name(attempt: int) -> str:
    """The name of attempt `attempt`'s log file, beside the task run's other files."""
    return f"attempt-{attempt}.log"


class LogFile:
    """One attempt's log file, written as its lines come; `close()` makes it the attempt's file."""

    def __init__(self, fallback: Callable[[LogEntry], None], target: Path, uri: str,
                 ids: tuple[str, str, str, int]) -> None:
        self._fallback = fallback  # the log store's sink
        self._target = target
        self._part = target.with_name(target.name + ".part")
        self._uri = uri
        self._ids = ids  # execution, task run, task, attempt: for the WARN lines this writes
        self._out: IO[str] | None = None
        self._refused = False  # the storage refused a write: the lines go to the log store from then on
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def for_attempt(cls, files: Any, fallback: Callable[[LogEntry], None], namespace: str, flow_id: str,
                    execution_id: str, task_id: str, run_id: str, attempt: int) -> LogFile:
        target = files.target(namespace, flow_id, execution_id, task_id, run_id, file_name(attempt))
        return cls(fallback, target, files.uri(target), (execution_id, run_id, task_id, attempt))

    def sink(self, entry: LogEntry) -> None:
        with self._lock:
            if not self._closed and not self._refused:
                try:
                    if self._out is None:
                        self._part.parent.mkdir(parents=True, exist_ok=True)
                        self._out = self._part.open("w", encoding="utf-8")
                    self._out.write(line_of(entry))
                    return
                except OSError as exc:
                    self._refused = True
                    self._warn(f"`logToFile`: the storage refused the attempt's log file ({exc}); this line and "
                               f"the next are in the log store instead")
        self._fallback(entry)

    def close(self) -> str | None:
        """Make the lines written so far the attempt's file and return its `kestra://` URI (None when
        there is no file: the storage refused it from the first line on, or refuses the rename)."""
        with self._lock:
            self._closed = True
            out, self._out = self._out, None
        try:
            if out is None:
                if self._refused:
                    return None
                self._part.parent.mkdir(parents=True, exist_ok=True)
                self._part.write_bytes(b"")  # an attempt that logged nothing has an empty file
            else:
                out.close()
            os.replace(self._part, self._target)
        except OSError as exc:
            self._warn(f"`logToFile`: the attempt's log file could not be kept ({exc}); the lines in "
                       f"{self._part} are all there is of them")
            return None
        return self._uri

    def _warn(self, message: str) -> None:
        execution_id, run_id, task_id, attempt = self._ids
        self._fallback(LogEntry(execution_id, run_id, task_id, "WARN", message, attempt=attempt))
