"""The executors' queue: what happened to an execution, applied under that execution's row lock.

Claiming is by execution, not by event: an executor picks executions that have due events,
locks their rows (`SELECT … FOR UPDATE SKIP LOCKED`, so executors never wait on each other), then
deletes and returns every due event of the executions it locked. While it holds the lock no
other executor can apply anything to them, and its decisions, the new queue rows and the deletion
of the events it applied commit together or not at all: a crash just returns the events.
Timers (retries, pause delays) are events with a future `due`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from lanner.runtime.queues.base import EVENTS, Event, epoch
from lanner.runtime.queues.database import Tx
from lanner.storage import execution_rows, tables

t = tables.queue_events


def put(tx: Tx, execution_id: str, kind: str, payload: dict[str, Any] | str | None = None,
        due: float | None = None) -> None:
    put_many(tx, [(execution_id, kind, payload, due)])


def put_many(tx: Tx, items: Iterable[tuple[str, str, dict[str, Any] | str | None, float | None]]) -> None:
    now = epoch()
    rows = [{"execution_id": eid, "kind": kind,
             "payload": payload if isinstance(payload, str) else json.dumps(payload or {}, separators=(",", ":"),
                                                                            default=str),
             "due": due if due is not None else now, "created": now} for eid, kind, payload, due in items]
    if rows:
        tx.insert_later(t, rows)
        tx.announce(EVENTS)


def claim(tx: Tx, limit: int) -> tuple[dict[str, int], list[Event]]:
    """Lock up to `limit` executions with due events; returns their versions and their events in order."""
    versions, events, _ = take(tx, limit)
    return versions, events


def take(tx: Tx, limit: int) -> tuple[dict[str, int], list[Event], float | None]:
    """`claim`, and when the earliest event not yet due becomes due (None: no such event) — known
    whenever nothing was claimed, and on PostgreSQL always, from the claiming statement itself: an
    executor that goes to sleep after a pass needs no other round trip to know until when."""
    tx.flush()
    now = epoch()
    if tx.conn.dialect.name == "postgresql":
        return _claim_postgres(tx, limit, now)
    candidates = [r.execution_id for r in tx.conn.execute(
        sa.select(t.c.execution_id).where(t.c.due <= now).group_by(t.c.execution_id)
        .order_by(sa.func.min(t.c.seq)).limit(limit * 3))]
    versions = execution_rows.lock(tx.conn, candidates, limit) if candidates else {}
    if not versions:
        return {}, [], next_due(tx.conn)
    rows = tx.conn.execute(t.delete().where(t.c.execution_id.in_(list(versions)), t.c.due <= now)
                           .returning(t.c.seq, t.c.execution_id, t.c.kind, t.c.payload)).all()
    events = [Event(int(r.seq), r.execution_id, r.kind, json.loads(r.payload)) for r in rows]
    events.sort(key=lambda e: e.seq)
    return versions, events, None


# Pick executions with due events, lock them (skipping those another executor holds), take their
# due events; the last row (seq NULL) carries when the earliest event not yet due becomes due.
_CLAIM = sa.text(
    "WITH candidates AS (SELECT execution_id FROM queue_events WHERE due <= :now GROUP BY execution_id "
    "ORDER BY min(seq) LIMIT :many), "
    "locked AS (SELECT id, version FROM executions WHERE id IN (SELECT execution_id FROM candidates) "
    "LIMIT :limit FOR UPDATE SKIP LOCKED), "
    "taken AS (DELETE FROM queue_events AS q USING locked WHERE q.execution_id = locked.id AND q.due <= :now "
    "RETURNING q.seq, q.execution_id, q.kind, q.payload, locked.version) "
    "SELECT seq, execution_id, kind, payload, version, CAST(NULL AS double precision) AS next_due FROM taken "
    "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, (SELECT min(due) FROM queue_events WHERE due > :now) "
    "ORDER BY seq NULLS LAST")


def _claim_postgres(tx: Tx, limit: int, now: float) -> tuple[dict[str, int], list[Event], float | None]:
    *rows, last = tx.conn.execute(_CLAIM, {"now": now, "many": limit * 3, "limit": limit}).all()
    return ({r.execution_id: int(r.version) for r in rows},
            [Event(int(r.seq), r.execution_id, r.kind, json.loads(r.payload)) for r in rows],
            None if last.next_due is None else float(last.next_due))


def next_due(conn: sa.Connection) -> float | None:
    """When the earliest future event becomes due (to sleep until then)."""
    return conn.execute(sa.select(sa.func.min(t.c.due)).where(t.c.due > epoch())).scalar()


def pending(conn: sa.Connection, execution_id: str) -> bool:
    return conn.execute(sa.select(t.c.seq).where(t.c.execution_id == execution_id).limit(1)).first() is not None


def drop_orphans(tx: Tx, older_than: float) -> int:
    """Events of executions that no longer exist (deleted after a late report) would be picked forever."""
    ex = tables.executions
    q = t.delete().where(t.c.created < epoch() - older_than,
                         ~sa.exists(sa.select(ex.c.id).where(ex.c.id == t.c.execution_id)))
    return int(tx.conn.execute(q).rowcount or 0)


def postpone(tx: Tx, execution_id: str, until: float) -> None:
    """Make the execution's events due no earlier than `until`: executors pass it over until then."""
    tx.conn.execute(t.update().where(t.c.execution_id == execution_id, t.c.due < until).values(due=until))


def drop(tx: Tx, execution_id: str) -> int:
    """Delete every event of the execution (it was ended without them); how many there were."""
    return int(tx.conn.execute(t.delete().where(t.c.execution_id == execution_id)).rowcount or 0)
