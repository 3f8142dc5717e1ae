"""Executions of a two-task flow created through the REST API at rising rates.

Starts a real `lanner server local` on a temporary LANNER_HOME (SQLite), creates executions at
each rate for a fixed time from a few client threads, waits for them all to end, and prints per
rate: the rate achieved, the API's answer time, and the latency from creation to the terminal
state (from the execution's own state history, so the client's polling does not count).

    python bench/api_throughput.py [--rates 500,1000,2000] [--seconds 15]

Target on the reference machine (2 cores): ≥ 1,000 executions/minute at ≤ 0.3 s median latency.
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.server.harness import Server

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
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"}


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_rate(srv: Server, per_minute: int, seconds: float, clients: int = 8) -> dict[str, float]:
    label = f"rate:{per_minute}"
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
    deadline = time.monotonic() + 120
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
            "api_p50": statistics.median(answer_times), "p50": statistics.median(latencies),
            "p90": _pct(latencies, 0.9), "p99": _pct(latencies, 0.99), "max": max(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="500,1000,1500,2000,3000", help="executions per minute, comma-separated")
    parser.add_argument("--seconds", type=float, default=15, help="how long each rate is held")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lanner-bench-") as tmp:
        srv = Server(Path(tmp) / "home").start()
        try:
            srv.deploy(FLOW)
            srv.run("bench.api", "two_tasks")  # warm up imports and caches
            print(f"{'rate/min':>9} {'sent':>6} {'ended':>6} {'sent/min':>9} {'done/min':>9} {'api p50':>8} "
                  f"{'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}   (latency = creation → terminal, seconds)")
            for rate in [int(r) for r in args.rates.split(",")]:
                f = run_rate(srv, rate, args.seconds)
                print(f"{f['rate']:>9} {f['sent']:>6} {f['ended']:>6} {f['sent_per_min']:>9.0f} "
                      f"{f['done_per_min']:>9.0f} {f['api_p50']:>8.3f} {f['p50']:>7.3f} {f['p90']:>7.3f} "
                      f"{f['p99']:>7.3f} {f['max']:>7.3f}", flush=True)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
