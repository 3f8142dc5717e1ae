"""What the loops do with an item the database refuses at every try, so it blocks nothing behind it.

Log lines and results are written many at a time. One the database refuses for what it carries
(a lone surrogate from undecodable bytes that the driver cannot encode; NUL characters were the
first such case, `bulk_rows.without_nul`) would fail every write it is part of, again and again.
So a write refused for a reason that will not pass (`storage/write_faults.py`) is split: the
lines are written in halves down to the one that fails, which is replaced by a stand-in saying
so, with its text escaped; a result that still fails alone after a few tries becomes a FAILED
result saying why. Writes that failed for a passing reason are not split here: the caller tries
them again as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import StateType
from lanner.storage.write_faults import is_transient

SHOWN = 2000  # characters of a refused line shown, escaped, in its stand-in


def escaped(text: str) -> str:
    """The text with what a database cannot hold made visible: lone surrogates as `\\udcff`, NUL as `\\x00`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def why(exc: BaseException) -> str:
    """One line naming the refusal, without the refused text itself (it would be refused again)."""
    first = (str(exc).splitlines() or [""])[0]
    return escaped(f"{type(exc).__name__}: {first}")[:300]


def stand_in(entry: LogEntry, exc: BaseException) -> LogEntry:
    """The line stored in place of one the database refused: same task run, level and time."""
    text = escaped(entry.message)
    shown = text if len(text) <= SHOWN else text[:SHOWN] + "…"
    return dataclasses.replace(entry, message=f"[this log line could not be stored as written ({why(exc)}); "
                                              f"shown escaped] {shown}")


def store_lines(entries: Sequence[LogEntry], write: Callable[[list[LogEntry]], None]) -> None:
    """Write `entries` in order; a line refused for what it carries is replaced by its stand-in.

    `write` stores a list in one transaction (or savepoint) and raises if it could not. A
    failure that may pass is raised to the caller, which tries again; so is a stand-in refused
    too (then the fault is not in the line).
    """
    if not entries:
        return
    try:
        write(list(entries))
        return
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(entries) == 1:
            write([stand_in(entries[0], exc)])
            return
    middle = len(entries) // 2
    store_lines(entries[:middle], write)
    store_lines(entries[middle:], write)


def failed_instead(result: WorkerResult, exc: BaseException, tries: int) -> tuple[WorkerResult, LogEntry]:
    """The FAILED result (and its log line) stored in place of one that could not be stored
    after `tries` tries: the attempt ends, saying why, instead of being lost or retried forever."""
    message = (f"the result of attempt {result.attempt} ({result.state.value}) could not be stored after {tries} "
               f"tries ({why(exc)}): the attempt is failed instead")
    failed = WorkerResult(result.execution_id, result.task_run_id, result.attempt, StateType.FAILED,
                          started=result.started, ended=result.ended, worker_id=result.worker_id, message=message,
                          log_file=result.log_file)
    return failed, LogEntry(result.execution_id, result.task_run_id, None, "ERROR", message, attempt=result.attempt)
