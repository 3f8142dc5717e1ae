"""The scheduler role: one active scheduler per cluster, chosen by a lease, firing triggers.

Any number of scheduler processes may run; the one holding the `scheduler` lease (a row renewed
every few seconds; whoever finds it expired takes it) runs the embedded `Scheduler`. A killed
scheduler's lease runs out after `scheduler_lease_seconds` and another takes over; since every
execution a trigger starts has an id derived from the fire, a fire repeated by the successor
finds the execution already there and does not start a second one.

Flow triggers and `stopAfter` learn of execution state changes from the `execution_changes`
table, which executors write in the transaction of the change: rows are deleted only after the
scheduler handled them, so a crash re-delivers them and the derived ids absorb the repeat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from lanner.model.flow import Flow
from lanner.runtime import launch
from lanner.runtime.flow_trigger import Ended
from lanner.runtime.queues.base import CHANGES, epoch
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.scheduler import Scheduler
from lanner.runtime.settings import ClusterSettings
from lanner.runtime.stored_flows import StoredFlows
from lanner.storage import tables
from lanner.storage.trigger_store import TriggerStore

log = logging.getLogger("lanner.scheduler")
LEASE = "scheduler"
REFRESH_SECONDS = 2.0  # flows saved by a webserver in another process are picked up this fast


class ClusterScheduler(Scheduler):
    """The embedded scheduler, reading trigger state back from the store (webservers write it too)."""

    def reload(self) -> None:
        state = self.store.all()
        with self._lock:
            self._state = state

    def _current(self, key: tuple[str, str, str]) -> dict[str, Any]:
        """Read back from the store: the webservers write a trigger's state too (disable, backfill)."""
        return dict(self.store.get(key) or {})

    def _update(self, key: tuple[str, str, str], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """One locked read-change-write in the store: a webserver and the scheduler may change the
        same trigger at once (a pause while the backfill moves on)."""
        with self._lock:
            state = self.store.update(key, change)
            self._state[key] = state
        return state

    def handle(self, ended: Ended) -> None:
        """Fire the Flow triggers and stopAfter rules for one execution change, now, in this thread."""
        self._on_execution(ended)

    def refresh_now(self) -> None:
        """Load flows and trigger state now (before handling execution changes)."""
        self._refresh()

    def _refresh(self) -> None:
        super()._refresh()
        self.reload()

    def list(self) -> list[dict[str, Any]]:
        self.reload()
        return super().list()

    def webhook(self, *args: Any, **kwargs: Any) -> Any:
        self.reload()
        return super().webhook(*args, **kwargs)

    def set_disabled(self, key: tuple[str, str, str], disabled: bool) -> dict[str, Any]:
        self.reload()
        return super().set_disabled(key, disabled)


def build(db: QueueDatabase, client: Any, flows: StoredFlows) -> ClusterScheduler:
    """A scheduler that starts executions through the cluster client (queued, never run here)."""
    from lanner.storage.execution_queries import ExecutionQueries

    queries = ExecutionQueries(db.reader)

    def latest(namespace: str, flow_id: str) -> Flow | None:
        from lanner.errors import LannerError

        try:
            return flows.get(namespace, flow_id)
        except LannerError:
            return None

    def start(flow: Flow, inputs: Any, labels: Any, trigger: dict[str, Any], execution_id: str | None) -> Any:
        return launch.start_execution(client, flow, inputs, labels, trigger=trigger, execution_id=execution_id,
                                      via="trigger")

    return ClusterScheduler(TriggerStore(db.reader), flows.all_latest, latest, start, queries.exists, queries.get,
                            unfinished=queries.unfinished)


class SchedulerRole:
    def __init__(self, db: QueueDatabase, settings: ClusterSettings, factory: Any) -> None:
        from lanner.runtime.queues import jobs

        self.db = db
        self.settings = settings
        self.factory = factory  # () -> ClusterScheduler; a stopped Scheduler cannot start again
        self.id = jobs.new_worker_id()
        self.active: ClusterScheduler | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        last_refresh = 0.0
        while not self.stopping.is_set():
            try:
                leading = self._lease()
                if leading and self.active is None:
                    self.active = self.factory()
                    self.active.refresh_now()
                    self.active.start()
                    log.warning("scheduler %s is now the active scheduler", self.id)
                elif not leading and self.active is not None:
                    self.active.stop()
                    self.active = None
                    log.warning("scheduler %s lost the lease; standing by", self.id)
                if self.active is not None:
                    if time.monotonic() - last_refresh > REFRESH_SECONDS:
                        last_refresh = time.monotonic()
                        self.active.flows_changed()
                    self._changes(self.active)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the role
                log.exception("scheduler pass failed; retrying")
            self.db.waker.wait(CHANGES, min(self.settings.scheduler_lease_seconds / 4, 1.0))
        if self.active is not None:
            self.active.stop()
            self._release()

    def stop(self) -> None:
        self.stopping.set()
        self.db.waker.signal(CHANGES)

    def _lease(self) -> bool:
        t = tables.leases
        now = epoch()
        with self.db.transaction() as tx:
            mine_or_expired = sa.or_(t.c.holder == self.id, t.c.expires < now)
            taken = tx.conn.execute(t.update().where(t.c.name == LEASE, mine_or_expired)
                                    .values(holder=self.id,
                                            expires=now + self.settings.scheduler_lease_seconds)).rowcount
            if taken:
                return True
            if tx.conn.execute(sa.select(t.c.name).where(t.c.name == LEASE)).first() is None:
                insert = _insert_ignore(tx.conn, t).values(name=LEASE, holder=self.id,
                                                           expires=now + self.settings.scheduler_lease_seconds)
                return bool(tx.conn.execute(insert).rowcount)
        return False

    def _release(self) -> None:
        t = tables.leases
        try:
            with self.db.transaction() as tx:
                tx.conn.execute(t.delete().where(t.c.name == LEASE, t.c.holder == self.id))
        except Exception:  # noqa: BLE001 - it expires anyway
            pass

    def _changes(self, scheduler: ClusterScheduler) -> None:
        t = tables.execution_changes
        with self.db.reader.connect() as conn:
            rows = conn.execute(sa.select(t.c.seq, t.c.payload).order_by(t.c.seq).limit(500)).all()
        if not rows:
            return
        for row in rows:
            p = json.loads(row.payload)
            ended = Ended(p["id"], p["namespace"], p["flowId"], int(p.get("revision") or 1), p["state"],
                          dict(p.get("labels") or {}), dict(p.get("outputs") or {}), p.get("trigger"))
            try:
                scheduler.handle(ended)
            except Exception:  # noqa: BLE001 - one bad trigger must not block the others
                log.exception("Flow triggers for execution %s failed", ended.id)
        with self.db.transaction() as tx:
            tx.conn.execute(t.delete().where(t.c.seq <= rows[-1].seq))


def _insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    return sqlite_insert(table).on_conflict_do_nothing()
