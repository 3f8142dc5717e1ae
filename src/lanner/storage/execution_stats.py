"""Execution statistics for the dashboard, aggregated in the database (SQLite and PostgreSQL).

Counts by state per time bucket, durations (min / avg / max / median / p95) per bucket, counts by
state over the whole range, the flows that failed most, and the latest failures with their first
error line. Each figure is one SQL statement over the executions the filter selects, so the cost
grows with the rows in the range, not with the history; nothing is loaded into Python but the
aggregates.

Buckets are UTC hours, days or months cut from the stored start date text (`state.iso()`: UTC
with a `Z`), so bucketing needs no date function and uses the same index as the range filter.
Percentiles are nearest-rank (the smallest duration with at least p % of the bucket at or below
it), computed with window functions both databases have.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from lanner.model.state import StateType
from lanner.storage import tables
from lanner.storage.execution_queries import ExecutionFilter, ExecutionQueries

# groupBy → (characters of the ISO start date that name the bucket, the bucket's length as a step)
GROUPS: dict[str, int] = {"hour": 13, "day": 10, "month": 7}
MAX_BUCKETS = 2_000
TOP = 10


@dataclasses.dataclass(slots=True)
class Dashboard:
    """The dashboard's figures over one range (see module doc)."""

    group_by: str
    buckets: list[dict[str, Any]]
    counts: dict[str, int]
    top_failing: list[dict[str, Any]]
    latest_failures: list[dict[str, Any]]


def auto_group(start: dt.datetime, end: dt.datetime) -> str:
    """Hours up to two days, days up to about three months, months beyond."""
    span = end - start
    if span <= dt.timedelta(days=2):
        return "hour"
    return "day" if span <= dt.timedelta(days=93) else "month"


def bucket_starts(start: dt.datetime, end: dt.datetime, group_by: str) -> list[dt.datetime]:
    """Every bucket (UTC) from the one holding `start` to the one holding `end`, in order."""
    at = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if group_by != "hour":
        at = at.replace(hour=0)
    if group_by == "month":
        at = at.replace(day=1)
    out = []
    while at <= end:
        out.append(at)
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {group_by}s")
        if group_by == "hour":
            at += dt.timedelta(hours=1)
        elif group_by == "day":
            at += dt.timedelta(days=1)
        else:
            at = (at.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _key(instant: dt.datetime, group_by: str) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S")[:GROUPS[group_by]]


def _seconds(engine: sa.Engine, start: Any, end: Any) -> Any:
    """`end - start` in seconds, for ISO texts ending in `Z`."""
    if engine.dialect.name == "postgresql":
        instant = sa.TIMESTAMP(timezone=True)
        return sa.extract("epoch", sa.cast(end, instant) - sa.cast(start, instant))
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _empty_counts() -> dict[str, int]:
    return {s.value: 0 for s in StateType}


class ExecutionStats:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.queries = ExecutionQueries(engine)

    def dashboard(self, f: ExecutionFilter, group_by: str) -> Dashboard:
        """The figures for the executions `f` selects, whose range (start_date/end_date) must be set."""
        assert f.start_date is not None and f.end_date is not None
        starts = bucket_starts(f.start_date, f.end_date, group_by)
        t = tables.executions
        cond = self.queries._where(f)
        cut = GROUPS[group_by]
        bucket = sa.func.substr(t.c.start_date, 1, cut).label("bucket")
        with self.engine.connect() as conn:
            per_state = conn.execute(sa.select(bucket, t.c.state, sa.func.count().label("n"))
                                     .where(*cond).group_by(bucket, t.c.state)).all()
            durations = conn.execute(self._durations(cond, cut)).all()
            top = conn.execute(sa.select(t.c.namespace, t.c.flow_id, sa.func.count().label("n"))
                               .where(*cond, t.c.state == StateType.FAILED.value)
                               .group_by(t.c.namespace, t.c.flow_id)
                               .order_by(sa.desc("n"), t.c.namespace, t.c.flow_id).limit(TOP)).all()
            latest = conn.execute(sa.select(t.c.id, t.c.namespace, t.c.flow_id, t.c.start_date, t.c.end_date)
                                  .where(*cond, t.c.state == StateType.FAILED.value)
                                  .order_by(t.c.start_date.desc(), t.c.id).limit(TOP)).all()
            errors = self._first_errors(conn, [r.id for r in latest])
        by_key: dict[str, dict[str, Any]] = {}
        for at in starts:
            by_key[_key(at, group_by)] = {
                "startDate": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "groupBy": group_by,
                "executionCounts": _empty_counts(),
                "duration": {"count": 0, "min": None, "avg": None, "max": None, "sum": 0.0,
                             "median": None, "p95": None}}
        counts = _empty_counts()
        for row in per_state:
            counts[row.state] = counts.get(row.state, 0) + int(row.n)
            if row.bucket in by_key:
                per = by_key[row.bucket]["executionCounts"]
                per[row.state] = per.get(row.state, 0) + int(row.n)
        for row in durations:
            if row.bucket in by_key:
                by_key[row.bucket]["duration"] = {
                    "count": int(row.n), "min": _num(row.min), "avg": _num(row.avg), "max": _num(row.max),
                    "sum": _num(row.sum) or 0.0, "median": _num(row.median), "p95": _num(row.p95)}
        return Dashboard(
            group_by=group_by, buckets=list(by_key.values()), counts=counts,
            top_failing=[{"namespace": r.namespace, "flowId": r.flow_id, "count": int(r.n)} for r in top],
            latest_failures=[{"id": r.id, "namespace": r.namespace, "flowId": r.flow_id, "startDate": r.start_date,
                              "endDate": r.end_date, **errors.get(r.id, {"taskId": None, "error": None})}
                             for r in latest])

    def _durations(self, cond: list[Any], cut: int) -> Any:
        """Per bucket: how many ended executions, and their min/avg/max/sum/median/p95 seconds."""
        t = tables.executions
        seconds = _seconds(self.engine, t.c.start_date, t.c.end_date)
        ended = (sa.select(sa.func.substr(t.c.start_date, 1, cut).label("bucket"), seconds.label("dur"))
                 .where(*cond, t.c.end_date.is_not(None), t.c.start_date.is_not(None)).subquery("ended"))
        ranked = sa.select(
            ended.c.bucket, ended.c.dur,
            sa.func.row_number().over(partition_by=ended.c.bucket, order_by=ended.c.dur).label("rn"),
            sa.func.count().over(partition_by=ended.c.bucket).label("total"),
        ).subquery("ranked")
        # nearest rank: ceil(p * n) in integer arithmetic, the same on both databases
        median_rank = (ranked.c.total * 50 + 99) // 100
        p95_rank = (ranked.c.total * 95 + 99) // 100
        return (sa.select(ranked.c.bucket, sa.func.count().label("n"), sa.func.min(ranked.c.dur).label("min"),
                          sa.func.avg(ranked.c.dur).label("avg"), sa.func.max(ranked.c.dur).label("max"),
                          sa.func.sum(ranked.c.dur).label("sum"),
                          sa.func.max(sa.case((ranked.c.rn == median_rank, ranked.c.dur))).label("median"),
                          sa.func.max(sa.case((ranked.c.rn == p95_rank, ranked.c.dur))).label("p95"))
                .group_by(ranked.c.bucket))

    def _first_errors(self, conn: sa.Connection, execution_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The first ERROR log line of each execution, and the task that wrote it."""
        if not execution_ids:
            return {}
        lg = tables.logs
        first = (sa.select(sa.func.min(lg.c.seq))
                 .where(lg.c.execution_id.in_(execution_ids), lg.c.level == "ERROR")
                 .group_by(lg.c.execution_id))
        rows = conn.execute(sa.select(lg.c.execution_id, lg.c.task_id, lg.c.message).where(lg.c.seq.in_(first))).all()
        return {r.execution_id: {"taskId": r.task_id, "error": r.message[:2000]} for r in rows}


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
