"""The namespaces list (`GET /namespaces/search`, the UI's Namespaces page) as the storage grows.

Starts a real `lanner server local` on a temporary LANNER_HOME, deploys flows, writes namespace
files and KV keys through the API, and lays out the folders of many past executions in the
storage (the walk that finds namespaces holding files must not enter them). Then asks for the
whole list (`size=1000`, with every namespace's counts) several times and prints the median and
worst answer times, the server's CPU time per request (from /proc), and the load average.

    python bench/namespaces.py [--namespaces 200] [--executions 20000] [--requests 20]

The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.server.harness import Server  # noqa: E402

LOG = "io.kestra.plugin.core.log.Log"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def populate(server: Server, namespaces: int, executions: int) -> None:
    c = server.client
    for n in range(namespaces):
        ns = f"bench.team{n % 10}.ns{n}"
        if n % 4 == 0:
            flow = f"id: f{n}\nnamespace: {ns}\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"
            assert c.post("/flows", content=flow, headers={"Content-Type": "application/x-yaml"}).status_code == 200
        if n % 2 == 0:
            for f in range(5):
                assert c.post(f"/namespaces/{ns}/files", params={"path": f"/dir{f % 2}/file{f}.py"},
                              files={"fileContent": ("f", b"print(1)\n")}).status_code == 200
        if n % 3 == 0:
            for k in range(3):
                assert c.put(f"/namespaces/{ns}/kv/key{k}", content=str(k),
                             headers={"Content-Type": "application/json"}).status_code == 200
    storage = server.home / "storage"
    for e in range(executions):  # the folders a flow's executions leave, as internal storage lays them out
        folder = storage / "bench" / f"team{e % 10}" / f"ns{e % namespaces}" / f"f{e % namespaces}" / "executions"
        (folder / f"{e:022d}x"[:22] / "tasks" / "t" / "run").mkdir(parents=True, exist_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--executions", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "home").start()
        try:
            populate(server, args.namespaces, args.executions)
            assert server.proc is not None
            first = server.client.get("/namespaces/search", params={"size": 1000}).json()
            times = []
            cpu_before = cpu_seconds(server.proc.pid)
            for _ in range(args.requests):
                start = time.perf_counter()
                r = server.client.get("/namespaces/search", params={"size": 1000})
                times.append(time.perf_counter() - start)
                assert r.status_code == 200
            cpu = (cpu_seconds(server.proc.pid) - cpu_before) / args.requests
        finally:
            server.stop()
    holding = sum(1 for n in range(args.namespaces) if n % 2 == 0 or n % 3 == 0)
    print(f"namespaces listed: {first['total']} ({holding} holding flows, files or keys, and their parents); "
          f"execution folders in storage: {args.executions}")
    print(f"GET /namespaces/search?size=1000 x{args.requests}: median {statistics.median(times) * 1000:.1f} ms, "
          f"worst {max(times) * 1000:.1f} ms wall; server CPU {cpu * 1000:.1f} ms per request")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
