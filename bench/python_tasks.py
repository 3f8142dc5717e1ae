"""Whole-process time of Windmill's Python benchmark flow: 40 sequential Python tasks, each fibo(10).

Almost all of that time used to be 40 interpreter start-ups; Python tasks now fork from a warm
interpreter (`lanner.worker.warm_python`). This prints the median and best wall time of the whole
`lanner run -q` process, with the fork server (the fast path) and without it
(LANNER_PYTHON_FORKSERVER=0, a fresh interpreter per task), and the load average at each figure,
since the machine is shared. Target (issue 15): ≤ 0.3 s for the fast path. Figures are printed,
never asserted.

    python bench/python_tasks.py [--tasks 40] [--repeat 7]
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

FIBO = """def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)
print(fibo(10))
"""


def flow(tasks: int) -> str:
    """Half Script tasks, half Commands tasks (`python file.py`), as the two routes users write."""
    lines = ["id: python_tasks", "namespace: bench", "tasks:"]
    for i in range(tasks):
        if i % 2 == 0:
            lines += [f"  - id: script{i}", "    type: io.kestra.plugin.scripts.python.Script", "    script: |"]
            lines += [f"      {line}" for line in FIBO.splitlines()]
        else:
            lines += [f"  - id: commands{i}", "    type: io.kestra.plugin.scripts.python.Commands",
                      "    inputFiles:", "      fibo.py: |"]
            lines += [f"        {line}" for line in FIBO.splitlines()]
            lines += ["    commands:", "      - python fibo.py"]
    return "\n".join(lines) + "\n"


def load() -> str:
    return os.getloadavg().__repr__()


def run_once(flow_path: Path, home: Path, warm: bool) -> float:
    env = {**os.environ, "LANNER_HOME": str(home), "LANNER_PYTHON_FORKSERVER": "1" if warm else "0"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lanner", "run", str(flow_path), "-q"],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lanner run failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def arguments() -> argparse.Namespace:
    """`--tasks` and `--repeat`, shared with `python_task_cpu.py`."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=7)
    return ap.parse_args()


def write_flow(folder: str, tasks: int) -> Path:
    flow_path = Path(folder) / "python_tasks.yaml"
    flow_path.write_text(flow(tasks))
    return flow_path


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        flow_path = write_flow(tmp, args.tasks)
        for warm, name in ((True, "fork server (fast path)"), (False, "fresh interpreter per task")):
            home = Path(tmp) / f"home-{name[:4]}"
            run_once(flow_path, home, warm)  # a fresh LANNER_HOME: its database is created outside the figures
            times = [run_once(flow_path, home, warm) for _ in range(args.repeat)]
            print(f"{args.tasks} Python tasks, {name}: median {statistics.median(times):.3f} s, "
                  f"best {min(times):.3f} s over {args.repeat} runs (load average {load()})")
            time.sleep(0.1)


if __name__ == "__main__":
    main()
