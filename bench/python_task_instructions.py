"""Instructions, not seconds: what `lanner run -q` of Python tasks costs, counted by valgrind.

Wall and CPU times on this shared 2-core machine move by 2x from one day to the next and by 20% from
one run to the next, so a change worth 1-5% of a run cannot be seen with them (issue 15 is about
such changes now). The number of instructions the `lanner` process executes in user space hardly
moves between runs (only hash randomisation shifts it, by well under 1%): this prints it for a
one-task run (start-up, one task, exit) and for the 40-task flow of `python_tasks.py`, whose
difference over 39 tasks is Lanner's own cost per task. The task processes (forked by the warm
interpreter, which valgrind does not follow) and the kernel are not counted: the figures are
Lanner's Python, not the run's wall time. Also printed: the interpreter's own start-up (`python -c
pass`), which a `.pth` file in site-packages can multiply. Needs `valgrind`; takes ~1 minute.

    python bench/python_task_instructions.py [--tasks 40]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from python_tasks import write_flow  # noqa: E402 - beside this file


def instructions(argv: list[str], env: dict[str, str]) -> int:
    """User-space instructions `argv` executes (its own process only), as callgrind counts them."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                          capture_output=True, text=True, env=env, timeout=900)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(argv)} failed under valgrind ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind): this benchmark counts with it")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("one", "many"):
            (Path(tmp) / name).mkdir()
        one, many = write_flow(f"{tmp}/one", 1), write_flow(f"{tmp}/many", args.tasks)
        env = {**os.environ, "LANNER_HOME": str(Path(tmp) / "home"), "LANNER_PYTHON_FORKSERVER": "1"}
        lanner = [sys.executable, "-m", "lanner", "run"]
        subprocess.run([*lanner, str(one), "-q"], env=env, check=True, capture_output=True)  # the home exists
        bare = instructions([sys.executable, "-c", "pass"], env)
        first = instructions([*lanner, str(one), "-q"], env)
        whole = instructions([*lanner, str(many), "-q"], env)
    per_task = (whole - first) / (args.tasks - 1)
    print(f"interpreter start-up (python -c pass): {bare / 1e6:.0f} M instructions")
    print(f"lanner run -q, 1 Python task: {first / 1e6:.0f} M instructions "
          f"({(first - bare) / 1e6:.0f} M above the interpreter's start-up)")
    print(f"lanner run -q, {args.tasks} Python tasks: {whole / 1e6:.0f} M instructions; "
          f"Lanner's own per task: {per_task / 1e6:.2f} M")


if __name__ == "__main__":
    main()
