"""Lanner's own CPU per Python task: what `lanner run` spends (all its threads) between handing the
first task to the worker and exiting, divided by the number of tasks.

The flow is `python_tasks.py`'s (half Script, half Commands tasks, each fibo(10)), run warm. The
tasks themselves run in processes forked by the warm interpreter, so their CPU is not counted:
what is left is Lanner's bookkeeping — working folders, the leftover record and the command's
note, the tailing of its output, two SQLite transactions, the engine's decision. CPU rather than
wall time, because the machine is shared: wall time there mostly measures the neighbours. Each
run gets a new LANNER_HOME. Target (issue 15): ≤ 1.5 ms per task. Printed, never asserted, with
the load average.

    python bench/python_task_cpu.py [--tasks 40] [--repeat 7]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from python_tasks import arguments, write_flow  # noqa: E402 - beside this file

# `lanner run` in-process; the CPU time is read when the first task is handed to the worker and
# again when the command is over (its atexit functions run before it leaves with `os._exit`), and
# both are printed on stderr.
PROBE = """
import atexit, sys, time
import lanner.worker.worker as worker
first = []
submit = worker.Worker.submit
def noted(*args, **kwargs):
    if not first:
        first.append(time.process_time())
    return submit(*args, **kwargs)
worker.Worker.submit = noted
atexit.register(lambda: print("CPU", first[0], time.process_time(), file=sys.stderr))
from lanner.cli.main import main
sys.argv = ["lanner", "run", "-q", sys.argv[1]]
main()
"""


def cpu_per_task(flow_path: Path, home: Path, tasks: int) -> tuple[float, float]:
    """(CPU ms before the first task, CPU ms per task) of one run."""
    env = {**os.environ, "LANNER_HOME": str(home), "LANNER_PYTHON_FORKSERVER": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(flow_path)], capture_output=True, text=True, env=env)
    line = next((x for x in done.stderr.splitlines() if x.startswith("CPU ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"lanner run failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    first, last = (float(x) for x in line.split()[1:])
    return first * 1000, (last - first) * 1000 / tasks


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        flow_path = write_flow(tmp, args.tasks)
        figures = [cpu_per_task(flow_path, Path(tmp) / f"home-{i}", args.tasks) for i in range(args.repeat)]
    before = statistics.median(f[0] for f in figures)
    per_task = sorted(f[1] for f in figures)
    print(f"{args.tasks} Python tasks: Lanner's CPU per task median {statistics.median(per_task):.2f} ms "
          f"(best {per_task[0]:.2f}, worst {per_task[-1]:.2f}) over {args.repeat} runs; "
          f"{before:.0f} ms of CPU before the first task (load average {os.getloadavg()!r})")


if __name__ == "__main__":
    main()
