"""Flows as the server manages them: latest revisions, history, deletion, listing.

The `flows` table keeps every revision of a flow's source. `Repository.save_flow` (used when an
execution is created) adds a revision when the source changed; this module adds what the API
needs on top: a flow is *deleted* by flagging all of its revisions (executions keep pointing at
the revision they ran, which stays readable here), and saving a deleted flow again starts a new
revision instead of resurrecting the deleted one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from lanner.model.state import iso, now
from lanner.storage import tables


@dataclasses.dataclass(frozen=True, slots=True)
class StoredFlow:
    namespace: str
    id: str
    revision: int
    source: str
    deleted: bool
    updated: str


def _row(r: Any) -> StoredFlow:
    return StoredFlow(r.namespace, r.id, int(r.revision), r.source, bool(r.deleted), r.updated)


# Statements asked per request, built once: SQLAlchemy caches a built statement's compiled form and
# cache key on the object; one built per call cost four times as much (214 µs against 49 µs on SQLite).
_t = tables.flows
_LATEST_NUMBER = sa.select(sa.func.max(_t.c.revision), sa.func.min(sa.cast(_t.c.deleted, sa.Integer))).where(
    _t.c.namespace == sa.bindparam("ns"), _t.c.id == sa.bindparam("id"))
_REVISION = sa.select(_t).where(_t.c.namespace == sa.bindparam("ns"), _t.c.id == sa.bindparam("id"),
                                _t.c.revision == sa.bindparam("revision"))


class FlowStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def latest(self, namespace: str, flow_id: str, include_deleted: bool = False) -> StoredFlow | None:
        """The newest revision; None when the flow never existed or (unless asked) was deleted."""
        t = tables.flows
        q = (sa.select(t).where(t.c.namespace == namespace, t.c.id == flow_id)
             .order_by(t.c.revision.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None or (row.deleted and not include_deleted):
            return None
        return _row(row)

    def revision(self, namespace: str, flow_id: str, revision: int) -> StoredFlow | None:
        """One revision, deleted or not (an execution's page shows the flow it ran)."""
        with self.engine.connect() as conn:
            row = conn.execute(_REVISION, {"ns": namespace, "id": flow_id, "revision": revision}).first()
        return _row(row) if row is not None else None

    def latest_revision_number(self, namespace: str, flow_id: str) -> int | None:
        """Asked once per execution the API creates: its statement is built once (`_LATEST_NUMBER`)."""
        with self.engine.connect() as conn:
            row = conn.execute(_LATEST_NUMBER, {"ns": namespace, "id": flow_id}).first()
        if row is None or row[0] is None or row[1]:
            return None
        return int(row[0])

    def save(self, namespace: str, flow_id: str, source: str) -> StoredFlow:
        """Store a new revision when the source changed (or the flow was deleted); returns the latest."""
        t = tables.flows
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(t).where(t.c.namespace == namespace, t.c.id == flow_id)
                                .order_by(t.c.revision.desc()).limit(1)).first()
            if last is not None and not last.deleted and last.source == source:
                return _row(last)
            revision = 1 if last is None else int(last.revision) + 1
            stamp = iso(now())
            conn.execute(t.insert().values(namespace=namespace, id=flow_id, revision=revision, source=source,
                                           deleted=False, updated=stamp))
        return StoredFlow(namespace, flow_id, revision, source, False, stamp)

    def delete(self, namespace: str, flow_id: str) -> bool:
        """Flag every revision deleted; False when there was no live flow."""
        t = tables.flows
        with self.engine.begin() as conn:
            count = conn.execute(t.update().where(t.c.namespace == namespace, t.c.id == flow_id,
                                                  t.c.deleted.is_(False)).values(deleted=True)).rowcount
        return bool(count)

    def revisions(self, namespace: str, flow_id: str) -> list[StoredFlow]:
        t = tables.flows
        q = sa.select(t).where(t.c.namespace == namespace, t.c.id == flow_id).order_by(t.c.revision)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def all_latest(self) -> list[StoredFlow]:
        """The newest live revision of every flow, ordered by namespace then id."""
        t = tables.flows
        newest = (sa.select(t.c.namespace, t.c.id, sa.func.max(t.c.revision).label("rev"))
                  .group_by(t.c.namespace, t.c.id).subquery())
        q = (sa.select(t).join(newest, sa.and_(t.c.namespace == newest.c.namespace, t.c.id == newest.c.id,
                                               t.c.revision == newest.c.rev))
             .where(t.c.deleted.is_(False)).order_by(t.c.namespace, t.c.id))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def namespaces(self) -> list[str]:
        return sorted({f.namespace for f in self.all_latest()})
