"""The chaos run shared by the integration test and the benches (bench/cluster.py, bench/chaos_cluster.py).

Real processes (an executor, workers, a scheduler) on one database run N executions of a flow
whose main task and `finally` task are shell commands with side effects outside the store: each
attempt appends `start` and `end` lines to a ledger file (see ledger.py). Meanwhile a loop
SIGKILLs workers and the executor at random moments — some aimed at a worker while it runs a
`finally` task — and restarts them. The tally comes from the ledger, not from the database:
executions lost or stuck, `finally` finished 0 / 1 / 2+ times, attempts overlapping in time,
finished attempts run again, attempts cut off and run again, task processes that outlived their
worker.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.integration.cluster import ledger
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for

FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}
MAIN, CLEANUP = "work", "cleanup"


def flow_yaml(ledger_path: Path, work_seconds: float = 0.3, cleanup_seconds: float = 0.2) -> str:
    return ("id: chaos\nnamespace: lanner.chaos\ntasks:\n" + ledger.shell_task(MAIN, ledger_path, work_seconds)
            + "finally:\n" + ledger.shell_task(CLEANUP, ledger_path, cleanup_seconds))


@dataclasses.dataclass
class Tally:
    executions: int = 0
    terminal: int = 0
    lost: int = 0  # executions not terminal, or missing
    stuck: int = 0  # task runs not terminal
    kills: int = 0  # SIGKILLs sent (crash points)
    kills_in_finally: int = 0  # of which aimed at a worker while it ran a `finally` task
    attempts_cut: int = 0  # attempts running in the killed workers when they were killed (by the ledger)
    handed_back: int = 0  # attempts the database records as failed because their worker stopped
    # what each SIGKILL hit: the executor, a worker running nothing, a main task, a `finally` task
    mix: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"executor": 0, "idle_worker": 0, "worker_in_main": 0, "worker_in_finally": 0})
    side: ledger.LedgerTally = dataclasses.field(default_factory=ledger.LedgerTally)
    seconds: float = 0.0
    seconds_killing: float = 0.0  # of which the SIGKILL loop ran (the rest: start-up, then every execution ending)

    @property
    def finally_runs(self) -> dict[str, int]:
        return {k: v for k, v in self.side.finally_runs.items() if v}

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.stuck == 0 and self.side.overlapping == 0 and self.side.finished_rerun == 0
                and self.finally_runs == {"1": self.executions})

    def figures(self) -> dict[str, int | float]:
        s = self.side
        return {"executions": self.executions, "crash_points": self.kills, "crashes_in_finally": self.kills_in_finally,
                **{f"mix_{target}": n for target, n in self.mix.items()},
                "attempts_cut_by_crashes": self.attempts_cut,
                "lost": self.lost, "stuck": self.stuck, "two_owners_at_once": s.overlapping,
                "finally_0": s.finally_runs["0"], "finally_1": s.finally_runs["1"],
                "finally_2plus": s.finally_runs["2+"],
                "main_finished_twice": s.main_twice, "finished_attempts_rerun": s.finished_rerun,
                "of_which_process_outlived_worker": s.rerun_after_outliving,
                "of_which_crash_before_result_stored": len(s.ended_before_crash),
                "of_which_without_crash": s.rerun_without_crash,
                "cut_off_attempts_rerun": s.cut_rerun, "processes_outlived_worker": s.outlived,
                "seconds": round(self.seconds, 1), "seconds_killing": round(self.seconds_killing, 1)}

    def line(self) -> str:
        s = self.side
        per = ", ".join(f"{k}×: {v}" for k, v in self.finally_runs.items())
        return (f"{self.executions} executions, {self.kills} SIGKILLs ({self.kills_in_finally} during a finally task, "
                f"{self.attempts_cut} running attempts cut; "
                f"{self.handed_back} attempts handed back): lost {self.lost}, stuck task runs {self.stuck}, "
                f"finally finished per execution {{{per}}}, main task finished twice {s.main_twice}, "
                f"overlapping attempts {s.overlapping}, finished attempts re-run {s.finished_rerun}, "
                f"cut-off attempts re-run {s.cut_rerun}, task processes outliving their worker {s.outlived}, "
                f"{self.seconds:.1f}s")


def run_chaos(url: str, tmp: Path, executions: int = 200, chaos_seconds: float = 15.0, workers: int = 3,
              seed: int = 7, timeout: float = 90.0, kill_every: tuple[float, float] = (0.4, 1.2),
              aim_at_finally: float = 0.3, threads: int = 8, restart_after: tuple[float, float] = (0.0, 0.3),
              min_kills: int = 0, patience: float = 0.0) -> Tally:
    """Run the chaos round; `kill_every` is the random pause between SIGKILLs and `restart_after`
    the pause before the killed process is started again, while the killing goes on (seconds). The
    killing goes on past `chaos_seconds` until `min_kills` SIGKILLs were sent (at most three times
    as long in all). `patience`: how long an aimed kill may wait for its target to be running (0:
    it takes what runs at its moment)."""
    from lanner.loading.flows import load_flow
    from lanner.runtime.cluster_client import ClusterClient
    from lanner.runtime.queues.database import QueueDatabase
    from tests.forkserver import ForkServer

    rnd = random.Random(seed)
    env = role_env(url, tmp / "home", **FAST)
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    book = tmp / "ledger.txt"
    forks = ForkServer(env)
    db = QueueDatabase(url)
    client = ClusterClient(db)
    executor = RoleProcess("executor", env, logs, forks=forks).start()
    pool = [RoleProcess("worker", env, logs, "--threads", str(threads), forks=forks).start() for _ in range(workers)]
    scheduler = RoleProcess("scheduler", env, logs, forks=forks).start()
    procs = [executor, *pool, scheduler]
    tally = Tally(executions=executions)
    killed_at: dict[int, float] = {}
    ids: list[str] = []
    started = time.monotonic()
    try:
        wait_for(lambda: _count(db, "SELECT count(*) FROM workers") >= workers, 30, "the workers to register")
        flow = load_flow(flow_yaml(book))
        stop = threading.Event()
        chaos = threading.Thread(target=_chaos, args=(rnd, executor, pool, stop, tally, killed_at, book, kill_every,
                                                      aim_at_finally, restart_after, patience), daemon=True)
        killing_from = time.monotonic()
        chaos.start()
        for _ in range(executions):
            ids.append(client.start(flow).id)
            if stop.wait(chaos_seconds * 0.7 / executions):
                break
        stop.wait(max(chaos_seconds - (time.monotonic() - started), 0))
        while tally.kills < min_kills and time.monotonic() - started < 3 * chaos_seconds:
            stop.wait(0.05)
        stop.set()
        chaos.join()
        tally.seconds_killing = time.monotonic() - killing_from
        for p in procs:
            if not p.running:
                p.start()
        wait_for(lambda: _open(db, ids) == 0, timeout, "every execution to end")
    finally:
        tally.seconds = time.monotonic() - started
        try:
            _tally(db, ids, tally)
            tally.side = ledger.tally(book, ids, MAIN, CLEANUP, killed_at)
        finally:
            stopping = [threading.Thread(target=p.stop) for p in procs]  # side by side: each waits for its own exit
            for t in stopping:
                t.start()
            for t in stopping:
                t.join()
            forks.close()
            db.close()
    return tally


def _chaos(rnd: random.Random, executor: RoleProcess, pool: list[RoleProcess], stop: threading.Event, tally: Tally,
           killed_at: dict[int, float], book: Path, kill_every: tuple[float, float], aim: float,
           restart_after: tuple[float, float], patience: float) -> None:
    """SIGKILL a role at random moments: a worker running a `finally` attempt (`aim` of the time),
    else mostly a worker running any attempt, else any role (the executor too). An aimed kill
    waits up to `patience` seconds for its target to be running, so the kills land in tasks as
    aimed even while crashes keep the workers from picking up work; then it takes any role.
    A killed role is waited for and started again `restart_after` later on a thread of its own, so
    the pace of the kills is `kill_every` and does not slow with the time a death or a restart takes."""
    restarting: set[RoleProcess] = set()
    lock = threading.Lock()
    restarts: list[threading.Thread] = []

    def restart(victim: RoleProcess, delay: float) -> None:
        victim.kill()  # SIGKILLed already: this waits until it is gone
        time.sleep(delay)  # the chosen pause before the role comes back, as an operator's supervisor would
        victim.start()
        with lock:
            restarting.discard(victim)

    def running_now() -> dict[RoleProcess, list[str]]:
        with lock:
            return {w: tasks for w, tasks in _running_attempts(pool, book).items() if w not in restarting}

    while not stop.wait(rnd.uniform(*kill_every)):
        pick = rnd.random()
        wanted = CLEANUP if pick < aim else MAIN if pick < 0.85 else None
        running = running_now()
        waited = time.monotonic()
        while wanted is not None and not _candidates(running, wanted) and time.monotonic() - waited < patience \
                and not stop.wait(0.02):
            running = running_now()  # the crash point waits for its target to be running
        in_finally = _candidates(running, CLEANUP)
        aimed = wanted == CLEANUP and bool(in_finally)
        if aimed:
            victim = rnd.choice(in_finally)
        elif wanted is not None and running:
            victim = rnd.choice(list(running))
        else:
            victim = rnd.choice([executor, *pool])
        with lock:
            if victim in restarting:
                continue
        if not victim.running:
            victim.start()
            continue
        pid = victim.pid
        if pid is None:
            continue
        tasks = running.get(victim, [])
        tally.attempts_cut += len(tasks)
        tally.kills_in_finally += aimed
        target = ("executor" if victim is executor else "worker_in_finally" if CLEANUP in tasks
                  else "worker_in_main" if tasks else "idle_worker")
        tally.mix[target] += 1
        os.kill(pid, signal.SIGKILL)
        killed_at[pid] = time.time()
        tally.kills += 1
        with lock:
            restarting.add(victim)
        restarts.append(threading.Thread(target=restart, args=(victim, rnd.uniform(*restart_after))))
        restarts[-1].start()
    for t in restarts:
        t.join()


def _candidates(running: dict[RoleProcess, list[str]], task: str) -> list[RoleProcess]:
    """Workers running `task` (any task for the main one: a worker running either counts)."""
    return [w for w, tasks in running.items() if task in tasks or task == MAIN]


def _running_attempts(pool: list[RoleProcess], book: Path) -> dict[RoleProcess, list[str]]:
    """Workers running attempts right now (from the ledger's tail): worker → the tasks it runs."""
    try:
        with book.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(f.tell() - 16384, 0))
            tail = f.read().decode(errors="replace").splitlines()[1:]
    except OSError:
        return {}
    open_attempts: dict[tuple[str, str, str], int] = {}
    for line in tail:
        parts = line.split()
        if len(parts) == 7:
            key = (parts[0], parts[1], parts[2])
            if parts[5] == "start":
                open_attempts[key] = int(parts[4])
            else:
                open_attempts.pop(key, None)
    by_pid = {p.pid: p for p in pool if p.running}
    out: dict[RoleProcess, list[str]] = {}
    for (_, task, _), worker in open_attempts.items():
        if worker in by_pid:
            out.setdefault(by_pid[worker], []).append(task)
    return out


def _count(db: Any, sql: str, **params: Any) -> int:
    with db.reader.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar() or 0)


def _open(db: Any, ids: list[str]) -> int:
    from lanner.model.state import TERMINATED_NAMES as TERMINAL
    from lanner.storage import tables

    with db.reader.connect() as conn:
        t, tr = tables.executions, tables.task_runs
        exes = conn.execute(sa.select(sa.func.count()).select_from(t)
                            .where(t.c.id.in_(ids), t.c.state.not_in(TERMINAL))).scalar()
        runs = conn.execute(sa.select(sa.func.count()).select_from(tr).where(tr.c.execution_id.in_(ids),
                                                                             tr.c.state.not_in(TERMINAL))).scalar()
    return int(exes or 0) + int(runs or 0)


def _tally(db: Any, ids: list[str], tally: Tally) -> None:
    from lanner.runtime.cluster_client import ClusterClient

    client = ClusterClient(db)
    for eid in ids:
        exe = client.get(eid)
        if exe is None or not exe.state.current.terminated:
            tally.lost += 1
            continue
        tally.terminal += 1
        tally.stuck += sum(1 for r in exe.task_runs if not r.current.terminated)
        tally.handed_back += sum(1 for r in exe.task_runs for a in r.attempts[:-1] if a.state.current.value == "FAILED")
    tally.lost += tally.executions - len(ids)
