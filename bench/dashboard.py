"""The dashboard's statistics over 100,000 executions, on SQLite and PostgreSQL.

Fills a fresh store (a temporary SQLite file, and a new PostgreSQL database that is dropped at the
end) with N executions spread over 90 days across 20 flows and the usual states, 10 % FAILED with
one ERROR log line each, then times `ExecutionStats.dashboard` — the SQL behind
`GET /api/v1/stats/executions/dashboard` — for the ranges the UI offers (7 days by day, 30 days
by day, 24 hours by hour, 90 days by day, 30 days of one flow, and 30 days in days of UTC+02:00),
and prints per range the median wall time and the process CPU time of the runs (CPU time is this
process only: SQLite works inside it, PostgreSQL's own work is in the wall time).
The figures are printed, never asserted.

    python bench/dashboard.py [--executions 100000] [--repeat 5] [--backends sqlite,postgresql] [--data-bytes 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lanner.model.state import iso  # noqa: E402
from lanner.storage import tables  # noqa: E402
from lanner.storage.execution_queries import ExecutionFilter  # noqa: E402
from lanner.storage.execution_stats import ExecutionStats  # noqa: E402

STATES = ["SUCCESS"] * 80 + ["FAILED"] * 10 + ["WARNING"] * 4 + ["KILLED"] * 3 + ["RUNNING"] * 3
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def fill(engine: sa.Engine, count: int, data_bytes: int) -> None:
    rnd = random.Random(100)
    padding = "x" * data_bytes  # an execution document's size (inputs, variables, trigger…)
    batch: list[dict[str, object]] = []
    logs: list[dict[str, object]] = []
    with engine.begin() as conn:
        for i in range(count):
            start = NOW - dt.timedelta(seconds=rnd.randrange(90 * 86400), microseconds=rnd.randrange(1_000_000))
            state = rnd.choice(STATES)
            end = None if state == "RUNNING" else start + dt.timedelta(seconds=rnd.lognormvariate(1.5, 1.2))
            exe_id = f"b{i:09d}"
            batch.append({"id": exe_id, "namespace": f"bench.ns{i % 4}", "flow_id": f"flow{i % 20}", "state": state,
                          "start_date": iso(start), "end_date": iso(end) if end else None,
                          "data": json.dumps({"id": exe_id, "labels": [{"key": "team", "value": f"t{i % 3}"}],
                                              "variables": {"padding": padding}})})
            if state == "FAILED":
                logs.append({"execution_id": exe_id, "task_id": "work", "level": "ERROR", "timestamp": iso(start),
                             "message": "the work failed"})
            if len(batch) == 5000:
                conn.execute(tables.executions.insert(), batch)
                if logs:
                    conn.execute(tables.logs.insert(), logs)
                batch, logs = [], []
        if batch:
            conn.execute(tables.executions.insert(), batch)
        if logs:
            conn.execute(tables.logs.insert(), logs)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))


def measure(engine: sa.Engine, repeat: int) -> None:
    stats = ExecutionStats(engine)
    cases = [("7 days by day", ExecutionFilter(start_date=NOW - dt.timedelta(days=7), end_date=NOW), "day"),
             ("30 days by day", ExecutionFilter(start_date=NOW - dt.timedelta(days=30), end_date=NOW), "day"),
             ("24 hours by hour", ExecutionFilter(start_date=NOW - dt.timedelta(days=1), end_date=NOW), "hour"),
             ("90 days by day", ExecutionFilter(start_date=NOW - dt.timedelta(days=90), end_date=NOW), "day"),
             ("30 days, one flow", ExecutionFilter(start_date=NOW - dt.timedelta(days=30), end_date=NOW,
                                                   flow_id="flow7"), "day")]
    for name, f, group_by, offset in [(*c, 0) for c in cases] + [("30 days, UTC+02:00", cases[1][1], "day", 120)]:
        stats.dashboard(f, group_by, offset)  # warm the caches once
        walls, cpus = [], []
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            d = stats.dashboard(f, group_by, offset)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        rows = sum(d.counts.values())
        print(f"  {name:<20} {rows:>7,} executions  wall median {statistics.median(walls) * 1000:7.1f} ms"
              f"  (min {min(walls) * 1000:.1f})  cpu median {statistics.median(cpus) * 1000:6.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--data-bytes", type=int, default=2000, help="size of each execution's JSON document")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    for backend in args.backends.split(","):
        if backend == "sqlite":
            from lanner.storage import db

            folder = tempfile.mkdtemp(prefix="lanner-bench-dash-")
            engine = db.connect(f"sqlite:///{folder}/lanner.db")
            cleanup = None
            remove = folder
        else:
            from lanner.storage import cluster_db
            from tests.integration.cluster.databases import open_postgres

            dbs = open_postgres()
            engine = cluster_db.open_engine(dbs.new())
            cleanup, remove = dbs, None
        t0 = time.perf_counter()
        fill(engine, args.executions, args.data_bytes)
        print(f"{backend}: {args.executions:,} executions of ~{args.data_bytes:,} bytes written in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        measure(engine, args.repeat)
        engine.dispose()
        if cleanup is not None:
            cleanup.close()  # drops the database
        if remove is not None:
            shutil.rmtree(remove)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
