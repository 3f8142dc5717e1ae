"""Executions and task runs read and written inside a caller's transaction (the cluster roles).

The embedded `Repository` opens one transaction per save and numbers task runs from a cache it
owns. In a cluster several executors write the same execution in turn, so nothing may be cached
across transactions without a check: every write bumps `executions.version`, and whoever kept a
copy compares versions under the row lock before trusting it. Everything here takes the
connection of a transaction that the caller commits together with its queue rows (the outbox).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from lanner.model.execution import Execution, TaskRun
from lanner.model.results import LogEntry
from lanner.model.state import TERMINATED_NAMES
from lanner.storage import bulk_rows, tables
from lanner.storage.repository import dumps, header_row, log_row


def lock(conn: sa.Connection, ids: Sequence[str], limit: int | None = None) -> dict[str, int]:
    """Row-lock up to `limit` of these executions, skipping those another executor holds; id → version."""
    t = tables.executions
    q = sa.select(t.c.id, t.c.version).where(t.c.id.in_(list(ids)))
    if limit is not None:
        q = q.limit(limit)
    q = q.with_for_update(skip_locked=True)
    return {r.id: int(r.version) for r in conn.execute(q)}


# PostgreSQL: each execution with its task runs (in creation order) as an array, in one round trip.
_LOAD = sa.text(
    "SELECT e.id, e.data, e.version, "
    "ARRAY(SELECT r.data FROM task_runs AS r WHERE r.execution_id = e.id ORDER BY r.seq) AS runs "
    "FROM executions AS e WHERE e.id = ANY(CAST(:ids AS text[]))")


def load(conn: sa.Connection, ids: Sequence[str]) -> dict[str, tuple[Execution, int]]:
    """Executions with their task runs (in creation order) and versions: one query on PostgreSQL, two
    elsewhere."""
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        return {r.id: (Execution.from_json(json.loads(r.data), [json.loads(d) for d in r.runs]), int(r.version))
                for r in conn.execute(_LOAD, {"ids": list(ids)})}
    t, tr = tables.executions, tables.task_runs
    heads = conn.execute(sa.select(t.c.id, t.c.data, t.c.version).where(t.c.id.in_(list(ids)))).all()
    runs: dict[str, list[dict[str, Any]]] = {h.id: [] for h in heads}
    q = sa.select(tr.c.execution_id, tr.c.data).where(tr.c.execution_id.in_(list(runs))).order_by(
        tr.c.execution_id, tr.c.seq)
    for r in conn.execute(q):
        runs[r.execution_id].append(json.loads(r.data))
    return {h.id: (Execution.from_json(json.loads(h.data), runs[h.id]), int(h.version)) for h in heads}


def insert(conn: sa.Connection, exe: Execution,
           insert_later: Callable[[sa.Table, list[dict[str, Any]]], None] | None = None) -> None:
    """A new execution (CREATED; its task runs, if any, too). `insert_later` (the cluster's
    `Tx.insert_later`) takes the row of one without task runs, to insert it with the transaction's
    other rows at its end, when nothing in it reads the execution meanwhile."""
    row = {"id": exe.id, "version": 0, **header_row(exe)}
    if insert_later is not None and not exe.task_runs:
        insert_later(tables.executions, [row])
        return
    conn.execute(tables.executions.insert().values(**row))
    if exe.task_runs:
        write_runs(conn, exe, [(i, r) for i, r in enumerate(exe.task_runs)], [])


def write(conn: sa.Connection, writes: Iterable[tuple[Execution, int, list[tuple[int, TaskRun]], list[TaskRun]]],
          insert_later: Callable[[sa.Table, list[dict[str, Any]]], None] | None = None) -> None:
    """Headers (with their new versions), new task runs (with their seq) and changed ones, batched.
    `insert_later` (the cluster's `Tx.insert_later`) takes the new task runs' rows, to insert them
    with the transaction's other rows at its end, when nothing in it reads them meanwhile."""
    heads: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for exe, version, new_runs, changed_runs in writes:
        heads.append({"xid": exe.id, "xversion": version, **{f"x{k}": v for k, v in header_row(exe).items()}})
        new.extend(_run_row(exe, r, seq) for seq, r in new_runs)
        changed.extend({"rid": r.id, "rstate": r.current.value, "rdata": dumps(r.to_json())} for r in changed_runs)
    t, tr = tables.executions, tables.task_runs
    if conn.dialect.name == "postgresql":
        _write_postgres(conn, heads, changed)
        heads, changed = [], []
    if heads:
        conn.execute(t.update().where(t.c.id == sa.bindparam("xid")).values(
            version=sa.bindparam("xversion"), namespace=sa.bindparam("xnamespace"),
            flow_id=sa.bindparam("xflow_id"), state=sa.bindparam("xstate"),
            start_date=sa.bindparam("xstart_date"), end_date=sa.bindparam("xend_date"),
            data=sa.bindparam("xdata")), heads)
    if new and insert_later is not None:
        insert_later(tr, new)
    elif new:
        bulk_rows.insert(conn, tr, new)
    if changed:
        conn.execute(tr.update().where(tr.c.id == sa.bindparam("rid")).values(
            state=sa.bindparam("rstate"), data=sa.bindparam("rdata")), changed)


# One statement per table however many rows: the rows travel as one JSON array (a pipelined
# executemany costs the client a bind, a send and a result per row, and a text[] array escapes
# every quote of the JSON documents it carries, one regex substitution at a time).
_HEADS = sa.text(
    "UPDATE executions AS t SET version = v.version, namespace = v.namespace, flow_id = v.flow_id, "
    "state = v.state, start_date = v.start_date, end_date = v.end_date, data = v.data "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(id text, version int, namespace text, flow_id text, "
    "state text, start_date text, end_date text, data text) WHERE t.id = v.id")
_RUNS = sa.text(
    "UPDATE task_runs AS t SET state = v.state, data = v.data "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(id text, state text, data text) WHERE t.id = v.id")


def _write_postgres(conn: sa.Connection, heads: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    if heads:
        conn.execute(_HEADS, {"rows": bulk_rows.encode([{k[1:]: v for k, v in h.items()} for h in heads])})
    if changed:
        conn.execute(_RUNS, {"rows": bulk_rows.encode([{"id": c["rid"], "state": c["rstate"], "data": c["rdata"]}
                                                      for c in changed])})


def write_runs(conn: sa.Connection, exe: Execution, new_runs: list[tuple[int, TaskRun]],
               changed_runs: list[TaskRun]) -> None:
    if new_runs:
        conn.execute(tables.task_runs.insert(), [_run_row(exe, r, seq) for seq, r in new_runs])
    if changed_runs:
        tr = tables.task_runs
        conn.execute(tr.update().where(tr.c.id == sa.bindparam("rid")).values(
            state=sa.bindparam("rstate"), data=sa.bindparam("rdata")),
            [{"rid": r.id, "rstate": r.current.value, "rdata": dumps(r.to_json())} for r in changed_runs])


def _run_row(exe: Execution, run: TaskRun, seq: int) -> dict[str, Any]:
    return {"id": run.id, "execution_id": exe.id, "seq": seq, "state": run.current.value, "data": dumps(run.to_json())}


def add_logs(conn: sa.Connection, entries: Iterable[LogEntry]) -> None:
    bulk_rows.insert(conn, tables.logs, log_rows(entries))


def log_rows(entries: Iterable[LogEntry]) -> list[dict[str, Any]]:
    """Rows of `tables.logs` (for a caller that inserts them with others in one statement)."""
    return [log_row(e) for e in entries]


def error_logs(conn: sa.Connection, execution_id: str) -> list[dict[str, Any]]:
    """ERROR lines of an execution, as `errorLogs()` returns them."""
    t = tables.logs
    q = sa.select(t).where(t.c.execution_id == execution_id, t.c.level == "ERROR").order_by(t.c.seq)
    return [{"taskId": r.task_id, "taskRunId": r.task_run_id, "message": r.message, "level": r.level,
             "timestamp": r.timestamp} for r in conn.execute(q)]


def unfinished_runs(conn: sa.Connection, execution_id: str) -> int:
    """How many task runs of the execution are not terminal (0 once everything, afterExecution too, ended)."""
    tr = tables.task_runs
    q = sa.select(sa.func.count()).select_from(tr).where(tr.c.execution_id == execution_id,
                                                         tr.c.state.not_in(TERMINATED_NAMES))
    return int(conn.execute(q).scalar() or 0)
