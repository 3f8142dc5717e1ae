"""How an attempt's command ended, noted by its keeper, so that recovery uses it instead of running it again.

Each host command writes its stdout/stderr to files beside its attempt's records
(`<home>/run/attempts/<task run id>/`), and its keeper (`lanner.worker.keeper`) writes
`<attempt>.exit` when the command exits on its own: the attempt number, its working directory and
the exit code. The files stay until the attempt's result is stored; then the worker removes them.
So when Lanner dies between the command's exit and the storing of its result, the attempt that
recovery starts next (N+1, "cut off") finds the note of attempt N and *adopts* it: the recorded
output is fed to the task as if the command were running, the recorded exit code is returned,
and the command is not run again. A container needs no keeper: Docker keeps its exit code and
output until it is removed, and `leftovers.finished_container` turns one that exited into the
same kind of note.

A note is only trusted for attempts that were cut off (their result was never stored): a retry
after a stored failure must run the command again, even if a crash left that failure's note
behind. `cut_off_predecessors` tells which attempts those are, from the task run alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path

from lanner.model.execution import TaskRun
from lanner.model.state import StateType
from lanner.worker.keeper import Paths


@dataclasses.dataclass(slots=True, frozen=True)
class Note:
    """An earlier attempt's command that exited on its own: where it ran, how it ended, what it wrote."""

    attempt: int
    workdir: Path
    exit_code: int
    stdout: Path
    stderr: Path
    container_id: str | None = None  # the command ran in this container (see `leftovers.finished_container`)


def paths(folder: Path, attempt: int) -> Paths:
    return Paths(folder / f"{attempt}-stdout.log", folder / f"{attempt}-stderr.log", folder / f"{attempt}.exit")


def note_head(attempt: int, workdir: Path) -> bytes:
    """The note's JSON up to its exit code, which the keeper appends (with the closing brace)."""
    return json.dumps({"attempt": attempt, "workdir": str(workdir)})[:-1].encode() + b', "exit_code": '


def find(folder: Path, attempts: Iterable[int]) -> Note | None:
    """The note of the latest of `attempts` that has a readable one."""
    for attempt in sorted(attempts, reverse=True):
        where = paths(folder, attempt)
        try:
            data = json.loads(where.note.read_text())
            return Note(int(data["attempt"]), Path(data["workdir"]), int(data["exit_code"]), where.stdout,
                        where.stderr)
        except (OSError, ValueError, KeyError, TypeError):  # none, or not one of ours: nothing to adopt
            continue
    return None


def discard(folder: Path, attempt: int) -> None:
    """Remove an attempt's output files and note (and the task run's folder once empty)."""
    where = paths(folder, attempt)
    for name in (where.stdout, where.stderr, where.note, f"{where.note}.tmp"):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(folder)
    except OSError:  # records or other attempts' files are still in it, or it is gone
        pass


def cut_off_predecessors(run: TaskRun) -> tuple[int, ...]:
    """The attempts before the last one that were cut off, with no result stored (1-based numbers).

    A cut-off attempt is replaced without the task run leaving RUNNING (the executor's recovery and
    `on_worker_lost` append a new attempt to the running task run), whereas a retry takes the run
    through RETRYING and CREATED to a new RUNNING entry. So the attempts that started in the run's
    current RUNNING stretch, all but the newest, are exactly the ones cut off since it began.
    """
    if run.state.current is not StateType.RUNNING or len(run.attempts) < 2 or not run.state.histories:
        return ()
    began = run.state.histories[-1].date
    return tuple(n for n, attempt in enumerate(run.attempts[:-1], start=1)
                 if attempt.state.histories and attempt.state.histories[0].date >= began)
