"""The text of an attempt's log file (`logToFile: true`): one line per log line, written by the worker
(`worker/log_files.py`) and read back by whoever shows a task's logs (`lanner logs`)."""

from __future__ import annotations

import dataclasses

from lanner.model.results import LEVEL_RANK, LogEntry
from lanner.model.state import iso


@dataclasses.dataclass(slots=True)
class FileLine:
    timestamp: str
    level: str
    message: str


def line_of(entry: LogEntry) -> str:
    """When, level, message: what Kestra's file shows of each line, in the order `lanner logs` prints."""
    return f"{iso(entry.timestamp)} {entry.level} {entry.message}\n"


def read_lines(text: str) -> list[FileLine]:
    """The log lines of a file's text. A message with line breaks spans several lines of the file: a
    line that does not start with a time and a level continues the message before it."""
    out: list[FileLine] = []
    for raw in text.splitlines():
        parts = raw.split(" ", 2)
        if len(parts) >= 2 and parts[1] in LEVEL_RANK and parts[0][:1].isdigit():
            out.append(FileLine(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
        elif out:
            out[-1].message += "\n" + raw
        else:
            out.append(FileLine("", "INFO", raw))
    return out
