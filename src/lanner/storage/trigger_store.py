"""The scheduler's memory of each trigger, kept in the database so that a restart neither fires a
schedule twice nor forgets that `stopAfter` disabled it.

One row per (namespace, flow, trigger id) with a small JSON document; the scheduler is the only
writer, the API reads it for the triggers list and may flip `disabled` back.
"""

from __future__ import annotations

import json
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

    def all(self) -> dict[TriggerKey, dict[str, Any]]:
        t = tables.triggers
        with self.engine.connect() as conn:
            return {(r.namespace, r.flow_id, r.trigger_id): json.loads(r.data) for r in conn.execute(sa.select(t))}

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        t = tables.triggers
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.namespace == namespace, t.c.flow_id == flow_id))
