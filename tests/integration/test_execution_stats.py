"""The dashboard's aggregates, computed by SQL on SQLite and PostgreSQL: counts by state per
bucket and over the range, nearest-rank median and p95 durations, top failing flows, and the
latest failures with their first ERROR line — checked against the same figures computed in Python
from the rows inserted."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from lanner.model.state import iso
from lanner.storage import tables
from lanner.storage.execution_queries import ExecutionFilter
from lanner.storage.execution_stats import ExecutionStats
from tests.integration.cluster.databases import open_postgres, sqlite_url

DAY0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
STATES = ["SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "WARNING", "KILLED", "RUNNING"]


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    from lanner.storage import cluster_db, db

    if request.param == "sqlite":
        eng = db.connect(sqlite_url(tmp_path_factory.mktemp("stats")))  # migrates
        yield eng
        eng.dispose()
        return
    dbs = open_postgres()
    eng = cluster_db.open_engine(dbs.new())
    yield eng
    eng.dispose()
    dbs.close()


def _row(i: int, start: dt.datetime, seconds: float | None, state: str, flow: str,
         labels: dict[str, str] | None = None) -> dict[str, object]:
    end = start + dt.timedelta(seconds=seconds) if seconds is not None else None
    data = {"id": f"e{i:06d}", "labels": [{"key": k, "value": v} for k, v in (labels or {}).items()]}
    return {"id": f"e{i:06d}", "namespace": "company.stats", "flow_id": flow, "state": state,
            "start_date": iso(start), "end_date": iso(end) if end else None,
            "data": json.dumps(data, separators=(",", ":"))}


@pytest.fixture(scope="module")
def rows(engine: sa.Engine) -> list[dict[str, object]]:
    rnd = random.Random(13)
    out = []
    for i in range(600):
        start = DAY0 + dt.timedelta(days=rnd.randrange(7), seconds=rnd.randrange(86400),
                                    microseconds=rnd.choice([0, 1000, 123456]))
        state = rnd.choice(STATES)
        seconds = None if state == "RUNNING" else rnd.choice([0.5, 1, 2, 3, 5, 8, 13, 21, 60.25, 600])
        out.append(_row(i, start, seconds, state, rnd.choice(["a", "b", "c"]),
                        {"team": "x"} if i % 2 else None))
    with engine.begin() as conn:
        conn.execute(tables.executions.delete())
        conn.execute(tables.logs.delete())
        conn.execute(tables.executions.insert(), out)
        conn.execute(tables.logs.insert(), [
            {"execution_id": r["id"], "task_id": task, "level": level, "timestamp": r["start_date"], "message": msg}
            for r in out if r["state"] == "FAILED"
            for task, level, msg in (("prep", "INFO", "starting"), ("boom", "ERROR", f"boom in {r['id']}"),
                                     ("later", "ERROR", "second error"))])
    return out


def _nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def test_counts_and_percentiles_per_day_match_python(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    f = ExecutionFilter(start_date=DAY0, end_date=DAY0 + dt.timedelta(days=7) - dt.timedelta(microseconds=1))
    d = ExecutionStats(engine).dashboard(f, "day")
    assert [b["startDate"][:10] for b in d.buckets] == [f"2026-03-0{i}" for i in range(1, 8)]
    for bucket in d.buckets:
        mine = [r for r in rows if str(r["start_date"]).startswith(bucket["startDate"][:10])]
        expected = Counter(str(r["state"]) for r in mine)
        assert {k: v for k, v in bucket["executionCounts"].items() if v} == dict(expected)
        durations = [(dt.datetime.fromisoformat(str(r["end_date"])) - dt.datetime.fromisoformat(str(r["start_date"])))
                     .total_seconds() for r in mine if r["end_date"]]
        dur = bucket["duration"]
        assert dur["count"] == len(durations)
        assert dur["median"] == pytest.approx(_nearest_rank(durations, 50), abs=0.01)
        assert dur["p95"] == pytest.approx(_nearest_rank(durations, 95), abs=0.01)
        assert dur["min"] == pytest.approx(min(durations), abs=0.01)
        assert dur["max"] == pytest.approx(max(durations), abs=0.01)
        assert dur["avg"] == pytest.approx(sum(durations) / len(durations), abs=0.01)
    assert d.counts["FAILED"] == sum(1 for r in rows if r["state"] == "FAILED")
    assert sum(d.counts.values()) == len(rows)


def test_failures_name_the_flows_that_fail_most_and_the_first_error(engine: sa.Engine,
                                                                    rows: list[dict[str, object]]) -> None:
    f = ExecutionFilter(start_date=DAY0, end_date=DAY0 + dt.timedelta(days=7))
    d = ExecutionStats(engine).dashboard(f, "day")
    failed = [r for r in rows if r["state"] == "FAILED"]
    per_flow = Counter(str(r["flow_id"]) for r in failed)
    expected = sorted(per_flow.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(t["flowId"], t["count"]) for t in d.top_failing] == expected
    newest = sorted(failed, key=lambda r: (str(r["start_date"])), reverse=True)[:10]
    assert [x["id"] for x in d.latest_failures] == [r["id"] for r in newest]
    first = d.latest_failures[0]
    assert first["error"] == f"boom in {first['id']}" and first["taskId"] == "boom"


def test_filters_and_hour_buckets_narrow_the_figures(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    day = DAY0 + dt.timedelta(days=2)
    f = ExecutionFilter(start_date=day, end_date=day + dt.timedelta(hours=23, minutes=59), flow_id="b",
                        labels={"team": "x"}, states=["SUCCESS", "FAILED"])
    d = ExecutionStats(engine).dashboard(f, "hour")
    assert len(d.buckets) == 24 and d.buckets[5]["startDate"] == "2026-03-03T05:00:00Z"
    mine = [r for r in rows if str(r["start_date"]).startswith("2026-03-03") and r["flow_id"] == "b"
            and int(str(r["id"])[1:]) % 2 and r["state"] in ("SUCCESS", "FAILED")]
    assert sum(d.counts.values()) == len(mine) > 0
    for bucket in d.buckets:
        hour = bucket["startDate"][:13]
        assert sum(bucket["executionCounts"].values()) == sum(1 for r in mine if str(r["start_date"]).startswith(hour))


@pytest.mark.parametrize("offset", [120, -330, 0])
def test_buckets_follow_the_callers_wall_clock(engine: sa.Engine, rows: list[dict[str, object]], offset: int) -> None:
    """Days of a clock `offset` minutes east of UTC (the browser's): each execution counted in
    the local day of its start, each bucket's startDate that local midnight with its offset."""
    zone = dt.timezone(dt.timedelta(minutes=offset))
    first = dt.datetime(2026, 3, 2, tzinfo=zone)
    f = ExecutionFilter(start_date=first, end_date=first + dt.timedelta(days=4) - dt.timedelta(microseconds=1))
    d = ExecutionStats(engine).dashboard(f, "day", offset)
    assert [dt.datetime.fromisoformat(b["startDate"]) for b in d.buckets] == [first + dt.timedelta(days=i)
                                                                             for i in range(4)]
    local = Counter(dt.datetime.fromisoformat(str(r["start_date"])).astimezone(zone).date().isoformat()
                    for r in rows if f.start_date <= dt.datetime.fromisoformat(str(r["start_date"])) <= f.end_date)
    assert {b["startDate"][:10]: sum(b["executionCounts"].values()) for b in d.buckets} == {
        (first + dt.timedelta(days=i)).date().isoformat(): local[(first + dt.timedelta(days=i)).date().isoformat()]
        for i in range(4)}
    assert sum(d.counts.values()) == sum(local.values())


def test_an_empty_range_has_every_bucket_at_zero(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    start = DAY0 - dt.timedelta(days=40)
    f = ExecutionFilter(start_date=start, end_date=start + dt.timedelta(days=3))
    d = ExecutionStats(engine).dashboard(f, "day")
    assert len(d.buckets) == 4 and all(b["duration"]["count"] == 0 and b["duration"]["median"] is None
                                       and not any(b["executionCounts"].values()) for b in d.buckets)
    assert d.top_failing == [] and d.latest_failures == []
