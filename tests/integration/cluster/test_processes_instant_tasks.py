"""Instant tasks run by a real executor process that is SIGKILLed at random, on PostgreSQL.

The executor runs Log and Return inside the transaction that dispatched them
(`runtime/instant.py`): a SIGKILL rolls the whole pass back, so each task run, its result and
its log line are stored once or not at all. Judged from the store: every execution ends
SUCCESS with one task run and one attempt per task, and each Log's line is there once.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from lanner.model.state import StateType
from lanner.storage import tables
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for

FLOW = """
id: instant_chaos
namespace: c
tasks:
  - {id: first, type: io.kestra.plugin.core.log.Log, message: "first {{ execution.id }}"}
  - {id: second, type: io.kestra.plugin.core.log.Log, message: "second {{ execution.id }}"}
  - {id: answer, type: io.kestra.plugin.core.debug.Return, format: "{{ taskrun.id }}"}
finally:
  - {id: last, type: io.kestra.plugin.core.log.Log, message: "last {{ execution.id }}"}
"""
EXECUTIONS = 150


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_instant_tasks_of_a_sigkilled_executor_are_stored_once(postgres_url: str, tmp_path: Path) -> None:
    from lanner.loading.flows import load_flow
    from lanner.runtime.cluster_client import ClusterClient
    from lanner.runtime.queues.database import QueueDatabase
    from tests.forkserver import ForkServer

    env = role_env(postgres_url, tmp_path / "home", LANNER_POLL="0.2")
    logs = tmp_path / "logs"
    logs.mkdir()
    forks = ForkServer(env)
    db = QueueDatabase(postgres_url)
    executor = RoleProcess("executor", env, logs, forks=forks).start()
    rnd = random.Random(15)
    kills = 0
    stop = threading.Event()

    def chaos() -> None:
        nonlocal kills
        while not stop.wait(rnd.uniform(0.05, 0.4)):
            executor.kill()
            kills += 1
            stop.wait(rnd.uniform(0.0, 0.2))
            executor.start()

    try:
        client = ClusterClient(db)
        flow = load_flow(FLOW)
        killer = threading.Thread(target=chaos, daemon=True)
        killer.start()
        ids = [client.start(flow).id for _ in range(EXECUTIONS)]
        while kills < 5:
            stop.wait(0.05)
        stop.set()
        killer.join()
        if not executor.running:
            executor.start()
        wait_for(lambda: all(e is not None and e.state.current.terminated for e in map(client.get, ids)), 120,
                 "every execution to end")
        for eid in ids:
            exe = client.get(eid)
            assert exe is not None and exe.state.current is StateType.SUCCESS, eid
            assert [r.task_id for r in exe.task_runs] == ["first", "second", "answer", "last"], eid
            assert all(len(r.attempts) == 1 and r.current is StateType.SUCCESS for r in exe.task_runs), eid
            assert exe.task_runs[2].outputs == {"value": exe.task_runs[2].id}, eid
        t = tables.logs
        q = (sa.select(t.c.execution_id, t.c.task_id, t.c.message)
             .where(t.c.execution_id.in_(ids), t.c.task_id.is_not(None)).order_by(t.c.seq))
        with db.reader.connect() as conn:
            lines = [(r.execution_id, r.task_id, r.message) for r in conn.execute(q)]
        expected = {(eid, task, f"{task} {eid}") for eid in ids for task in ("first", "second", "last")}
        assert len(lines) == len(expected) and set(lines) == expected  # each line once, none missing
        assert kills >= 5
    finally:
        stop.set()
        executor.stop()
        forks.close()
        db.close()
