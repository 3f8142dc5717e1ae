"""A Schedule backfill through a real `lanner server local` (SQLite): how long N dates take, what
the server spends on them, and how late each execution starts after the one before.

The scheduler starts one backfill execution per tick (1 s) on purpose — a backfill must not
flood the executors or the flow's concurrency limit — so the wall time is about N seconds; the
figure worth watching is the server's CPU time per date and the spread of the gaps.

    python bench/backfill.py [--dates 60]

Prints the wall time from the request to the backfill's end, the server process's CPU time
(user + system, from /proc) over that span, CPU per date, and the median and maximum gap between
the creation of consecutive executions. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.server.harness import Server, wait_for  # noqa: E402

FLOW = """id: nightly
namespace: bench.backfill
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: "{{ trigger.date }}"}
triggers:
  - {id: every_minute, type: io.kestra.plugin.core.trigger.Schedule, cron: "* * * * *"}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "home").start()
        try:
            assert srv.proc is not None
            srv.deploy(FLOW)
            start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=2)
            end = start + dt.timedelta(minutes=args.dates - 1)
            key = {"namespace": "bench.backfill", "flowId": "nightly", "triggerId": "every_minute"}
            cpu0, t0 = cpu_seconds(srv.proc.pid), time.perf_counter()
            r = srv.client.put("/triggers", json={**key, "backfill": {"start": start.isoformat(),
                                                                       "end": end.isoformat()}})
            assert r.status_code == 200, r.text

            def ended() -> bool:
                [row] = srv.client.get("/triggers/search", params={"flowId": "nightly"}).json()["results"]
                return row["triggerContext"]["lastBackfill"] is not None

            wait_for(ended, timeout=args.dates * 5 + 30)
            wall, cpu = time.perf_counter() - t0, cpu_seconds(srv.proc.pid) - cpu0
            exes = srv.executions(flowId="nightly", sort="startDate:asc", size=1000)
            created = sorted(dt.datetime.fromisoformat(e["state"]["histories"][0]["date"]) for e in exes
                             if e["trigger"]["variables"]["date"] <= end.strftime("%Y-%m-%dT%H:%M:%SZ"))
            gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:], strict=False)]
        finally:
            srv.stop()
    print(f"backfill of {args.dates} dates: {len(created)} executions")
    print(f"wall {wall:.1f} s (paced: one date per scheduler tick of 1 s)")
    print(f"server CPU {cpu:.2f} s ({cpu / max(len(created), 1) * 1000:.0f} ms per date)")
    if gaps:
        print(f"gap between executions: median {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
