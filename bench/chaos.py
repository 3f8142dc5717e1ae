"""Crash Lanner at random points and count, from side effects outside the store, what happened.

Modes:
- embedded: `lanner run` processes SIGKILLed at random moments (during the main task, during
  `finally`, between tasks), each execution then continued with `lanner execution continue`,
  which is itself SIGKILLed at random too; 8 homes run side by side. The commands are forked
  from one pre-imported parent (tests/forkserver.py), so a crash point costs no interpreter
  start-up and a `continue` killed early is killed in its work, not in its imports
  (`--fresh-interpreters` starts each as a new `python -m lanner`, as before).
- cluster: PostgreSQL executor and worker roles SIGKILLed at random (bench/chaos_cluster.py).

Printed per mode: executions, crash points, lost, stuck, driven by two owners at once,
`finally` run 0 / 1 / 2+ times, main task twice, attempts overlapping, finished attempts re-run,
attempts cut off and re-run (the only re-run allowed), and the crash mix: where the crash points
fell (embedded: in `run` or `continue`, and in which task or between tasks; cluster: executor,
idle worker, worker in the main task, worker in `finally`). Targets: all 0 but "finally once" =
all. Figures are printed, never asserted; the total wall time is printed last.

    python bench/chaos.py [--quick] [--mode embedded|cluster|all] [--points N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.forkserver import ForkServer  # noqa: E402
from tests.integration.crash.harness import Home, Tally, crash_once  # noqa: E402

LABELS = {
    "finished_rerun": "re-run after its command wrote its last line (crash in the exit window)",
    "cut_off_rerun": "cut off mid-run and run again once (allowed)",
    "two_owners": "driven by two processes at once",
}
ROWS = ("executions", "crash_points", "lost", "stuck", "two_owners", "finally_0", "finally_1", "finally_2",
        "main_twice", "overlapping", "finished_rerun", "cut_off_rerun")


def embedded(points: int, seed: int, lanes: int = 8, aim: str = "anywhere", work: float = 0.15,
             cleanup: float = 0.15, fork: bool = True) -> dict[str, Any]:
    """Until `points` crash points: `lanes` homes side by side, each crashing executions in turn.
    With `fork`, the `lanner` commands are forked from one pre-imported parent (tests/forkserver.py)
    instead of each starting a fresh interpreter: the same commands, without a second of CPU each."""
    total = Tally()
    started = [0]  # crash points made so far by all lanes
    lock = threading.Lock()
    root = Path(tempfile.mkdtemp(prefix="lanner-chaos-"))
    forks = ForkServer() if fork else None

    def lane(i: int) -> None:
        rng = random.Random(seed * 100 + i)
        home, log = Home(root / f"home{i}", forks=forks), root / f"effects{i}.log"
        mine = Tally()
        while True:
            with lock:
                if started[0] >= points:
                    break
            before = mine.crash_points
            crash_once(home, log, rng, mine, work=work, cleanup=cleanup, extra_crashes=2, mode=aim)
            with lock:
                started[0] += mine.crash_points - before
        with lock:
            total.add(mine)

    try:
        threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        if forks is not None:
            forks.close()
    return {**{name: getattr(total, name) for name in ROWS}, "crash mix": total.mix, "states": total.states}


def show(mode: str, figures: dict, seconds: float) -> None:
    print(f"\n{mode} ({seconds:.0f} s)", flush=True)
    for name in ROWS:
        if name in figures:
            print(f"  {name:<16} {figures[name]:>5}  {LABELS.get(name, '')}".rstrip())
    for name, value in figures.items():  # a mode's own figures (the cluster's tally names its causes)
        if name not in ROWS and name not in ("states", "crash mix"):
            print(f"  {name:<16} {value}")
    if "crash mix" in figures:
        mix = ", ".join(f"{where} {n}" for where, n in sorted(figures["crash mix"].items()))
        print(f"  {'crash mix':<16} {mix}")
    if "states" in figures:
        print(f"  {'final states':<16} {figures['states']}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 crash points per mode (≤ 60 s for both here)")
    parser.add_argument("--mode", choices=("embedded", "cluster", "all"), default="all")
    parser.add_argument("--points", type=int, default=None,
                        help="crash points per mode (default 200, 400 without --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--aim", choices=("anywhere", "mid_task"), default="anywhere",
                        help="embedded crash points: uniformly over each execution's life, or inside tasks only")
    parser.add_argument("--fresh-interpreters", action="store_true",
                        help="embedded: start each `lanner` command as a new `python -m lanner` (slow), not forked")
    args = parser.parse_args()
    began = time.monotonic()
    points = args.points or (200 if args.quick else 400)
    if args.mode in ("embedded", "all"):
        t0 = time.monotonic()
        show("embedded (lanner run + lanner execution continue, SIGKILL)",
             embedded(points, args.seed, aim=args.aim, fork=not args.fresh_interpreters), time.monotonic() - t0)
    if args.mode in ("cluster", "all"):
        try:
            import chaos_cluster  # type: ignore[import-not-found]  # bench/chaos_cluster.py, beside this file
        except ImportError:
            print("\ncluster: bench/chaos_cluster.py is missing", file=sys.stderr)
            sys.exit(1)
        t0 = time.monotonic()
        show("cluster (PostgreSQL executors and workers, SIGKILL)", chaos_cluster.run(args.quick),
             time.monotonic() - t0)
    print(f"\ntotal {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
