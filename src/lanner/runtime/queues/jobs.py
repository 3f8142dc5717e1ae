"""The workers' queue: one row per attempt of a runnable task run, and the registry of workers.

A job is written by the executor in the transaction that dispatched the attempt, claimed by one
worker (`UPDATE … WHERE seq IN (SELECT … FOR UPDATE SKIP LOCKED)`, so concurrent workers take
disjoint jobs without waiting), and deleted in the transaction that records its result. A worker
proves it is alive by its heartbeat; when it falls silent *and* is known to be gone, `reap`
removes it and hands each job it held back to the executors as a `worker_lost` event (a new
attempt), in one transaction. "Known to be gone": on the reaper's machine, its process no longer
exists (or its pid names a newer process); a stopped or busy worker keeps its attempts. Of a worker
on another machine only the heartbeat can be seen, so its silence alone is enough.

The job row is the fence: a result counts only when it deletes the job its worker claimed
(`finish`); a worker whose job was handed back finds nothing to delete, and its late result is
refused instead of being merged.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from lanner import process_identity
from lanner.runtime.queues import events
from lanner.runtime.queues.base import CANCELS, JOBS, Kind, epoch
from lanner.runtime.queues.database import Tx
from lanner.storage import tables

t = tables.queue_jobs
w = tables.workers
log = logging.getLogger("lanner.executor")
_warned: dict[str, float] = {}  # silent-but-alive worker → when we last said so


@dataclasses.dataclass(slots=True)
class JobRow:
    execution_id: str
    task_run_id: str
    attempt: int
    worker_group: str
    namespace: str
    flow_id: str
    revision: int
    cancel: bool = False


def put(tx: Tx, jobs: Iterable[JobRow]) -> None:
    now = epoch()
    rows = [{"execution_id": j.execution_id, "task_run_id": j.task_run_id, "attempt": j.attempt,
             "worker_group": j.worker_group, "namespace": j.namespace, "flow_id": j.flow_id, "revision": j.revision,
             "cancel": False, "created": now} for j in jobs]
    if rows:
        tx.insert_later(t, rows)
        tx.announce(JOBS)


def claim(tx: Tx, worker_id: str, group: str, limit: int) -> list[JobRow] | None:
    """Up to `limit` unclaimed jobs of `group`; None when this worker is no longer registered.

    The worker's row is share-locked by the claiming statement itself (the reaper, which deletes
    it under an update lock, waits or skips it): jobs are only ever claimed under a registered id,
    in one round trip. Only when nothing was claimed is the registration looked at on its own.
    """
    tx.flush()
    me = sa.select(w.c.id).where(w.c.id == worker_id).with_for_update(read=True)
    rows: Sequence[sa.Row[Any]] = []
    if limit > 0:
        pick = (sa.select(t.c.seq).where(t.c.claimed_by.is_(None), t.c.worker_group == group)
                .order_by(t.c.seq).limit(limit).with_for_update(skip_locked=True))
        rows = tx.conn.execute(t.update().where(t.c.seq.in_(pick.scalar_subquery()), sa.exists(me))
                               .values(claimed_by=worker_id, claimed_at=epoch())
                               .returning(t.c.execution_id, t.c.task_run_id, t.c.attempt, t.c.worker_group,
                                          t.c.namespace, t.c.flow_id, t.c.revision, t.c.cancel)).all()
    if not rows and tx.conn.execute(me).first() is None:
        return None
    return [JobRow(r.execution_id, r.task_run_id, int(r.attempt), r.worker_group, r.namespace, r.flow_id,
                   int(r.revision), bool(r.cancel)) for r in rows]


def finish(tx: Tx, ran: Sequence[tuple[str, int, str]]) -> set[tuple[str, int]]:
    """Remove the jobs of attempts (task run, attempt, worker id claimed as) that ended, in one statement;
    returns those removed — an attempt missing from it is no longer its worker's (handed back)."""
    if not ran:
        return set()
    gone = tx.conn.execute(t.delete().where(sa.tuple_(t.c.task_run_id, t.c.attempt, t.c.claimed_by).in_(list(ran)))
                           .returning(t.c.task_run_id, t.c.attempt)).all()
    return {(r.task_run_id, int(r.attempt)) for r in gone}


def done(tx: Tx, keys: Iterable[tuple[str, int]]) -> None:
    """Remove the jobs of reported attempts (task run id, attempt)."""
    params = [{"rid": rid, "att": att} for rid, att in keys]
    if params:
        tx.conn.execute(t.delete().where(t.c.task_run_id == sa.bindparam("rid"), t.c.attempt == sa.bindparam("att")),
                        params)


def cancel(tx: Tx, run_ids: list[str]) -> list[tuple[str, int]]:
    """Cancel the jobs of these task runs: unclaimed ones are deleted and returned (run, attempt) for
    the executor to end at once; claimed ones are flagged for their worker."""
    if not run_ids:
        return []
    tx.flush()  # jobs dispatched earlier in this transaction are cancelled too
    dropped = tx.conn.execute(t.delete().where(t.c.task_run_id.in_(run_ids), t.c.claimed_by.is_(None))
                              .returning(t.c.task_run_id, t.c.attempt)).all()
    flagged = tx.conn.execute(t.update().where(t.c.task_run_id.in_(run_ids), t.c.claimed_by.is_not(None))
                              .values(cancel=True)).rowcount
    if flagged:
        tx.announce(CANCELS)
    return [(r.task_run_id, int(r.attempt)) for r in dropped]


def cancelled(conn: sa.Connection, worker_id: str) -> list[str]:
    """Task runs this worker holds that must be cancelled."""
    return [r.task_run_id for r in conn.execute(
        sa.select(t.c.task_run_id).where(t.c.claimed_by == worker_id, t.c.cancel.is_(True)))]


# -- the worker registry -----------------------------------------------------------------------

def new_worker_id() -> str:
    from lanner.model.execution import new_id

    return f"{socket.gethostname()[:40]}-{os.getpid()}-{new_id()[:8]}"


def register(tx: Tx, worker_id: str, group: str, threads: int) -> None:
    now = epoch()
    tx.conn.execute(w.insert().values(id=worker_id, worker_group=group, hostname=socket.gethostname()[:255],
                                      pid=os.getpid(), threads=threads, started=now, heartbeat=now,
                                      host_key=process_identity.host_key(),
                                      pid_start=process_identity.start_ticks(os.getpid())))


def heartbeat(tx: Tx, worker_id: str) -> bool:
    """Record that the worker is alive; False when it was declared dead meanwhile."""
    return bool(tx.conn.execute(w.update().where(w.c.id == worker_id).values(heartbeat=epoch())).rowcount)


def deregister(tx: Tx, worker_id: str) -> list[tuple[str, str, int]]:
    """A worker leaving: its row goes, and every attempt it still holds is handed back at once
    (it stopped them first: no process of theirs runs any more). Returns those handed back."""
    tx.conn.execute(w.delete().where(w.c.id == worker_id))
    return _hand_back(tx, t.c.claimed_by == worker_id)


def live_groups(conn: sa.Connection, dead_after: float) -> set[str]:
    q = sa.select(w.c.worker_group).where(w.c.heartbeat >= epoch() - dead_after).distinct()
    return {r.worker_group for r in conn.execute(q)}


def reap(tx: Tx, dead_after: float) -> list[tuple[str, str, int]]:
    """Remove dead workers and hand every job they (or no registered worker) held back.

    Dead: silent for `dead_after` and, on this machine, its process gone (or its pid another
    process's); on another machine the silence alone. A silent worker whose process runs here keeps
    its jobs. (Waiting for the silence even when the process is seen gone gives a task process
    that outlived its worker time to end before a new attempt starts.)
    Returns the (execution, task run, attempt) handed back; a `worker_lost` event is queued for
    each in the same transaction, so the executors start a new attempt.
    """
    now = epoch()
    dead = []
    for r in tx.conn.execute(sa.select(w.c.id, w.c.host_key, w.c.pid, w.c.pid_start, w.c.heartbeat)
                             .where(w.c.heartbeat < now - dead_after)).all():
        if not process_identity.is_running(r.host_key, int(r.pid), r.pid_start):  # gone, or not ours to see
            dead.append(r.id)
        elif now - _warned.get(r.id, 0.0) >= 60:
            _warned[r.id] = now
            log.warning("worker %s has been silent for %.0fs but its process %d is alive (stopped or busy): "
                        "its attempts wait for it", r.id, now - r.heartbeat, r.pid)
    if dead:  # a worker claiming right now holds its row: it is looked at again next time
        locked = [r.id for r in tx.conn.execute(sa.select(w.c.id).where(w.c.id.in_(dead))
                                                .with_for_update(skip_locked=True))]
        if locked:
            tx.conn.execute(w.delete().where(w.c.id.in_(locked)))
    return _hand_back(tx, sa.and_(t.c.claimed_by.is_not(None),
                                  ~sa.exists(sa.select(w.c.id).where(w.c.id == t.c.claimed_by))))


def _hand_back(tx: Tx, which: sa.ColumnElement[bool]) -> list[tuple[str, str, int]]:
    """Delete these claimed jobs and queue a `worker_lost` event for each (a new attempt)."""
    lost = tx.conn.execute(t.delete().where(which).returning(t.c.execution_id, t.c.task_run_id, t.c.attempt)).all()
    handed = [(r.execution_id, r.task_run_id, int(r.attempt)) for r in lost]
    events.put_many(tx, [(eid, Kind.WORKER_LOST, {"taskRunId": rid, "attempt": att}, None) for eid, rid, att in handed])
    return handed
