"""A flow's `concurrency.limit` on the cluster: counted in the database, race-free across executors.

Each executor transaction that starts, queues or ends an execution of a limited flow first takes
that flow's lock (`pg_advisory_xact_lock`, held until commit; SQLite's single writer already
serialises transactions), then counts the flow's running executions. Two executors deciding for
the same flow therefore take turns, and the second one sees what the first committed. Within
one transaction the executions it changed are counted by their new state (their rows are written
at commit). The decision itself — start, refuse (QUEUE / CANCEL / FAIL) or keep waiting — is
`core.admit`, the same as the embedded runtime's. When a slot frees, the oldest queued executions
get a `start` event; each one checks again under the lock, so a late or duplicate one changes
nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from lanner.model.flow import Flow
from lanner.model.state import TERMINATED_NAMES as TERMINAL
from lanner.model.state import StateType, iso
from lanner.runtime import core
from lanner.runtime.queues import events
from lanner.runtime.queues.base import Kind
from lanner.runtime.queues.database import Tx
from lanner.storage import tables

NOT_RUNNING = (*(s.value for s in core.WAITING_FOR_A_SLOT), *TERMINAL)


def _key(flow: Flow) -> tuple[str, str]:
    return flow.namespace, flow.id


class Slots:
    """One executor transaction's view of its limited flows' slots."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._locked: set[tuple[str, str]] = set()
        self._touched: dict[tuple[str, str], dict[str, tuple[StateType, str]]] = {}  # id → (state, created)

    def _lock(self, flow: Flow) -> None:
        key = _key(flow)
        if key in self._locked:
            return
        self._locked.add(key)
        if self.tx.conn.dialect.name == "postgresql":
            digest = hashlib.blake2b("\0".join(key).encode(), digest_size=8).digest()
            self.tx.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                                 {"k": int.from_bytes(digest, "big", signed=True)})

    def note(self, exe: Any) -> None:
        """Remember an execution's new state (its row is written at commit)."""
        created = iso(exe.state.start_date) if exe.state.start_date else ""
        self._touched.setdefault((exe.namespace, exe.flow_id), {})[exe.id] = (exe.state.current, created)

    def running(self, flow: Flow) -> int:
        self._lock(flow)
        touched = self._touched.get(_key(flow), {})
        t = tables.executions
        q = sa.select(sa.func.count()).select_from(t).where(t.c.namespace == flow.namespace, t.c.flow_id == flow.id,
                                                            t.c.state.not_in(NOT_RUNNING))
        if touched:
            q = q.where(t.c.id.not_in(list(touched)))
        stored = int(self.tx.conn.execute(q).scalar() or 0)
        return stored + sum(1 for state, _ in touched.values() if core.counts_against_limit(state))

    def queued(self, flow: Flow, limit: int, before: tuple[str, str] | None = None) -> list[str]:
        """The oldest queued executions of the flow (created before `before` = (created, id), if given)."""
        self._lock(flow)
        touched = self._touched.get(_key(flow), {})
        t = tables.executions
        q = sa.select(t.c.id, t.c.start_date).where(t.c.namespace == flow.namespace, t.c.flow_id == flow.id,
                                                    t.c.state == StateType.QUEUED.value)
        if touched:
            q = q.where(t.c.id.not_in(list(touched)))
        if before is not None:
            q = q.where(sa.or_(t.c.start_date < before[0], sa.and_(t.c.start_date == before[0], t.c.id < before[1])))
        rows = [((r.start_date or ""), r.id) for r in self.tx.conn.execute(q.order_by(t.c.start_date, t.c.id)
                                                                             .limit(limit))]
        rows += [(created, eid) for eid, (state, created) in touched.items() if state is StateType.QUEUED
                 and (before is None or (created, eid) < before)]
        return [eid for _, eid in sorted(rows)[:limit]]

    def admit(self, held: Any) -> Any:
        """Start a waiting execution of a limited flow, refuse it, or leave it queued (None)."""
        exe, flow = held.exe, held.flow
        created = iso(exe.state.start_date) if exe.state.start_date else ""
        older = bool(self.queued(flow, 1, before=(created, exe.id)))
        fx = core.admit(held.executor, self.running(flow), older)
        self.note(exe)
        self._dequeue(flow)
        return fx

    def ended(self, held: Any) -> None:
        """An execution of a limited flow ended: the oldest queued ones may take the freed slots."""
        self.note(held.exe)
        self._dequeue(held.flow)

    def _dequeue(self, flow: Flow) -> None:
        free = core.free_slots(flow, self.running(flow))
        if free:
            events.put_many(self.tx, [(eid, Kind.START, None, None) for eid in self.queued(flow, free)])
