"""The chaos run shared by the integration test and bench/cluster.py.

Real processes (executors, workers, a scheduler) on one database run N executions of a flow
with a Sleep and a `finally`, while a loop SIGKILLs and restarts workers and executors at
random. The tally then says what the contract promises: every execution ended, each `finally`
task succeeded exactly once per execution, and no task run was left unfinished.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.integration.cluster.processes import RoleProcess, role_env, wait_for

FLOW = """
id: chaos
namespace: lanner.chaos
tasks:
  - id: work
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.3S
finally:
  - id: cleanup
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.1S
"""
FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}


@dataclasses.dataclass
class Tally:
    executions: int = 0
    terminal: int = 0
    lost: int = 0  # executions not terminal, or missing
    finally_runs: dict[int, int] = dataclasses.field(default_factory=dict)  # successful cleanup attempts → count
    stuck: int = 0  # task runs not terminal
    kills: int = 0
    handed_back: int = 0  # attempts failed because their worker died
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.stuck == 0 and set(self.finally_runs) == {1}

    def line(self) -> str:
        per = ", ".join(f"{k}×: {v}" for k, v in sorted(self.finally_runs.items()))
        return (f"{self.executions} executions, {self.kills} SIGKILLs ({self.handed_back} attempts handed back): "
                f"lost {self.lost}, finally runs per execution {{{per}}}, stuck task runs {self.stuck}, "
                f"{self.seconds:.1f}s")


def run_chaos(url: str, tmp: Path, executions: int = 200, chaos_seconds: float = 15.0, workers: int = 3,
              seed: int = 7, timeout: float = 90.0) -> Tally:
    from lanner.model.loader import load_flow
    from lanner.runtime.cluster_client import ClusterClient
    from lanner.runtime.queues.database import QueueDatabase

    rnd = random.Random(seed)
    env = role_env(url, tmp / "home", **FAST)
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db = QueueDatabase(url)
    client = ClusterClient(db)
    executor = RoleProcess("executor", env, logs).start()
    pool = [RoleProcess("worker", env, logs, "--threads", "8").start() for _ in range(workers)]
    scheduler = RoleProcess("scheduler", env, logs).start()
    procs = [executor, *pool, scheduler]
    tally = Tally(executions=executions)
    started = time.monotonic()
    try:
        wait_for(lambda: _count(db, "SELECT count(*) FROM workers") >= workers, 30, "the workers to register")
        flow = load_flow(FLOW)
        ids: list[str] = []
        stop = threading.Event()
        chaos = threading.Thread(target=_chaos, args=(rnd, [executor, *pool], stop, tally), daemon=True)
        chaos.start()
        for i in range(executions):
            ids.append(client.start(flow).id)
            time.sleep(chaos_seconds * 0.6 / executions)
        stop.wait(max(chaos_seconds - (time.monotonic() - started), 0))
        stop.set()
        chaos.join()
        for p in procs:
            if not p.running:
                p.start()
        wait_for(lambda: _open(db, ids) == 0, timeout, "every execution to end")
    finally:
        tally.seconds = time.monotonic() - started
        _tally(db, ids if "ids" in locals() else [], tally)
        for p in procs:
            p.stop()
        db.close()
    return tally


def _chaos(rnd: random.Random, victims: list[RoleProcess], stop: threading.Event, tally: Tally) -> None:
    while not stop.wait(rnd.uniform(0.4, 1.2)):
        victim = rnd.choice(victims)
        victim.kill()
        tally.kills += 1
        if stop.wait(rnd.uniform(0.0, 0.6)):
            break
        victim.start()


def _count(db: Any, sql: str, **params: Any) -> int:
    with db.reader.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar() or 0)


def _open(db: Any, ids: list[str]) -> int:
    from lanner.storage import tables
    from lanner.storage.execution_rows import TERMINAL

    with db.reader.connect() as conn:
        t, tr = tables.executions, tables.task_runs
        exes = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.id.in_(ids), t.c.state.not_in(TERMINAL))).scalar()
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
        cleanup = [r for r in exe.task_runs if r.task_id == "cleanup"]
        ok = sum(1 for r in cleanup for a in r.attempts if a.state.current.value == "SUCCESS")
        tally.finally_runs[ok] = tally.finally_runs.get(ok, 0) + 1
        tally.handed_back += sum(1 for r in exe.task_runs for a in r.attempts[:-1] if a.state.current.value == "FAILED")
    tally.lost += tally.executions - len(ids)
