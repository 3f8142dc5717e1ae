"""Execution statistics for the dashboard, aggregated in the database (SQLite and PostgreSQL).

Counts by state per time bucket, durations (min / avg / max / median / p95) per bucket, counts by
state over the whole range, the flows that failed most, and the latest failures with their first
error line. Each figure is one SQL statement over the executions the filter selects, so the cost
grows with the rows in the range, not with the history; nothing is loaded into Python but the
aggregates.

Buckets are hours, days or months cut from the stored start date text (`state.iso()`: UTC with a
`Z`), so in UTC bucketing needs no date function per row; for another wall clock (a fixed offset
from UTC, the browser's) the text is first moved by that offset.
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


def bucket_starts(start: dt.datetime, end: dt.datetime, group_by: str, offset: int = 0) -> list[dt.datetime]:
    """Every bucket from the one holding `start` to the one holding `end`, in order: hours, days
    or months of the wall clock `offset` minutes east of UTC (aware datetimes at that offset)."""
    zone = dt.timezone(dt.timedelta(minutes=offset))
    at = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
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


def _bucket(engine: sa.Engine, start: Any, cut: int, offset: int) -> Any:
    """The bucket of a stored start date (UTC text with `Z`): its first `cut` characters once
    moved `offset` minutes east — at offset 0 the text itself, with no date function per row."""
    if not offset:
        return sa.func.substr(start, 1, cut)
    if engine.dialect.name == "postgresql":  # a `timestamp` cast ignores the `Z`: the UTC wall clock
        shift: Any = sa.literal_column(f"interval '{int(offset)} minutes'")  # an int: nothing to quote
        moved = sa.cast(start, sa.TIMESTAMP(timezone=False)) + shift
        return sa.func.substr(sa.func.to_char(moved, 'YYYY-MM-DD"T"HH24:MI:SS'), 1, cut)
    return sa.func.substr(sa.func.strftime("%Y-%m-%dT%H:%M:%S", start, f"{offset:+d} minutes"), 1, cut)


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

    def dashboard(self, f: ExecutionFilter, group_by: str, offset: int = 0) -> Dashboard:
        """The figures for the executions `f` selects, whose range (start_date/end_date) must be
        set, in buckets of the wall clock `offset` minutes east of UTC."""
        assert f.start_date is not None and f.end_date is not None
        starts = bucket_starts(f.start_date, f.end_date, group_by, offset)
        t = tables.executions
        cond = self.queries._where(f)
        with self.engine.connect() as conn:
            cells = conn.execute(self._cells(cond, GROUPS[group_by], offset)).all()
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
                "startDate": at.isoformat().replace("+00:00", "Z"), "groupBy": group_by,
                "executionCounts": _empty_counts(),
                "duration": {"count": 0, "min": None, "avg": None, "max": None, "sum": 0.0,
                             "median": None, "p95": None}}
        counts = _empty_counts()
        for row in cells:
            counts[row.state] = counts.get(row.state, 0) + int(row.n)
            bucket = by_key.get(row.bucket)
            if bucket is None:
                continue
            bucket["executionCounts"][row.state] = bucket["executionCounts"].get(row.state, 0) + int(row.n)
            if row.ended:  # a bucket's figures from its cells: the rank rows fall in exactly one cell
                dur = bucket["duration"]
                dur["count"] += int(row.ended)
                dur["sum"] += float(row.sum)
                dur["min"] = _least(dur["min"], _num(row.min), min)
                dur["max"] = _least(dur["max"], _num(row.max), max)
                dur["median"] = _least(dur["median"], _num(row.median), max)
                dur["p95"] = _least(dur["p95"], _num(row.p95), max)
        for bucket in by_key.values():
            dur = bucket["duration"]
            if dur["count"]:
                dur["avg"] = round(dur["sum"] / dur["count"], 3)
                dur["sum"] = round(dur["sum"], 3)
        return Dashboard(
            group_by=group_by, buckets=list(by_key.values()), counts=counts,
            top_failing=[{"namespace": r.namespace, "flowId": r.flow_id, "count": int(r.n)} for r in top],
            latest_failures=[{"id": r.id, "namespace": r.namespace, "flowId": r.flow_id, "startDate": r.start_date,
                              "endDate": r.end_date, **errors.get(r.id, {"taskId": None, "error": None})}
                             for r in latest])

    def _cells(self, cond: list[Any], cut: int, offset: int) -> Any:
        """One row per (bucket, state): how many executions, how many ended, their min/max/sum
        seconds, and the bucket's median and p95 duration when that execution is in this cell.

        One scan and one sort for every figure: the durations are ranked within the bucket (ended
        ones first, in order; those still running rank after them and count for nothing)."""
        t = tables.executions
        seconds = _seconds(self.engine, t.c.start_date, t.c.end_date)
        bucket = _bucket(self.engine, t.c.start_date, cut, offset)
        rows = (sa.select(bucket.label("bucket"), t.c.state, seconds.label("dur"))
                .where(*cond, t.c.start_date.is_not(None)).subquery("picked"))
        order = [sa.case((rows.c.dur.is_(None), 1), else_=0), rows.c.dur]
        ranked = sa.select(
            rows.c.bucket, rows.c.state, rows.c.dur,
            sa.func.row_number().over(partition_by=rows.c.bucket, order_by=order).label("rn"),
            sa.func.count(rows.c.dur).over(partition_by=rows.c.bucket, order_by=order,
                                           rows=(None, None)).label("total"),
        ).subquery("ranked")
        # nearest rank: ceil(p * n) in integer arithmetic, the same on both databases
        median_rank = (ranked.c.total * 50 + 99) // 100
        p95_rank = (ranked.c.total * 95 + 99) // 100
        return (sa.select(ranked.c.bucket, ranked.c.state, sa.func.count().label("n"),
                          sa.func.count(ranked.c.dur).label("ended"), sa.func.min(ranked.c.dur).label("min"),
                          sa.func.max(ranked.c.dur).label("max"), sa.func.sum(ranked.c.dur).label("sum"),
                          sa.func.max(sa.case((sa.and_(ranked.c.dur.is_not(None), ranked.c.rn == median_rank),
                                               ranked.c.dur))).label("median"),
                          sa.func.max(sa.case((sa.and_(ranked.c.dur.is_not(None), ranked.c.rn == p95_rank),
                                               ranked.c.dur))).label("p95"))
                .group_by(ranked.c.bucket, ranked.c.state))

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


def _least(current: float | None, value: float | None, pick: Any) -> float | None:
    """`pick(current, value)` where either may be missing."""
    if value is None:
        return current
    return value if current is None else pick(current, value)


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
