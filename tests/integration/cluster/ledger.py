"""What tasks did, read from their own side effects: a ledger file the tasks append to.

A crash test that counts attempts in the database only sees what the store believes. The chaos
flows' shell tasks append `<execution> <task> <attempt> <pid> <worker pid> start|end <epoch>`
lines to a file outside the store (appends of short lines are atomic), so the tally below says
what really ran: how often each cleanup finished, whether two attempts of one task run ran at
the same time, whether an attempt that had finished was run again, and whether a task process
outlived the worker that started it.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from pathlib import Path


def shell_task(task_id: str, ledger: Path, seconds: float) -> str:
    """A YAML task (two-space indented list item) that writes start, sleeps, writes end."""
    # The shell's parent is its keeper; the keeper's parent (field 4 of its stat) is the worker.
    line = f"{{{{ execution.id }}}} {task_id} {{{{ taskrun.attemptsCount }}}} $$ $(cut -d' ' -f4 /proc/$PPID/stat)"
    return f"""  - id: {task_id}
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo "{line} start $(date +%s.%N)" >> {ledger}
      - sleep {seconds}
      - echo "{line} end $(date +%s.%N)" >> {ledger}
"""


ORPHANED = 1  # the parent pid a shell sees when its worker died before it started (init adopted it)


@dataclasses.dataclass(slots=True)
class Attempt:
    index: int
    pid: int
    worker: int
    start: float
    end: float | None = None


@dataclasses.dataclass
class LedgerTally:
    finally_runs: dict[str, int] = dataclasses.field(default_factory=lambda: {"0": 0, "1": 0, "2+": 0})
    main_twice: int = 0  # executions whose main task finished 2+ times
    overlapping: int = 0  # attempts that started while an earlier attempt of the same task run ran
    finished_rerun: int = 0  # attempts started after an earlier attempt of the same task run had ended
    # of those: whose process outlived its SIGKILLed worker; whose worker was never killed (a bug);
    # and, for the rest, how long before its worker's SIGKILL the attempt wrote `end` (seconds)
    rerun_after_outliving: int = 0
    rerun_without_crash: int = 0
    without_crash: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (execution, task) of those
    ended_before_crash: list[float] = dataclasses.field(default_factory=list)
    cut_rerun: int = 0  # attempts cut off (no `end`) and then run again
    outlived: int = 0  # attempts whose process wrote `end` after its worker was SIGKILLed
    malformed: int = 0


def read(ledger: Path) -> dict[tuple[str, str], list[Attempt]]:
    """(execution, task) → its attempts in start order."""
    runs: dict[tuple[str, str], dict[tuple[int, int], Attempt]] = collections.defaultdict(dict)
    text = ledger.read_text() if ledger.exists() else ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 7:
            continue
        eid, task, index, pid, worker, what, at = parts
        key = (int(index), int(pid))
        attempt = runs[(eid, task)].setdefault(key, Attempt(int(index), int(pid), int(worker), math.inf))
        if what == "start":
            attempt.start = float(at)
        else:
            attempt.end = float(at)
    return {k: sorted(v.values(), key=lambda a: a.start) for k, v in runs.items()}


def tally(ledger: Path, execution_ids: list[str], main: str, cleanup: str,
          killed_at: dict[int, float]) -> LedgerTally:
    """Count from the ledger; `killed_at` maps a SIGKILLed worker's pid to when it was killed."""
    runs = read(ledger)
    out = LedgerTally()
    for eid in execution_ids:
        ended = sum(1 for a in runs.get((eid, cleanup), []) if a.end is not None)
        out.finally_runs["0" if ended == 0 else "1" if ended == 1 else "2+"] += 1
        if sum(1 for a in runs.get((eid, main), []) if a.end is not None) >= 2:
            out.main_twice += 1
    for (eid, task), attempts in runs.items():
        for i, later in enumerate(attempts):
            for earlier in attempts[:i]:
                gone = earlier.end if earlier.end is not None else killed_at.get(earlier.worker, math.inf)
                if earlier.end is None and earlier.worker == ORPHANED:
                    # Its worker was dead before the shell wrote `start` (the keeper's parent was
                    # init already, so which worker it was is unknown): its keeper ends it at once
                    # and it never wrote `end`, so it ran no longer than that.
                    gone = earlier.start
                if earlier.start <= later.start < gone:
                    out.overlapping += 1
                    break
        for earlier, following in zip(attempts, attempts[1:], strict=False):  # each attempt run again, once
            if earlier.end is None:
                out.cut_rerun += 1
                continue
            if earlier.end > following.start:
                continue  # overlapping, counted above
            out.finished_rerun += 1
            crashed = killed_at.get(earlier.worker)
            if earlier.worker == ORPHANED:  # its worker died before the shell even started
                out.rerun_after_outliving += 1
            elif crashed is None:
                out.rerun_without_crash += 1
                out.without_crash.append((eid, task))
            elif earlier.end > crashed:
                out.rerun_after_outliving += 1
            else:
                out.ended_before_crash.append(round(crashed - earlier.end, 4))
        for a in attempts:
            if a.end is not None and (a.worker == ORPHANED or (a.worker in killed_at and a.end > killed_at[a.worker])):
                out.outlived += 1
            if a.start is math.inf:
                out.malformed += 1
    return out
