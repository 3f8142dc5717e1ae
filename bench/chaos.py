"""Crash Lanner at random points and count, from side effects outside the store, what happened.

Modes:
- embedded: `lanner run` processes SIGKILLed at random moments (during the main task, during
  `finally`, between tasks), each execution then continued with `lanner execution continue`,
  which is itself SIGKILLed at random too; several homes run side by side.
- cluster: PostgreSQL executor and worker roles SIGKILLed at random (bench/chaos_cluster.py).

Printed per mode: executions, crash points, lost, stuck, driven by two owners at once,
`finally` run 0 / 1 / 2+ times, main task twice, attempts overlapping, finished attempts re-run,
attempts cut off and re-run (the only re-run allowed). Targets: all 0 but "finally once" = all.
Figures are printed, never asserted.

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.crash.harness import Home, Tally, crash_once  # noqa: E402

LABELS = {
    "finished_rerun": "re-run after its command wrote its last line (crash in the exit window)",
    "cut_off_rerun": "cut off mid-run and run again once (allowed)",
    "two_owners": "driven by two processes at once",
}
ROWS = ("executions", "crash_points", "lost", "stuck", "two_owners", "finally_0", "finally_1", "finally_2",
        "main_twice", "overlapping", "finished_rerun", "cut_off_rerun")


def embedded(points: int, seed: int, lanes: int = 4, aim: str = "anywhere") -> dict[str, int]:
    """Until `points` crash points: `lanes` homes side by side, each crashing executions in turn."""
    total = Tally()
    lock = threading.Lock()
    root = Path(tempfile.mkdtemp(prefix="lanner-chaos-"))

    def lane(i: int) -> None:
        rng = random.Random(seed * 100 + i)
        home, log = Home(root / f"home{i}"), root / f"effects{i}.log"
        mine = Tally()
        while True:
            with lock:
                if total.crash_points + mine.crash_points >= points:
                    break
            before = mine.crash_points
            crash_once(home, log, rng, mine, work=0.15, cleanup=0.15, extra_crashes=2, mode=aim)
            with lock:
                total.crash_points += mine.crash_points - before
                mine.crash_points = before  # counted once, in the total
        with lock:
            for name in ROWS:
                if name != "crash_points":
                    setattr(total, name, getattr(total, name) + getattr(mine, name))
            for state, n in mine.states.items():
                total.states[state] = total.states.get(state, 0) + n

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**{name: getattr(total, name) for name in ROWS}, "states": total.states}


def show(mode: str, figures: dict, seconds: float) -> None:
    print(f"\n{mode} ({seconds:.0f} s)")
    for name in ROWS:
        if name in figures:
            print(f"  {name:<16} {figures[name]:>5}  {LABELS.get(name, '')}".rstrip())
    for name, value in figures.items():  # a mode's own figures (the cluster's tally names its causes)
        if name not in ROWS and name != "states":
            print(f"  {name:<16} {value}")
    if "states" in figures:
        print(f"  {'final states':<16} {figures['states']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 crash points per mode (≤ 60 s each here)")
    parser.add_argument("--mode", choices=("embedded", "cluster", "all"), default="all")
    parser.add_argument("--points", type=int, default=None,
                        help="crash points per mode (default 200, 400 without --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--aim", choices=("anywhere", "mid_task"), default="anywhere",
                        help="embedded crash points: uniformly over each execution's life, or inside tasks only")
    args = parser.parse_args()
    points = args.points or (200 if args.quick else 400)
    if args.mode in ("embedded", "all"):
        t0 = time.monotonic()
        show("embedded (lanner run + lanner execution continue, SIGKILL)", embedded(points, args.seed, aim=args.aim),
             time.monotonic() - t0)
    if args.mode in ("cluster", "all"):
        try:
            import chaos_cluster  # type: ignore[import-not-found]  # bench/chaos_cluster.py, beside this file
        except ImportError:
            print("\ncluster: bench/chaos_cluster.py is missing", file=sys.stderr)
            sys.exit(1)
        t0 = time.monotonic()
        show("cluster (PostgreSQL executors and workers, SIGKILL)", chaos_cluster.run(args.quick),
             time.monotonic() - t0)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
