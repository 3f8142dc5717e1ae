"""The cluster on PostgreSQL: crash safety under SIGKILLs, then throughput and latency by worker count.

Starts real `lanner server executor|worker|scheduler` processes on a fresh database of the
PostgreSQL server at LANNER_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
and prints:

1. the chaos tally: executions of a flow with a Sleep and a `finally` while workers and the
   executor are SIGKILLed and restarted at random — lost executions, successful `finally`
   attempts per execution (must all be 1), task runs left unfinished;
2. for 1, 2 and 4 workers (one executor): executions of a two-task flow offered at a steady
   rate, the executions per minute achieved and the median / p95 latency from creation to the
   terminal state (read from each execution's own state history).

    python bench/cluster.py [--quick] [--rate 45] [--seconds 20]

`--quick` (≤ 50 s) runs a smaller chaos round and shorter load windows. Target on the reference
machine (2 cores, PostgreSQL on the same machine): ≥ 2,000 executions/minute at ≤ 0.5 s median
latency. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.cluster.chaos import run_chaos  # noqa: E402
from tests.integration.cluster.databases import PostgresDatabases, postgres_url  # noqa: E402
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for  # noqa: E402

TWO_TASKS = """
id: two_tasks
namespace: lanner.bench
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ execution.id }}"
  - id: answer
    type: io.kestra.plugin.core.debug.Return
    format: "{{ taskrun.id }}"
"""


def load(url: str, tmp: Path, workers: int, rate: float, seconds: float) -> dict[str, float]:
    """Offer `rate` executions/s for `seconds` to 1 executor + `workers` workers; measure."""
    from lanner.loading.flows import load_flow
    from lanner.runtime.cluster_client import ClusterClient
    from lanner.runtime.queues.database import QueueDatabase

    env = role_env(url, tmp / "home", LANNER_POLL="1")
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [RoleProcess("executor", env, logs).start(),
             *[RoleProcess("worker", env, logs, "--threads", "8").start() for _ in range(workers)]]
    db = QueueDatabase(url)
    client = ClusterClient(db)
    try:
        import sqlalchemy as sa

        def registered() -> bool:
            with db.reader.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM workers")).scalar() or 0) >= workers

        wait_for(registered, 30, "workers to register")
        flow = load_flow(TWO_TASKS)
        client.flows.save(flow)
        client.start(flow)  # warm-up: flow parsed and cached everywhere
        time.sleep(1.0)
        ids: list[str] = []
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            ids.append(client.create(flow, {}).id)
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        offered = len(ids) / (time.monotonic() - start)
        deadline = time.monotonic() + 60
        done: list = []
        while time.monotonic() < deadline:
            done = [client.get(i) for i in ids]
            if all(e is not None and e.state.current.terminated for e in done):
                break
            time.sleep(0.5)
        ended = [e for e in done if e is not None and e.state.current.terminated]
        latencies = sorted((e.state.end_date - e.state.histories[0].date).total_seconds() for e in ended)
        first = min(e.state.histories[0].date for e in ended)
        last = max(e.state.end_date for e in ended)
        span = max((last - first).total_seconds(), 1e-6)
        return {"workers": workers, "offered_per_min": offered * 60, "per_min": len(ended) / span * 60,
                "ended": len(ended), "created": len(ids),
                "success": sum(e.state.current.value == "SUCCESS" for e in ended),
                "median": statistics.median(latencies) if latencies else float("nan"),
                "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")}
    finally:
        for p in procs:
            p.stop()
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run that ends within 50 s")
    parser.add_argument("--rate", type=float, default=45.0, help="executions offered per second")
    parser.add_argument("--seconds", type=float, default=None, help="length of each load window")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    began = time.monotonic()
    dbs = PostgresDatabases(postgres_url())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            chaos = run_chaos(dbs.new(), Path(tmp) / "chaos", executions=60 if args.quick else 200,
                              chaos_seconds=6.0 if args.quick else 15.0, workers=3)
            print(f"chaos: {chaos.line()} -> {'OK' if chaos.ok else 'BROKEN'}", flush=True)
            print(f"{'workers':>7} {'offered/min':>11} {'exec/min':>9} {'median s':>9} {'p95 s':>7} {'ended':>9}")
            for workers in [int(w) for w in args.workers.split(",")]:
                r = load(dbs.new(), Path(tmp) / f"w{workers}", workers, args.rate, seconds)
                print(f"{r['workers']:>7} {r['offered_per_min']:>11.0f} {r['per_min']:>9.0f} {r['median']:>9.3f} "
                      f"{r['p95']:>7.3f} {int(r['ended']):>4}/{int(r['created'])}", flush=True)
    finally:
        dbs.close()
    print(f"total {time.monotonic() - began:.1f}s")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
