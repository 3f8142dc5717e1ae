"""Reads and maintenance the API needs beyond `Repository`: paged search with filters, deletion,
log pages after a sequence number (for live follow), and rewriting an execution's task runs
(restart).

Kept apart from `Repository` on purpose: `Repository` caches task-run sequence numbers for the
executor loop, and the API must never disturb that cache from its own threads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from lanner.model.execution import Execution
from lanner.storage import tables

SORTABLE = {"startDate": "start_date", "state.startDate": "start_date", "endDate": "end_date",
            "state.endDate": "end_date", "id": "id", "flowId": "flow_id", "namespace": "namespace",
            "state": "state", "state.current": "state"}


@dataclasses.dataclass(slots=True)
class ExecutionFilter:
    """Kestra's search parameters for executions."""

    q: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    states: Sequence[str] = ()
    start_date: dt.datetime | None = None  # aware; executions started at or after this instant
    end_date: dt.datetime | None = None  # aware; executions started at or before this instant
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    trigger_execution_id: str | None = None


@dataclasses.dataclass(slots=True)
class LogFilter:
    """Kestra's search parameters for logs (LogController `search`)."""

    q: str | None = None  # text within the message
    namespace: str | None = None  # this namespace and those under it
    flow_id: str | None = None
    execution_id: str | None = None
    min_level: str | None = None  # upper-case, one of LEVELS
    start_date: dt.datetime | None = None  # aware; lines written at or after this instant
    end_date: dt.datetime | None = None  # aware; lines written at or before this instant


def _second(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _at_or_after(column: Any, instant: dt.datetime) -> Any:
    """`column >= instant` for dates stored as `state.iso()` text (UTC, `Z`, with 0, 3 or 6
    fraction digits), compared as instants: by second, then by the fraction digits without the
    `Z` (decimal fractions compare as text once the trailing zeros of the bound are gone). The
    plain `column >= second` first keeps the start_date index useful."""
    second = _second(instant)
    cond = column >= second
    if not instant.microsecond:
        return cond
    fraction = "." + f"{instant.microsecond:06d}".rstrip("0")
    head = sa.func.substr(column, 1, 19)
    tail = sa.func.substr(column, 20, sa.func.length(column) - 20)
    return sa.and_(cond, sa.or_(head > second, tail >= fraction))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ExecutionQueries:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- search ------------------------------------------------------------------------------

    def _where(self, f: ExecutionFilter) -> list[Any]:
        t = tables.executions
        cond: list[Any] = []
        if f.q:
            like = f"%{_like_escape(f.q)}%"
            cond.append(sa.or_(t.c.id.like(like, escape="\\"), t.c.flow_id.like(like, escape="\\"),
                               t.c.namespace.like(like, escape="\\")))
        if f.namespace:
            cond.append(sa.or_(t.c.namespace == f.namespace,
                               t.c.namespace.like(_like_escape(f.namespace) + ".%", escape="\\")))
        if f.flow_id:
            cond.append(t.c.flow_id == f.flow_id)
        if f.states:
            cond.append(t.c.state.in_([s.upper() for s in f.states]))
        if f.start_date is not None:
            cond.append(_at_or_after(t.c.start_date, f.start_date))
        if f.end_date is not None:
            cond.append(sa.and_(t.c.start_date <= _second(f.end_date) + "Z",
                                sa.not_(_at_or_after(t.c.start_date, f.end_date + dt.timedelta(microseconds=1)))))
        for key, value in f.labels.items():
            text = json.dumps({"key": key, "value": value}, separators=(",", ":"))
            cond.append(t.c.data.like(f"%{_like_escape(text)}%", escape="\\"))
        if f.trigger_execution_id:
            text = json.dumps({"executionId": f.trigger_execution_id}, separators=(",", ":"))[1:-1]
            cond.append(t.c.data.like(f"%{_like_escape(text)}%", escape="\\"))
        return cond

    def _page(self, f: ExecutionFilter, page: int, size: int, sort: str | None) -> tuple[Any, Any]:
        """The query of one page of executions (newest first unless `sort` says otherwise) and the
        query of their count."""
        t = tables.executions
        cond = self._where(f)
        column, direction = t.c.start_date, "desc"
        if sort:  # checked by the caller (parse_sort)
            name, _, direction = sort.partition(":")
            column = getattr(t.c, SORTABLE[name])
            direction = direction or "desc"
        order = column.asc() if direction.lower() == "asc" else column.desc()
        q = sa.select(t.c.id, t.c.data).where(*cond).order_by(order, t.c.id).limit(size).offset((page - 1) * size)
        return q, sa.select(sa.func.count()).select_from(t).where(*cond)

    def search(self, f: ExecutionFilter, page: int = 1, size: int = 25, sort: str | None = None,
               with_task_runs: bool = True) -> tuple[list[Execution], int]:
        """One page of executions (newest first unless `sort` says otherwise) and the total count."""
        q, count_q = self._page(f, page, size, sort)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            total = int(conn.execute(count_q).scalar() or 0)
            runs: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
            if with_task_runs and rows:
                tr = tables.task_runs
                for r in conn.execute(sa.select(tr.c.execution_id, tr.c.data)
                                      .where(tr.c.execution_id.in_(list(runs))).order_by(tr.c.seq)):
                    runs[r.execution_id].append(json.loads(r.data))
        return [Execution.from_json(json.loads(r.data), runs[r.id]) for r in rows], total

    def get(self, execution_id: str, with_task_runs: bool = True) -> Execution | None:
        """An execution with its task runs (a read that leaves the executor's caches alone); without
        them when only its header is needed (which flow revision it runs: one row, not 10,000)."""
        stored = self.get_stored(execution_id, with_task_runs)
        return None if stored is None else Execution.from_json(*stored)

    def get_stored(self, execution_id: str, with_task_runs: bool = True
                   ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """An execution's header and task runs as stored (each run's `to_json()` when it was last
        written), without building the model: for an ended execution this is its JSON, read in a
        fifth of the time a model round trip takes for 10,000 task runs."""
        t, tr = tables.executions, tables.task_runs
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.data).where(t.c.id == execution_id)).first()
            if row is None:
                return None
            runs = conn.execute(sa.select(tr.c.data).where(tr.c.execution_id == execution_id)
                                .order_by(tr.c.seq)).all() if with_task_runs else []
        return json.loads(row.data), [json.loads(r.data) for r in runs]

    def snapshot(self) -> ReadSnapshot:
        """Reads from one snapshot of the database, for an answer written while it is read."""
        return ReadSnapshot(self)

    def state_of(self, execution_id: str) -> str | None:
        t = tables.executions
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.c.state).where(t.c.id == execution_id)).scalar()

    def unfinished(self, namespace: str, flow_id: str) -> int:
        """How many executions of the flow have not ended (created, queued, running, paused…)."""
        from lanner.model.state import TERMINATED_NAMES

        t = tables.executions
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(
                t.c.namespace == namespace, t.c.flow_id == flow_id,
                t.c.state.not_in(TERMINATED_NAMES))).scalar() or 0)

    def exists(self, execution_id: str) -> bool:
        return self.state_of(execution_id) is not None

    # -- changes -----------------------------------------------------------------------------

    def delete(self, execution_id: str, logs: bool = True) -> bool:
        t = tables.executions
        with self.engine.begin() as conn:
            count = conn.execute(t.delete().where(t.c.id == execution_id)).rowcount
            conn.execute(tables.task_runs.delete().where(tables.task_runs.c.execution_id == execution_id))
            conn.execute(tables.commands.delete().where(tables.commands.c.execution_id == execution_id))
            if logs:
                conn.execute(tables.logs.delete().where(tables.logs.c.execution_id == execution_id))
        return bool(count)

    def purge(self, execution_id: str, execution: bool, logs: bool) -> tuple[bool, int]:
        """Delete an ended execution's rows (with `execution`) and its logs (with `logs`), in one
        transaction; whether the execution was deleted and how many log lines were."""
        t, lg = tables.executions, tables.logs
        with self.engine.begin() as conn:
            log_count = 0
            if logs:
                log_count = conn.execute(lg.delete().where(lg.c.execution_id == execution_id)).rowcount
            deleted = False
            if execution:
                deleted = bool(conn.execute(t.delete().where(t.c.id == execution_id)).rowcount)
                for table in (tables.task_runs, tables.commands, tables.attempt_results):
                    conn.execute(table.delete().where(table.c.execution_id == execution_id))
        return deleted, log_count

    def purge_logs(self, f: ExecutionFilter, execution_id: str | None, levels: Sequence[str],
                   start: dt.datetime | None, end: dt.datetime, keep_execution: str) -> int:
        """Delete the log lines of the executions `f` selects (and `execution_id`, if given), at
        `levels` (all when empty), written between `start` and `end`; never those of
        `keep_execution`. How many were deleted."""
        lg, t = tables.logs, tables.executions
        chosen = sa.select(t.c.id).where(*self._where(f))
        cond: list[Any] = [lg.c.execution_id.in_(chosen), lg.c.execution_id != keep_execution,
                           sa.not_(_at_or_after(lg.c.timestamp, end + dt.timedelta(microseconds=1)))]
        if execution_id is not None:
            cond.append(lg.c.execution_id == execution_id)
        if levels:
            cond.append(lg.c.level.in_([level.upper() for level in levels]))
        if start is not None:
            cond.append(_at_or_after(lg.c.timestamp, start))
        with self.engine.begin() as conn:
            return int(conn.execute(lg.delete().where(*cond)).rowcount)

    def rewrite_task_runs(self, exe: Execution) -> None:
        """Replace every stored task run of `exe` by its current list, renumbered (restart)."""
        tr = tables.task_runs
        rows = [{"id": r.id, "execution_id": exe.id, "seq": i, "state": r.current.value,
                 "data": json.dumps(r.to_json(), separators=(",", ":"), default=str)}
                for i, r in enumerate(exe.task_runs)]
        with self.engine.begin() as conn:
            conn.execute(tr.delete().where(tr.c.execution_id == exe.id))
            if rows:
                conn.execute(tr.insert(), rows)

    # -- logs --------------------------------------------------------------------------------

    def logs(self, execution_id: str, min_level: str | None = None, task_id: str | None = None,
             task_run_id: str | None = None, attempt: int | None = None, after_seq: int = 0,
             limit: int | None = None) -> list[dict[str, Any]]:
        """Log rows in order, optionally only those after `after_seq` (follow mode)."""
        from lanner.model.results import LEVEL_RANK, LEVELS

        t = tables.logs
        q = sa.select(t).where(t.c.execution_id == execution_id, t.c.seq > after_seq).order_by(t.c.seq)
        if min_level and min_level.upper() in LEVEL_RANK:
            q = q.where(t.c.level.in_(LEVELS[LEVEL_RANK[min_level.upper()]:]))
        if task_id:
            q = q.where(t.c.task_id == task_id)
        if task_run_id:
            q = q.where(t.c.task_run_id == task_run_id)
        if attempt is not None:
            q = q.where(t.c.attempt == attempt)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def search_logs(self, f: LogFilter, page: int = 1, size: int = 25,
                    newest_first: bool = True) -> tuple[list[tuple[dict[str, Any], str, str]], int]:
        """One page of log rows across executions, each with its execution's namespace and flow id,
        and the total count. The filter's namespace and flow go through the executions table:
        log rows do not repeat them."""
        from lanner.model.results import LEVEL_RANK, LEVELS

        lg, t = tables.logs, tables.executions
        cond: list[Any] = [lg.c.execution_id == t.c.id]
        if f.namespace:
            cond.append(sa.or_(t.c.namespace == f.namespace,
                               t.c.namespace.like(_like_escape(f.namespace) + ".%", escape="\\")))
        if f.flow_id:
            cond.append(t.c.flow_id == f.flow_id)
        if f.execution_id:
            cond.append(lg.c.execution_id == f.execution_id)
        if f.min_level:
            cond.append(lg.c.level.in_(LEVELS[LEVEL_RANK[f.min_level]:]))
        if f.start_date is not None:
            cond.append(_at_or_after(lg.c.timestamp, f.start_date))
        if f.end_date is not None:
            cond.append(sa.not_(_at_or_after(lg.c.timestamp, f.end_date + dt.timedelta(microseconds=1))))
        if f.q:
            cond.append(lg.c.message.like(f"%{_like_escape(f.q)}%", escape="\\"))
        order = lg.c.seq.desc() if newest_first else lg.c.seq.asc()
        q = (sa.select(lg, t.c.namespace.label("exe_namespace"), t.c.flow_id.label("exe_flow_id")).where(*cond)
             .order_by(order).limit(size).offset((page - 1) * size))
        with self.engine.connect() as conn:
            rows = [(dict(r._mapping), r.exe_namespace, r.exe_flow_id) for r in conn.execute(q)]
            total = int(conn.execute(sa.select(sa.func.count()).select_from(lg).join(t, lg.c.execution_id == t.c.id)
                                     .where(*cond)).scalar() or 0)
        return rows, total

    def namespaces(self) -> list[str]:
        t = tables.executions
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(t.c.namespace).distinct().order_by(t.c.namespace))]


class ReadSnapshot:
    """Reads of executions from one snapshot of the database: the API's answers for ended ones,
    whose task runs (86 MB of JSON for 100,000) are written while they are read, a page at a time.

    All reads go through one read transaction (SQLite: a deferred `BEGIN`, whose snapshot is the
    first read's; PostgreSQL: REPEATABLE READ), kept open with its connection until `close`: an
    execution restarted or deleted while a long answer is written is answered as it stood when the
    answer began, never as its old header with its new task runs. Its reads may come from different
    threads, one at a time (a streamed HTTP answer). SQLite cannot checkpoint its write-ahead log
    past an open snapshot: answers hold one for the seconds they take, no longer.
    """

    def __init__(self, queries: ExecutionQueries) -> None:
        self._queries = queries
        conn = queries.engine.connect()
        try:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot, not one a statement
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def header(self, execution_id: str) -> dict[str, Any] | None:
        """An execution's header as stored (its JSON without task runs), or None."""
        t = tables.executions
        row = self._conn.execute(sa.select(t.c.data).where(t.c.id == execution_id)).first()
        return None if row is None else json.loads(row.data)

    def page(self, f: ExecutionFilter, page: int, size: int, sort: str | None) -> tuple[list[dict[str, Any]], int]:
        """The headers of one page of a search (`ExecutionQueries.search`'s order) and its total count."""
        q, count_q = self._queries._page(f, page, size, sort)
        rows = self._conn.execute(q).all()
        return [json.loads(r.data) for r in rows], int(self._conn.execute(count_q).scalar() or 0)

    def unended(self, execution_ids: Sequence[str]) -> dict[str, int]:
        """How many task runs of each execution have not ended (absent: none)."""
        from lanner.model.state import TERMINATED_NAMES

        if not execution_ids:
            return {}
        tr = tables.task_runs
        rows = self._conn.execute(sa.select(tr.c.execution_id, sa.func.count()).where(
            tr.c.execution_id.in_(list(execution_ids)), tr.c.state.not_in(TERMINATED_NAMES))
            .group_by(tr.c.execution_id))
        return {r[0]: int(r[1]) for r in rows}

    def runs(self, execution_id: str, page: int = 1000) -> Iterator[list[dict[str, Any]]]:
        """An execution's task runs as stored, in order, `page` at a time (through one cursor: the
        memory does not grow with their number); read each to its end before the next read."""
        tr = tables.task_runs
        query = sa.select(tr.c.data).where(tr.c.execution_id == execution_id).order_by(tr.c.seq)
        for rows in self._conn.execute(query.execution_options(yield_per=page)).partitions():
            yield [json.loads(r.data) for r in rows]

    def close(self) -> None:
        """End the snapshot (its transaction is rolled back: it only read) and give its connection back."""
        self._conn.close()
