"""The queue tables' promises, on SQLite and PostgreSQL alike.

Claims are disjoint under concurrency, worker groups route, timers wait for their due time, an
execution is held by one executor at a time, a silent worker's jobs come back as new attempts,
cancellation reaches claimed and unclaimed jobs, and only one scheduler holds the lease.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from lanner.model.execution import Execution, new_id
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import Kind
from lanner.runtime.queues.database import QueueDatabase
from lanner.storage import execution_rows, tables


@pytest.fixture
def db(database_url: str) -> QueueDatabase:
    d = QueueDatabase(database_url)
    yield d
    d.close()


def _execution(db: QueueDatabase) -> str:
    exe = Execution(id=new_id(), namespace="q", flow_id="f", flow_revision=1)
    with db.transaction() as tx:
        execution_rows.insert(tx.conn, exe)
    return exe.id


def _jobs(db: QueueDatabase, n: int, group: str = "") -> None:
    eid = _execution(db)
    with db.transaction() as tx:
        jobs.put(tx, [jobs.JobRow(eid, new_id(), 1, group, "q", "f", 1) for _ in range(n)])


def test_concurrent_claims_never_take_the_same_job(db: QueueDatabase) -> None:
    _jobs(db, 60)
    for name in ("w1", "w2", "w3"):
        with db.transaction() as tx:
            jobs.register(tx, name, "", 4)
    taken: dict[str, list[str]] = {"w1": [], "w2": [], "w3": []}

    def claimer(name: str) -> None:
        while True:
            with db.transaction() as tx:
                rows = jobs.claim(tx, name, "", 3)
            if not rows:
                return
            taken[name].extend(r.task_run_id for r in rows)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [r for rs in taken.values() for r in rs]
    assert len(everything) == 60 and len(set(everything)) == 60


def test_worker_groups_route_and_unregistered_workers_claim_nothing(db: QueueDatabase) -> None:
    _jobs(db, 2, "gpu")
    _jobs(db, 1, "")
    with db.transaction() as tx:
        jobs.register(tx, "plain", "", 1)
        jobs.register(tx, "gpu1", "gpu", 1)
        assert jobs.claim(tx, "stranger", "", 5) is None
        assert len(jobs.claim(tx, "plain", "", 5) or []) == 1
        assert len(jobs.claim(tx, "gpu1", "gpu", 5) or []) == 2


def test_timers_wait_for_their_due_time_and_events_come_in_order(db: QueueDatabase) -> None:
    eid = _execution(db)
    with db.transaction() as tx:
        events.put(tx, eid, Kind.RETRY_DUE, {"taskRunId": "later"}, due=time.time() + 0.5)
        events.put(tx, eid, Kind.KILL, {"hard": False})
        events.put(tx, eid, Kind.RESUME, {})
    with db.transaction() as tx:
        versions, claimed = events.claim(tx, 10)
    assert versions == {eid: 0}
    assert [e.kind for e in claimed] == [Kind.KILL, Kind.RESUME]
    with db.reader.connect() as conn:
        assert events.next_due(conn) is not None
    time.sleep(0.6)  # behaviour under test: the delayed event becomes due only once its time has passed
    with db.transaction() as tx:
        assert [e.payload for e in events.claim(tx, 10)[1]] == [{"taskRunId": "later"}]


def test_an_execution_is_held_by_one_executor_at_a_time(db: QueueDatabase) -> None:
    eid = _execution(db)
    with db.transaction() as tx:
        events.put(tx, eid, Kind.START)
    inside = threading.Event()
    release = threading.Event()
    second: list[object] = []

    def first_executor() -> None:
        with db.transaction() as tx:
            events.claim(tx, 10)
            if db.postgres:  # a result arrives while the lock is held (SQLite: writers take turns)
                with db.transaction() as tx2:
                    events.put(tx2, eid, Kind.RESUME, {})
            inside.set()
            release.wait(5)

    t = threading.Thread(target=first_executor)
    t.start()
    inside.wait(5)
    if db.postgres:  # SKIP LOCKED: the other executor passes over the locked execution
        with db.transaction() as tx:
            second.append(events.claim(tx, 10))
        assert second[0] == ({}, [])
    release.set()
    t.join()


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])  # noqa: S603,S607 - a process that is gone once waited for
    proc.wait()
    return proc.pid


def test_a_silent_worker_is_reaped_and_its_jobs_come_back_as_worker_lost(db: QueueDatabase) -> None:
    _jobs(db, 2)
    with db.transaction() as tx:
        jobs.register(tx, "alive", "", 1)
        jobs.register(tx, "dead", "", 2)
        jobs.claim(tx, "dead", "", 2)
        tx.conn.execute(tables.workers.update().where(tables.workers.c.id == "dead").values(pid=_exited_pid()))
    time.sleep(0.3)  # behaviour under test: heartbeats grow older than dead_after (0.2 s)
    with db.transaction() as tx:
        jobs.heartbeat(tx, "alive")
        handed = jobs.reap(tx, dead_after=0.2)
    assert len(handed) == 2
    with db.transaction() as tx:
        assert jobs.heartbeat(tx, "dead") is False and jobs.heartbeat(tx, "alive") is True
        _, claimed = events.claim(tx, 10)
    assert sorted(e.kind for e in claimed) == [Kind.WORKER_LOST, Kind.WORKER_LOST]
    assert {e.payload["attempt"] for e in claimed} == {1}


def test_a_silent_worker_is_dead_only_when_its_process_is_gone_or_on_another_machine(db: QueueDatabase) -> None:
    _jobs(db, 3)
    with db.transaction() as tx:
        for name in ("stopped", "reused", "remote"):
            jobs.register(tx, name, "", 1)
            jobs.claim(tx, name, "", 1)
        w = tables.workers
        # this process stands for a stopped worker: silent, but its process still runs
        tx.conn.execute(w.update().where(w.c.id == "reused").values(pid_start=1))  # the pid is another process now
        tx.conn.execute(w.update().where(w.c.id == "remote").values(host_key="another-boot:1"))
    time.sleep(0.3)  # behaviour under test: heartbeats grow older than dead_after (0.2 s)
    with db.transaction() as tx:
        handed = jobs.reap(tx, dead_after=0.2)
    with db.reader.connect() as conn:
        left = {r.id for r in conn.execute(sa.select(tables.workers.c.id))}
    assert left == {"stopped"}
    assert len(handed) == 2


def test_cancel_drops_unclaimed_jobs_and_flags_claimed_ones(db: QueueDatabase) -> None:
    eid = _execution(db)
    with db.transaction() as tx:
        jobs.put(tx, [jobs.JobRow(eid, "r1", 1, "", "q", "f", 1), jobs.JobRow(eid, "r2", 1, "", "q", "f", 1)])
        jobs.register(tx, "w", "", 1)
        jobs.claim(tx, "w", "", 1)  # takes r1 (oldest first)
        dropped = jobs.cancel(tx, ["r1", "r2"])
    assert dropped == [("r2", 1)]
    with db.reader.connect() as conn:
        assert jobs.cancelled(conn, "w") == ["r1"]


def test_attempts_finished_together_are_fenced_one_by_one(db: QueueDatabase) -> None:
    """A worker stores the results of several attempts in one transaction: each counts only if its job
    is still this worker's; the others' results are refused without touching the rest."""
    eid = _execution(db)
    with db.transaction() as tx:
        jobs.put(tx, [jobs.JobRow(eid, "r1", 1, "", "q", "f", 1), jobs.JobRow(eid, "r2", 1, "", "q", "f", 1)])
    with db.transaction() as tx:
        jobs.register(tx, "w", "", 2)
        assert len(jobs.claim(tx, "w", "", 2) or []) == 2
    with db.transaction() as tx:
        kept = jobs.finish(tx, [("r1", 1, "w"), ("r2", 1, "someone else"), ("r3", 1, "w")])
    assert kept == {("r1", 1)}
    with db.reader.connect() as conn:
        left = conn.execute(sa.select(tables.queue_jobs.c.task_run_id)).scalars().all()
    assert left == ["r2"]


def test_a_job_dispatched_and_cancelled_in_one_transaction_is_dropped(db: QueueDatabase) -> None:
    """Queue rows are inserted together at the end of a transaction; a cancel in between still sees them."""
    eid = _execution(db)
    with db.transaction() as tx:
        jobs.put(tx, [jobs.JobRow(eid, "r1", 1, "", "q", "f", 1)])
        assert jobs.cancel(tx, ["r1"]) == [("r1", 1)]
    with db.reader.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.queue_jobs)).scalar() == 0


def test_one_scheduler_holds_the_lease_until_it_expires(db: QueueDatabase, tmp_path: Path) -> None:
    from lanner.runtime.cluster_scheduler import SchedulerRole
    from lanner.runtime.settings import ClusterSettings

    settings = ClusterSettings(database_url=db.url, storage_path=tmp_path, scheduler_lease_seconds=0.5)
    a, b = SchedulerRole(db, settings, None), SchedulerRole(db, settings, None)
    assert a._lease() is True
    assert b._lease() is False
    assert a._lease() is True  # renewed
    time.sleep(0.6)  # behaviour under test: the lease expires once its time has passed
    assert b._lease() is True and a._lease() is False
