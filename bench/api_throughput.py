"""Executions of a two-task flow created through the REST API at rising rates.

Starts a real `lanner server local` on a temporary LANNER_HOME (SQLite), creates executions at
each rate for a fixed time from a few client threads, waits for them all to end, and prints per
rate: the rate achieved, the API's answer time, and the latency from creation to the terminal
state (from the execution's own state history, so the client's polling does not count).

    python bench/api_throughput.py [--rates 500,1000,2000] [--seconds 15]
    python bench/api_throughput.py --find-saturation [--start 500] [--growth 1.25] [--seconds 8]

`--find-saturation` raises the rate in steps until the median latency passes 1 s or completions
fall behind (`bench/saturation.py`, as `bench/cluster.py --find-saturation` does) and ends with
`saturation: N executions/min held at ≤ 0.25 s median`, in at most 5 minutes.

Target on the reference machine (2 cores, issue 15): ≥ 20,000 executions/minute at ≤ 0.25 s
median latency; where the server's time per execution goes is in docs/server.md ("Throughput").
The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import saturation  # noqa: E402

from tests.integration.server.harness import Server  # noqa: E402

FLOW = """id: two_tasks
namespace: bench.api
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: "first of {{ execution.id }}"
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: "second"
"""
nan = float("nan")
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"}


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_rate(srv: Server, per_minute: float, seconds: float, clients: int = 8,
             grace: float = 120.0) -> dict[str, Any]:
    label = f"rate:{per_minute:.0f}"
    interval = 60.0 / per_minute
    total = int(per_minute * seconds / 60)
    answer_times: list[float] = []
    lock = threading.Lock()
    http = httpx.Client(base_url=srv.url + "/api/v1", timeout=30,
                        limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients))

    def create(i: int, due: float) -> str:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t0 = time.monotonic()
        r = http.post("/executions/bench.api/two_tasks", params={"labels": label})
        r.raise_for_status()
        with lock:
            answer_times.append(time.monotonic() - t0)
        return r.json()["id"]

    start = time.monotonic() + 0.2
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        ids = list(pool.map(lambda i: create(i, start + i * interval), range(total)))
    sent_in = time.monotonic() - start
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        page = http.get("/executions/search", params={"labels": label, "size": 1, "state": ["CREATED", "RUNNING"]})
        if page.json()["total"] == 0:
            break
        time.sleep(0.2)
    latencies, firsts, lasts = [], [], []
    page_no = 1
    while True:
        page = http.get("/executions/search", params={"labels": label, "size": 500, "page": page_no}).json()
        for exe in page["results"]:
            state = exe["state"]
            if state["current"] in TERMINAL:
                created, ended = _parse(state["histories"][0]["date"]), _parse(state["endDate"])
                latencies.append((ended - created).total_seconds())
                firsts.append(created)
                lasts.append(ended)
        if page_no * 500 >= page["total"]:
            break
        page_no += 1
    http.close()
    span = (max(lasts) - min(firsts)).total_seconds() if lasts else float("nan")
    return {"rate": per_minute, "sent": len(ids), "ended": len(latencies), "sent_per_min": len(ids) / sent_in * 60,
            "done_per_min": len(latencies) / span * 60 if span else float("nan"),
            "api_p50": statistics.median(answer_times), "p50": statistics.median(latencies or [nan]),
            "p90": _pct(latencies or [nan], 0.9), "p99": _pct(latencies or [nan], 0.99), "max": max(latencies or [nan]),
            "step": saturation.step_of(per_minute, len(ids) / sent_in * 60, len(ids), latencies,
                                       min(firsts).timestamp() if firsts else 0.0,
                                       max(lasts).timestamp() if lasts else 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="500,1000,1500,2000,3000", help="executions per minute, comma-separated")
    parser.add_argument("--seconds", type=float, default=None, help="how long each rate is held")
    parser.add_argument("--find-saturation", action="store_true",
                        help="raise the rate in steps until the server saturates; ends with the `saturation:` line "
                             "(≤ 5 minutes)")
    parser.add_argument("--start", type=float, default=500.0, help="first rate of the search (per minute)")
    parser.add_argument("--growth", type=float, default=1.25, help="factor from one step's rate to the next")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lanner-bench-") as tmp:
        srv = Server(Path(tmp) / "home").start(wait=False)
        try:
            srv.wait_ready(timeout=120)  # a loaded machine starts it slowly
            srv.deploy(FLOW)
            srv.run("bench.api", "two_tasks")  # warm up imports and caches
            print(f"lanner server local (SQLite); load average at start {saturation.load_average()}")
            if args.find_saturation:
                seconds = args.seconds or 8.0
                saturation.search(lambda rate: run_rate(srv, rate, seconds, grace=saturation.GRACE_SECONDS)["step"],
                                  args.start, args.growth)
                return
            print(f"{'rate/min':>9} {'sent':>6} {'ended':>6} {'sent/min':>9} {'done/min':>9} {'api p50':>8} "
                  f"{'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'load':>5}   (latency = creation → terminal, s)")
            for rate in [int(r) for r in args.rates.split(",")]:
                f = run_rate(srv, rate, args.seconds or 15)
                print(f"{f['rate']:>9.0f} {f['sent']:>6} {f['ended']:>6} {f['sent_per_min']:>9.0f} "
                      f"{f['done_per_min']:>9.0f} {f['api_p50']:>8.3f} {f['p50']:>7.3f} {f['p90']:>7.3f} "
                      f"{f['p99']:>7.3f} {f['max']:>7.3f} {f['step'].load:>5}", flush=True)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
