"""The execution page of an execution with 10,000 task runs, opened in Chromium (issue 13).

Makes the execution with `lanner run` into a fresh LANNER_HOME (bench/foreach.py's ForEach of N Log tasks
and a finally: N + 2 task runs), starts `lanner server local` on that home, and opens the execution's
page in Debian's Chromium through Playwright, `--rounds` times. For each round it prints:

- first usable render: from navigation to the topology and the Gantt drawn (wall time);
- the click on the ForEach's Gantt group: from the click to its N rows listed and the first ones
  drawn; then a scroll to the last row until it is drawn;
- the click on the topology's "N values" until the first values are listed;
- the page's main-thread busy time during the load (CDP TaskDuration), the
  server process's CPU time during the load, the JS heap used after the clicks.

The figure the issue asks for: first usable render ≤ 2 s. Figures are printed, never asserted;
the load average is printed with them (the machine is shared).

    python bench/ui.py [--values 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.foreach import foreach_flow  # noqa: E402

from tests.integration.server.harness import Server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def make_execution(home: Path, n: int) -> None:
    """bench/foreach.py's flow: a ForEach of `n` Logs, then a finally Log (`cleanup`)."""
    path = home.parent / "ui_bench.yaml"
    path.write_text(foreach_flow(n))
    env = {**os.environ, "LANNER_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lanner", "run", str(path), "-q"], env=env, check=True)
    print(f"lanner run of {n} values: {time.perf_counter() - started:.1f} s wall")


def metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def one_round(browser: Any, url: str, execution_id: str, server_pid: int) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url + "/ui/#/flows")  # the app's modules loaded and cached: the figure is the page's own
    page.wait_for_selector("#view *")
    before = metrics(cdp)
    server_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    page.evaluate("id => { location.hash = `#/executions/${id}`; }", execution_id)
    page.wait_for_selector('#topology .node[data-task-id="each"]')
    page.wait_for_selector('#gantt .gantt-row[data-task-id="each"]')
    first_render = time.perf_counter() - started
    server_cpu = cpu_seconds(server_pid) - server_before
    after = metrics(cdp)

    started = time.perf_counter()
    page.click('#gantt .gantt-row[data-task-id="each"] button.toggle')
    page.wait_for_selector('#gantt .gantt-row[data-task-id="log"]')
    group_click = time.perf_counter() - started
    rows = page.evaluate("() => document.querySelectorAll('#gantt .gantt-row').length")

    started = time.perf_counter()
    page.evaluate("() => { const s = document.getElementById('gantt'); s.scrollTop = s.scrollHeight; }")
    page.wait_for_selector('#gantt .gantt-row[data-task-id="cleanup"]')
    scroll = time.perf_counter() - started

    started = time.perf_counter()
    page.click('.iterations-toggle[data-task-id="each"]')
    page.wait_for_selector(".iterations li")
    values_click = time.perf_counter() - started
    heap = metrics(cdp)["JSHeapUsedSize"]
    context.close()
    return {"first_render": first_render, "group_click": group_click, "scroll": scroll, "values_click": values_click,
            "main_thread": after["TaskDuration"] - before["TaskDuration"],
            "server_cpu": server_cpu, "heap_mb": heap / 1e6, "rows_in_dom": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lanner-ui-bench-") as tmp:
        home = Path(tmp) / "home"
        make_execution(home, args.values)
        server = Server(home).start()
        url = server.url
        try:
            found = server.client.get("/executions/search", params={"flowId": f"foreach{args.values}"},
                                      timeout=120).json()
            exe = found["results"][0]
            execution_id = exe["id"]
            print(f"execution {execution_id}: {len(exe['taskRunList'])} task runs, {exe['state']['current']}")
            results = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                for i in range(args.rounds):
                    r = one_round(browser, url, execution_id, server.proc.pid)
                    results.append(r)
                    print(f"round {i + 1}: first usable render {r['first_render']:.2f} s "
                          f"(page main thread {r['main_thread']:.2f} s, "
                          f"server CPU {r['server_cpu']:.2f} s); Gantt group click {r['group_click'] * 1000:.0f} ms "
                          f"({r['rows_in_dom']} rows in the DOM); scroll to the end {r['scroll'] * 1000:.0f} ms; "
                          f"values click {r['values_click'] * 1000:.0f} ms; JS heap {r['heap_mb']:.1f} MB")
                browser.close()
        finally:
            server.stop()
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"median of {args.rounds}: first usable render {med['first_render']:.2f} s (target ≤ 2 s), "
          f"group click {med['group_click'] * 1000:.0f} ms, scroll {med['scroll'] * 1000:.0f} ms, "
          f"values click {med['values_click'] * 1000:.0f} ms, JS heap {med['heap_mb']:.1f} MB")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
