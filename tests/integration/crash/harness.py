"""Crash the embedded runtime for real and count what happened outside the store.

Each flow's tasks are shell commands that append a line to a side-effect file when they start
and when they end: `<execution> <task> <attempt> <pid> start|end <time>`. A `lanner run` is
SIGKILLed (or SIGTERMed, SIGSTOPped) at a chosen moment, then continued the documented way
(`lanner execution continue ID`) until the execution ends. The tally is read from the
side-effect file, never from the database: it counts what a user would see happen.

Shared by tests/integration/crash/ and bench/chaos.py.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from lanner.model.state import TERMINATED_NAMES
from tests.forkserver import ForkedProcess, ForkServer, alive

Process = subprocess.Popen[str] | ForkedProcess  # a `lanner` command the harness started

SHELL = "io.kestra.plugin.scripts.shell.Commands"


def effect(task: str, log: Path, seconds: float) -> str:
    """A shell task that writes `start`, works for `seconds`, then writes `end`."""
    line = f'{{{{ execution.id }}}} {task} {{{{ taskrun.attemptsCount }}}} $$'
    return f"""
  - id: {task}
    type: {SHELL}
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo "{line} start $(date +%s.%N)" >> {log}
      - sleep {seconds}
      - echo "{line} end $(date +%s.%N)" >> {log}
"""


def flow(log: Path, work: float = 0.3, cleanup: float = 0.3, flow_id: str = "crash") -> str:
    return (f"id: {flow_id}\nnamespace: lanner.crash\ntasks:{effect('work', log, work)}"
            f"finally:{effect('cleanup', log, cleanup)}")


@dataclasses.dataclass
class Line:
    execution: str
    task: str
    attempt: int
    pid: int
    what: str
    at: float


def read_lines(log: Path) -> list[Line]:
    if not log.exists():
        return []
    out = []
    for raw in log.read_text().splitlines():
        parts = raw.split()
        if len(parts) == 6:
            out.append(Line(parts[0], parts[1], int(parts[2]) + 1, int(parts[3]), parts[4], float(parts[5])))
    return out


@dataclasses.dataclass
class Tally:
    executions: int = 0
    crash_points: int = 0
    lost: int = 0                # no terminal state at the end
    stuck: int = 0               # could not be continued to an end
    two_owners: int = 0          # two processes drove it at once (attempts of one task overlapping)
    finally_0: int = 0
    finally_1: int = 0
    finally_2: int = 0           # cleanup side effect completed twice or more
    main_twice: int = 0          # the main task's side effect completed twice or more
    overlapping: int = 0         # an attempt started while an earlier one of the same task still ran
    finished_rerun: int = 0      # an attempt started after an earlier attempt had written `end`
    cut_off_rerun: int = 0       # a new attempt after one cut off mid-run (allowed: once, never overlapping)
    states: dict[str, int] = dataclasses.field(default_factory=dict)
    # where the crash points fell: "<run|continue> <task running then, or `between` tasks>" → count
    mix: dict[str, int] = dataclasses.field(default_factory=dict)

    def add_state(self, state: str) -> None:
        self.states[state] = self.states.get(state, 0) + 1

    def add(self, other: Tally) -> None:
        """Fold another tally (one lane's) into this one."""
        for field in dataclasses.fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if isinstance(mine, dict):
                for key, n in theirs.items():
                    mine[key] = mine.get(key, 0) + n
            else:
                setattr(self, field.name, mine + theirs)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def judge(lines: list[Line], tally: Tally, execution: str, cleanup_task: str = "cleanup",
          main_task: str = "work") -> None:
    """Fold one execution's side effects into the tally."""
    by_task: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        if line.execution == execution:
            by_task[line.task].append(line)
    ends = {task: sum(1 for x in ls if x.what == "end") for task, ls in by_task.items()}
    cleanups = ends.get(cleanup_task, 0)
    if cleanups == 0:
        tally.finally_0 += 1
    elif cleanups == 1:
        tally.finally_1 += 1
    else:
        tally.finally_2 += 1
    if ends.get(main_task, 0) > 1:
        tally.main_twice += 1
    for ls in by_task.values():
        attempts: dict[int, dict[str, Line]] = defaultdict(dict)
        for x in ls:
            attempts[x.attempt][x.what] = x
        ordered = sorted(attempts.items())
        for i, (_, marks) in enumerate(ordered):
            if i == 0 or "start" not in marks:
                continue
            start = marks["start"].at
            earlier = [m for _, m in ordered[:i]]
            if any("end" in m and m["end"].at <= start for m in earlier):
                tally.finished_rerun += 1
            elif any("start" in m and "end" not in m and _alive_at(m["start"].pid) for m in earlier) or \
                    any("end" in m and m["end"].at > start for m in earlier):
                tally.overlapping += 1
                tally.two_owners += 1
            else:
                tally.cut_off_rerun += 1


def _alive_at(pid: int) -> bool:
    """A process of an earlier attempt still running now: it outlived its owner. A zombie does not
    count: it has ended and will write nothing more, it only waits for init to reap it (which here
    can take a second, and `settle` would wait for it)."""
    return alive(pid)


class Home:
    """One LANNER_HOME with the `lanner` CLI run against it as real processes: each a fresh
    `python -m lanner`, or, given a `ForkServer`, forked from a pre-imported parent (the same CLI
    entry point in its own process, without a second of start-up each: see tests/forkserver.py)."""

    def __init__(self, root: Path, database_url: str | None = None, forks: ForkServer | None = None) -> None:
        self.root = root
        self.forks = forks
        root.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "LANNER_HOME": str(root),
                    "LANNER_STOP_GRACE": os.environ.get("LANNER_STOP_GRACE", "30")}
        self.env.pop("LANNER_DATABASE_URL", None)
        self.database_url = database_url
        if database_url:
            self.env["LANNER_DATABASE_URL"] = database_url  # the same store, on PostgreSQL

    def popen(self, *args: str) -> Process:
        """`lanner ARGS` in its own session (as a terminal's job would be), stdout and stderr piped."""
        if self.forks is not None:
            return self.forks.popen(args, self.env, new_session=True)
        return subprocess.Popen([sys.executable, "-m", "lanner", *args], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if self.forks is not None:
            return self.forks.run(args, self.env, timeout=timeout)
        return subprocess.run([sys.executable, "-m", "lanner", *args], env=self.env, text=True,
                              capture_output=True, timeout=timeout)

    def _query(self, sql: str, *args: Any) -> list[Any]:
        """Read the store directly (only to steer the harness: the tally never comes from it)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as pg:
                try:
                    return pg.execute(sql.replace("?", "%s"), args).fetchall()
                except psycopg.errors.UndefinedTable:
                    return []
        import sqlite3

        db = self.root / "lanner.db"
        if not db.exists():
            return []
        conn = sqlite3.connect(db, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # no schema yet
        finally:
            conn.close()

    def execution_ids(self) -> set[str]:
        return {r[0] for r in self._query("SELECT id FROM executions")}

    def state(self, execution_id: str) -> str:
        rows = self._query("SELECT state FROM executions WHERE id = ?", execution_id)
        return rows[0][0] if rows else "MISSING"


def wait_for(predicate: Any, timeout: float, what: str, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_line(log: Path, task: str, what: str, timeout: float = 30, count: int = 1) -> None:
    wait_for(lambda: sum(1 for x in read_lines(log) if x.task == task and x.what == what) >= count,
             timeout, f"`{task} {what}` in {log}")


def settle(log: Path, execution_id: str, timeout: float) -> None:
    """Wait until no task process of this execution still runs (an orphan would write later)."""
    def quiet() -> bool:
        return not any(x.execution == execution_id and _alive_at(x.pid) for x in read_lines(log))

    try:
        wait_for(quiet, timeout, "task processes to be gone", step=0.05)
    except AssertionError:
        pass  # judged as it is: a process that still runs shows as overlapping


TERMINAL = set(TERMINATED_NAMES)


class Aim:
    """Where crash points fall.

    `anywhere`: uniformly over the life of the execution — between tasks, in a task, in the few
    milliseconds between a task's last side effect and its result being stored (the window
    docs/semantics.md describes; bench/chaos.py counts its hits). `mid_task`: inside a task's
    work, after its `start` and well before its `end` — points whose outcome is fully promised
    (the attempt is cut off and runs again once), so tests can demand exact counts.
    """

    def __init__(self, rng: random.Random, log: Path, mode: str, work: float, cleanup: float) -> None:
        self.rng, self.log, self.mode = rng, log, mode
        self.seconds = {"work": work, "cleanup": cleanup}

    def wait(self, proc: Process, execution_id: str | None) -> None:
        """Sleep until this crash point (or until the process ends by itself)."""
        if self.mode == "anywhere" or execution_id is None:
            # Behaviour under test: a crash at a random instant of the execution's life.
            time.sleep(self.rng.uniform(0, 0.2 + sum(self.seconds.values())))
            return
        task = self.rng.choice(sorted(self.seconds))
        seen = sum(1 for x in read_lines(self.log)
                   if x.execution == execution_id and x.task == task and x.what == "start")
        try:
            wait_for(lambda: proc.poll() is not None or sum(
                1 for x in read_lines(self.log) if x.execution == execution_id and x.task == task
                and x.what == "start") > seen, 30, f"`{task}` to start")
        except AssertionError:
            return
        # Behaviour under test: a crash at a random instant inside the task's work.
        time.sleep(self.rng.uniform(0, 0.6 * self.seconds[task]))


def running_task(log: Path, execution_id: str) -> str:
    """The task of this execution whose command has written `start`, not yet `end`, and still runs
    (an attempt cut off by an earlier crash never writes `end`), or `between`."""
    open_attempts: dict[tuple[str, int], Line | None] = {}
    for x in read_lines(log):
        if x.execution == execution_id:
            open_attempts[(x.task, x.attempt)] = x if x.what == "start" else None
    running = sorted({task for (task, _), x in open_attempts.items() if x is not None and _alive_at(x.pid)})
    return "+".join(running) or "between"


def crash(proc: Process, log: Path, execution_id: str, tally: Tally, command: str) -> None:
    """SIGKILL `proc` now, and note in the tally where in the execution the crash point fell."""
    where = f"{command} {running_task(log, execution_id)}"
    os.kill(proc.pid, signal.SIGKILL)
    tally.crash_points += 1
    tally.mix[where] = tally.mix.get(where, 0) + 1


def continue_to_end(home: Home, execution_id: str, aim: Aim | None = None, crashes: int = 0,
                    tally: Tally | None = None) -> str:
    """`lanner execution continue` until the execution ends; with `crashes`, SIGKILL some continuations too."""
    for _ in range(20):
        state = home.state(execution_id)
        if state in TERMINAL:
            return state
        proc = home.popen("execution", "continue", execution_id)
        if crashes > 0 and aim is not None:
            crashes -= 1
            aim.wait(proc, execution_id)
            if proc.poll() is None:
                crash(proc, aim.log, execution_id, tally if tally is not None else Tally(), "continue")
            proc.wait()
        else:
            proc.communicate(timeout=120)
    return home.state(execution_id)


def crash_once(home: Home, log: Path, rng: random.Random, tally: Tally, work: float = 0.3,
               cleanup: float = 0.3, extra_crashes: int = 1, mode: str = "anywhere") -> str:
    """One execution: start `lanner run`, SIGKILL it at a crash point, continue it (maybe crashing
    again) to its end; fold its side effects into the tally. Returns the execution id."""
    flow_file = home.root / "crash.yaml"
    if not flow_file.exists():
        flow_file.write_text(flow(log, work, cleanup))
    aim = Aim(rng, log, mode, work, cleanup)
    before = home.execution_ids()
    proc = home.popen("run", str(flow_file), "-q")
    # Crash points are drawn over the life of the execution, not over the interpreter's start-up.
    wait_for(lambda: (home.execution_ids() - before) or proc.poll() is not None, 60, "the execution")
    created = home.execution_ids() - before
    aim.wait(proc, next(iter(created)) if created else None)
    if proc.poll() is None:
        crash(proc, log, next(iter(created), ""), tally, "run")
    proc.communicate()
    new = home.execution_ids() - before
    if not new:
        if any(x.execution not in before for x in read_lines(log)):
            tally.lost += 1  # a task ran for an execution the store does not know
        return ""  # it ended before creating an execution (nothing ran, nothing to continue)
    execution_id = new.pop()
    tally.executions += 1
    state = continue_to_end(home, execution_id, aim, rng.randint(0, extra_crashes), tally)
    if state not in TERMINAL:
        tally.stuck += 1
    tally.add_state(state)
    settle(log, execution_id, timeout=work + cleanup + 5)
    judge(read_lines(log), tally, execution_id)
    return execution_id
