"""The scheduler's memory of each trigger, kept in the database so that a restart neither fires a
schedule twice nor forgets that `stopAfter` disabled it.

One row per (namespace, flow, trigger id) with a small JSON document, written by the scheduler
and by the API (disable, enable, backfill); in a cluster the two are different processes, so
their changes go through `update`, one locked read-change-write each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from lanner.model.state import iso, now
from lanner.storage import tables

TriggerKey = tuple[str, str, str]  # namespace, flow id, trigger id


class TriggerStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, key: TriggerKey) -> dict[str, Any] | None:
        t = tables.triggers
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.data).where(t.c.namespace == key[0], t.c.flow_id == key[1],
                                                         t.c.trigger_id == key[2])).first()
        return json.loads(row.data) if row is not None else None

    def put(self, key: TriggerKey, data: dict[str, Any]) -> None:
        t = tables.triggers
        text = json.dumps(data, separators=(",", ":"), default=str)
        stamp = iso(now())
        with self.engine.begin() as conn:
            updated = conn.execute(t.update().where(t.c.namespace == key[0], t.c.flow_id == key[1],
                                                    t.c.trigger_id == key[2]).values(data=text, updated=stamp)).rowcount
            if not updated:
                conn.execute(t.insert().values(namespace=key[0], flow_id=key[1], trigger_id=key[2], data=text,
                                               updated=stamp))

    def update(self, key: TriggerKey, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """Read, change and write one trigger's state in one transaction, its row locked (on
        PostgreSQL) so that two processes — a webserver pausing a backfill, the scheduler moving
        it on — never write over each other. An exception from `change` writes nothing."""
        t = tables.triggers
        where = (t.c.namespace == key[0], t.c.flow_id == key[1], t.c.trigger_id == key[2])
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.c.data).where(*where).with_for_update()).first()
            state: dict[str, Any] = json.loads(row.data) if row is not None else {}
            change(state)
            text = json.dumps(state, separators=(",", ":"), default=str)
            if row is not None:
                conn.execute(t.update().where(*where).values(data=text, updated=iso(now())))
            else:
                conn.execute(t.insert().values(namespace=key[0], flow_id=key[1], trigger_id=key[2], data=text,
                                               updated=iso(now())))
        return state

    def all(self) -> dict[TriggerKey, dict[str, Any]]:
        t = tables.triggers
        with self.engine.connect() as conn:
            return {(r.namespace, r.flow_id, r.trigger_id): json.loads(r.data) for r in conn.execute(sa.select(t))}

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        t = tables.triggers
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.namespace == namespace, t.c.flow_id == flow_id))
