"""An attempt's log lines kept as a file in internal storage instead of the log store (`logToFile: true`).

The point of the property is to keep big logs out of the database, so the lines of such an attempt
are held here while it runs and written as one file when it ends. The file is written before the
attempt's result is reported, so a stored result never names a file that is not there: a process
that dies first leaves at worst an orphan file that nothing points at, and the attempt is run or
adopted again like any cut-off attempt. A line logged after the file was written (a plugin that
kept logging after it was abandoned) goes to the log store, never nowhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lanner.model.log_file_lines import line_of
from lanner.model.results import LogEntry


def file_name(attempt: int) -> str:
    """The name of attempt `attempt`'s log file, beside the task run's other files."""
    return f"attempt-{attempt}.log"


class LogFile:
    """Collects one attempt's log lines, then writes them as its file."""

    def __init__(self, fallback: Callable[[LogEntry], None]) -> None:
        self._fallback = fallback  # the log store's sink: lines after the file, or all of them if it fails
        self._lines: list[LogEntry] | None = []
        self._lock = threading.Lock()

    def sink(self, entry: LogEntry) -> None:
        with self._lock:
            if self._lines is not None:
                self._lines.append(entry)
                return
        self._fallback(entry)

    def write(self, files: Any, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str,
              attempt: int) -> str | None:
        """Write the lines kept so far and return the file's `kestra://` URI. When the storage refuses
        (a full disk), the lines go to the log store with a warning instead, and there is no file."""
        with self._lock:
            lines, self._lines = self._lines or [], None
        data = "".join(line_of(e) for e in lines).encode("utf-8")
        try:
            uri: str = files.put(namespace, flow_id, execution_id, task_id, run_id, file_name(attempt), data)
        except OSError as exc:
            for entry in lines:
                self._fallback(entry)
            self._fallback(LogEntry(execution_id, run_id, task_id, "WARN",
                                    f"`logToFile`: the log file could not be written ({exc}); its lines are in "
                                    f"the log store instead", attempt=attempt))
            return None
        return uri
