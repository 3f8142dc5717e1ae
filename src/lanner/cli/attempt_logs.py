"""`lanner logs` for attempts whose lines are in a file (`logToFile: true`) rather than the log store:
printed from the file, under a line that says where the file is, so no line is lost to the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.errors import LannerError
from lanner.model.log_file_lines import read_lines
from lanner.model.results import LEVEL_RANK


def print_log_files(exe: Any, files: Any, level: str, task: str | None, write: Callable[[str], Any]) -> None:
    """Each log file of `exe`'s attempts (of task `task`, when given), its lines at `level` or above."""
    floor = LEVEL_RANK[level.upper()]
    for run in exe.task_runs:
        if task and run.task_id != task:
            continue
        for number, attempt in enumerate(run.attempts, start=1):
            if not attempt.log_file:
                continue
            try:
                path = files.path(attempt.log_file)
                text = path.read_text("utf-8", "replace")
            except (LannerError, OSError):
                write(f"-- {run.task_id} attempt {number}: its logs were kept in {attempt.log_file}, which is gone "
                      f"(purged?)\n")
                continue
            write(f"-- {run.task_id} attempt {number}: logs kept in a file (logToFile), {attempt.log_file} ({path})\n")
            for line in read_lines(text):
                if LEVEL_RANK.get(line.level, 0) >= floor:
                    write(f"{line.timestamp} {line.level:<5} {run.task_id} {line.message}\n")
