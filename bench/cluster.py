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
    python bench/cluster.py --find-saturation [--workers 1] [--start 1000] [--growth 1.25] [--seconds 8]
    python bench/cluster.py --cost [--workers 1] [--rate 20]

`--find-saturation` only raises the offered rate (executions/min) in steps on one running cluster
until the median latency passes 1 s or completions fall behind the offer (`bench/saturation.py`),
and ends with `saturation: N executions/min held at ≤ 0.25 s median`, in at most 5 minutes.
`--cost` prints what one execution costs (CPU of the executor, the workers and the PostgreSQL
backends serving the bench's database, read from /proc, so with the server on this machine;
database commits):
unlike latency, those figures hardly move when other processes load the machine.

`--quick` (≤ 50 s) runs a smaller chaos round and shorter load windows. Target on the reference
machine (2 cores, PostgreSQL on the same machine): ≥ 2,000 executions/minute at ≤ 0.5 s median
latency. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import saturation  # noqa: E402

from tests.integration.cluster.chaos import run_chaos  # noqa: E402
from tests.integration.cluster.databases import PostgresDatabases, postgres_url  # noqa: E402
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for  # noqa: E402

OFFERING_THREADS = 4  # client threads creating executions, as several webservers would

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


class LoadedCluster:
    """1 executor + `workers` worker processes on a fresh database, and a client offering executions."""

    def __init__(self, url: str, tmp: Path, workers: int) -> None:
        from lanner.loading.flows import load_flow
        from lanner.runtime.cluster_client import ClusterClient
        from lanner.runtime.queues.database import QueueDatabase

        env = role_env(url, tmp / "home", LANNER_POLL="1")
        logs = tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.procs = [RoleProcess("executor", env, logs).start(),
                      *[RoleProcess("worker", env, logs, "--threads", "8").start() for _ in range(workers)]]
        self.db = QueueDatabase(url, pool_size=OFFERING_THREADS + 2)
        self.client = ClusterClient(self.db)
        self.flow = load_flow(TWO_TASKS)

    def __enter__(self) -> LoadedCluster:
        import sqlalchemy as sa

        def registered() -> bool:
            with self.db.reader.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM workers")).scalar() or 0) >= self.workers

        try:
            wait_for(registered, 30, "workers to register")
            self.client.flows.save(self.flow)
            self.client.start(self.flow)  # warm-up: flow parsed and cached everywhere
            time.sleep(1.0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.stop()
        self.db.close()

    def offer(self, rate: float, seconds: float) -> tuple[list[str], float]:
        """Create `rate` executions/s for `seconds` from a few threads; their ids and the rate achieved (/s)."""
        n = int(rate * seconds)
        start = time.monotonic() + 0.05

        def create(i: int) -> str:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            return self.client.create(self.flow, {}).id

        with concurrent.futures.ThreadPoolExecutor(OFFERING_THREADS) as pool:
            ids = list(pool.map(create, range(n)))
        return ids, len(ids) / max(time.monotonic() - start, 1e-6)

    def wait_ended(self, ids: list[str], timeout: float) -> None:
        """Until every one of `ids` is terminal, or `timeout` passes (one query per look)."""
        import sqlalchemy as sa

        from lanner.model.state import TERMINATED_NAMES
        from lanner.storage import tables

        t = tables.executions
        q = sa.select(sa.func.count()).where(t.c.id.in_(ids), t.c.state.not_in(list(TERMINATED_NAMES)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.reader.connect() as conn:
                if not conn.execute(q).scalar():
                    return
            time.sleep(0.2)

    def measure(self, ids: list[str], offered_per_s: float, target_per_s: float) -> saturation.Step:
        """Latency of each ended execution, from its own state history (creation → terminal state)."""
        from lanner.storage import execution_rows

        ended = []
        with self.db.reader.connect() as conn:
            for i in range(0, len(ids), 500):
                loaded = execution_rows.load(conn, ids[i:i + 500])
                ended += [e for e, _ in loaded.values() if e.state.current.terminated]
        if not ended:
            return saturation.step_of(target_per_s * 60, offered_per_s * 60, len(ids), [], 0.0, 0.0)
        return saturation.step_of(
            target_per_s * 60, offered_per_s * 60, len(ids),
            [(e.state.end_date - e.state.histories[0].date).total_seconds() for e in ended],
            min(e.state.histories[0].date for e in ended).timestamp(), max(e.state.end_date for e in ended).timestamp())

    def window(self, rate: float, seconds: float, grace: float) -> saturation.Step:
        ids, offered = self.offer(rate, seconds)
        self.wait_ended(ids, grace)
        return self.measure(ids, offered, rate)


def load(url: str, tmp: Path, workers: int, rate: float, seconds: float) -> saturation.Step:
    """Offer `rate` executions/s for `seconds` to 1 executor + `workers` workers; measure."""
    with LoadedCluster(url, tmp, workers) as cluster:
        return cluster.window(rate, seconds, grace=60.0)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(pid: int) -> float:
    """CPU seconds of a PostgreSQL backend on this machine; 0 when it is gone or not readable here."""
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def cost(url: str, tmp: Path, workers: int, executions: int, rate: float) -> None:
    """What one execution costs, a figure that CPU contention from other processes barely moves: the CPU
    time of the executor and of the workers, and the database transactions committed (round trips)."""
    import sqlalchemy as sa

    database = url.rsplit("/", 1)[1]
    q = sa.text("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = :d")
    backends = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()")
    with LoadedCluster(url, tmp, workers) as cluster:
        def snapshot() -> tuple[list[float], tuple[int, ...], dict[int, float]]:
            with cluster.db.reader.connect() as conn:
                conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
                row = tuple(int(v) for v in conn.execute(q, {"d": database}).one())
                pids = [int(r.pid) for r in conn.execute(backends, {"d": database})]
            return [cpu_seconds(p.pid) for p in cluster.procs], row, {pid: postgres_cpu(pid) for pid in pids}

        time.sleep(1.0)  # the statistics of the warm-up reach pg_stat_database
        cpu0, db0, pg0 = snapshot()
        ids, _ = cluster.offer(rate, executions / rate)
        cluster.wait_ended(ids, 120.0)
        time.sleep(1.0)
        cpu1, db1, pg1 = snapshot()
        step = cluster.measure(ids, rate, rate)
    n = len(ids)
    spent = [(b - a) * 1000 / n for a, b in zip(cpu0, cpu1, strict=True)]
    made = [(b - a) / n for a, b in zip(db0, db1, strict=True)]
    # backends that served this database over the window (one that came meanwhile counts whole;
    # one that left meanwhile is lost, as are the server's shared processes: WAL writer, checkpointer)
    postgres = sum(max(cpu - pg0.get(pid, 0.0), 0.0) for pid, cpu in pg1.items()) * 1000 / n
    print(f"{n} executions offered at {rate * 60:.0f}/min, {step.ended} ended, median {step.median:.3f} s "
          f"(load {step.load})")
    print(f"CPU per execution: executor {spent[0]:.2f} ms, worker(s) {sum(spent[1:]):.2f} ms, "
          f"PostgreSQL backends {postgres:.2f} ms ({len(pg1)} backends); "
          f"total {spent[0] + sum(spent[1:]) + postgres:.2f} ms")
    print(f"database per execution: {made[0]:.2f} commits (client's included), rows inserted {made[1]:.2f}, "
          f"updated {made[2]:.2f}, deleted {made[3]:.2f}")


def find_saturation(url: str, tmp: Path, workers: int, start: float, growth: float, seconds: float) -> int:
    """Raise the offered rate (executions/min) in steps on one running cluster until it saturates."""
    with LoadedCluster(url, tmp, workers) as cluster:
        return saturation.search(lambda per_min: cluster.window(per_min / 60, seconds, saturation.GRACE_SECONDS),
                                 start, growth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run that ends within 50 s")
    parser.add_argument("--rate", type=float, default=45.0, help="executions offered per second")
    parser.add_argument("--seconds", type=float, default=None, help="length of each load window")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--find-saturation", action="store_true",
                        help="only raise the offered rate in steps until the cluster (1 executor, the first "
                             "--workers count) saturates; ends with the `saturation:` line (≤ 5 minutes)")
    parser.add_argument("--cost", action="store_true",
                        help="only offer 600 executions at --rate per second and print what one costs: CPU time of "
                             "the executor and the workers, database commits (robust on a loaded machine)")
    parser.add_argument("--start", type=float, default=1000.0, help="first offered rate of the search (per minute)")
    parser.add_argument("--growth", type=float, default=1.25, help="factor from one step's rate to the next")
    args = parser.parse_args()
    began = time.monotonic()
    dbs = PostgresDatabases(postgres_url())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.cost:
                cost(dbs.new(), Path(tmp) / "cost", int(args.workers.split(",")[0]), 600, args.rate)
                return
            if args.find_saturation:
                workers = int(args.workers.split(",")[0])
                print(f"1 executor, {workers} worker(s); load average at start {saturation.load_average()}")
                find_saturation(dbs.new(), Path(tmp) / "search", workers, args.start, args.growth, args.seconds or 8.0)
                return
            seconds = args.seconds or (5.0 if args.quick else 20.0)
            chaos = run_chaos(dbs.new(), Path(tmp) / "chaos", executions=60 if args.quick else 200,
                              chaos_seconds=6.0 if args.quick else 15.0, workers=3)
            print(f"chaos: {chaos.line()} -> {'OK' if chaos.ok else 'BROKEN'}", flush=True)
            print(f"{'workers':>7} {saturation.HEADER}")
            for workers in [int(w) for w in args.workers.split(",")]:
                r = load(dbs.new(), Path(tmp) / f"w{workers}", workers, args.rate, seconds)
                print(f"{workers:>7} {saturation.line(r)}", flush=True)
    finally:
        dbs.close()
        print(f"total {time.monotonic() - began:.1f}s")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
