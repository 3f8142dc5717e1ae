"""Executions, task runs and logs in the database.

`save` writes, in one transaction, the execution header and only the task runs that changed:
the executor's effects are persisted before anything acts on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from lanner.model.execution import Execution, TaskRun
from lanner.model.results import LogEntry
from lanner.model.state import iso, now
from lanner.storage import tables


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), default=str)


class Repository:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- executions --------------------------------------------------------------------------

    def save(self, exe: Execution, runs: Iterable[TaskRun] = (), header: bool = True,
             logs: Iterable[LogEntry] = ()) -> None:
        """Write, in one transaction, the header (if asked), these task runs (inserted or updated) and logs.

        Task runs are upserted by id, so the store needs no memory of what it wrote before and
        readers on other threads cannot confuse it.
        """
        rows = [{"id": run.id, "execution_id": exe.id, "seq": run.seq, "state": run.current.value,
                 "data": _dumps(run.to_json())} for run in runs]
        log_rows = [_log_row(e) for e in logs]
        with self.engine.begin() as conn:
            if header:
                self._save_header(conn, exe)
            if rows:
                conn.execute(self._upsert_runs(conn), rows)
            if log_rows:
                conn.execute(tables.logs.insert(), log_rows)

    @staticmethod
    def _upsert_runs(conn: sa.Connection) -> Any:
        t = tables.task_runs
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(t)
        return stmt.on_conflict_do_update(index_elements=[t.c.id],
                                          set_={"state": stmt.excluded.state, "data": stmt.excluded.data})

    def _save_header(self, conn: sa.Connection, exe: Execution) -> None:
        t = tables.executions
        values = {
            "namespace": exe.namespace,
            "flow_id": exe.flow_id,
            "state": exe.state.current.value,
            "start_date": iso(exe.state.start_date) if exe.state.start_date else None,
            "end_date": iso(exe.state.end_date) if exe.state.end_date else None,
            "data": _dumps(exe.header_json()),
        }
        updated = conn.execute(t.update().where(t.c.id == exe.id).values(**values)).rowcount
        if not updated:
            conn.execute(t.insert().values(id=exe.id, **values))

    def get(self, execution_id: str) -> Execution | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tables.executions.c.data).where(tables.executions.c.id == execution_id)).first()
            if row is None:
                return None
            runs = conn.execute(
                sa.select(tables.task_runs.c.id, tables.task_runs.c.data)
                .where(tables.task_runs.c.execution_id == execution_id)
                .order_by(tables.task_runs.c.seq)
            ).all()
        return Execution.from_json(json.loads(row.data), [json.loads(r.data) for r in runs])

    def find_by_prefix(self, prefix: str) -> list[str]:
        t = tables.executions
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(sa.select(t.c.id).where(t.c.id.like(prefix + "%")).limit(5))]

    def search(self, namespace: str | None = None, flow_id: str | None = None, state: str | None = None,
               limit: int = 50) -> list[dict[str, Any]]:
        t = tables.executions
        q = sa.select(t.c.id, t.c.namespace, t.c.flow_id, t.c.state, t.c.start_date, t.c.end_date)
        if namespace:
            q = q.where(sa.or_(t.c.namespace == namespace, t.c.namespace.like(namespace + ".%")))
        if flow_id:
            q = q.where(t.c.flow_id == flow_id)
        if state:
            q = q.where(t.c.state == state.upper())
        q = q.order_by(t.c.start_date.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def unfinished(self) -> list[str]:
        t = tables.executions
        terminal = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED")
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(sa.select(t.c.id).where(t.c.state.not_in(terminal)))]

    # -- flows -------------------------------------------------------------------------------

    def save_flow(self, namespace: str, flow_id: str, source: str) -> int:
        """Store a flow's source; a changed source becomes a new revision. Returns the revision."""
        t = tables.flows
        with self.engine.begin() as conn:
            last = conn.execute(
                sa.select(t.c.revision, t.c.source).where(t.c.namespace == namespace, t.c.id == flow_id)
                .order_by(t.c.revision.desc()).limit(1)
            ).first()
            if last is not None and last.source == source:
                return int(last.revision)
            revision = 1 if last is None else int(last.revision) + 1
            conn.execute(t.insert().values(namespace=namespace, id=flow_id, revision=revision, source=source,
                                           deleted=False, updated=iso(now())))
            return revision

    def flow_source(self, namespace: str, flow_id: str, revision: int | None = None) -> tuple[int, str] | None:
        """(revision, source) of a stored flow: the given revision, or the latest."""
        t = tables.flows
        q = sa.select(t.c.revision, t.c.source).where(t.c.namespace == namespace, t.c.id == flow_id,
                                                      t.c.deleted.is_(False))
        q = q.where(t.c.revision == revision) if revision else q.order_by(t.c.revision.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (int(row.revision), row.source) if row is not None else None

    # -- commands to executions owned by another process -----------------------------------

    def add_command(self, execution_id: str, kind: str, payload: dict[str, Any] | None = None) -> int:
        t = tables.commands
        with self.engine.begin() as conn:
            result = conn.execute(t.insert().values(execution_id=execution_id, kind=kind,
                                                    payload=_dumps(payload or {}), created=iso(now()), done=False))
            return int(result.inserted_primary_key[0])

    def take_commands(self, execution_ids: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """Pending commands for these executions, marked done in the same transaction."""
        ids = list(execution_ids)
        if not ids:
            return []
        t = tables.commands
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t).where(t.c.done.is_(False), t.c.execution_id.in_(ids))
                                .order_by(t.c.seq)).all()
            if rows:
                conn.execute(t.update().where(t.c.seq.in_([r.seq for r in rows])).values(done=True))
        return [(r.execution_id, r.kind, json.loads(r.payload)) for r in rows]

    def command_done(self, seq: int) -> bool:
        t = tables.commands
        with self.engine.connect() as conn:
            return bool(conn.execute(sa.select(t.c.done).where(t.c.seq == seq)).scalar())

    # -- logs --------------------------------------------------------------------------------

    def add_logs(self, entries: Iterable[LogEntry]) -> None:
        rows = [_log_row(e) for e in entries]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(tables.logs.insert(), rows)

    def logs(self, execution_id: str, min_level: str | None = None, task_id: str | None = None) -> list[dict[str, Any]]:
        from lanner.model.results import LEVEL_RANK, LEVELS

        t = tables.logs
        q = sa.select(t).where(t.c.execution_id == execution_id).order_by(t.c.seq)
        if min_level:
            q = q.where(t.c.level.in_(LEVELS[LEVEL_RANK[min_level.upper()]:]))
        if task_id:
            q = q.where(t.c.task_id == task_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _log_row(e: LogEntry) -> dict[str, Any]:
    return {
        "execution_id": e.execution_id,
        "task_run_id": e.task_run_id,
        "task_id": e.task_id,
        "attempt": e.attempt,
        "level": e.level,
        "timestamp": iso(e.timestamp),
        "message": e.message,
    }
