"""Crash points on the PostgreSQL cluster, counted from what the tasks did outside the store.

Real `lanner server executor|worker|scheduler` processes (forked from a pre-imported parent, so a
restart costs milliseconds) run executions of a flow whose main task and `finally` task are shell
commands appending `start`/`end` lines to a ledger file, while a loop SIGKILLs a worker or the
executor every fraction of a second — about a third of the kills aimed at a worker while it runs a
`finally` task, waiting a moment for one when none runs — and restarts it. Printed (and returned by `run`):

- executions, crash_points (SIGKILLs), crashes_in_finally (aimed at a `finally` task);
- mix_executor / mix_idle_worker / mix_worker_in_main / mix_worker_in_finally: what each SIGKILL hit;
- lost (not ended), stuck (task runs not ended);
- two_owners_at_once: attempts of one task run that ran at the same time;
- finally_0 / finally_1 / finally_2plus: executions whose `finally` task finished 0, 1, 2+ times;
- main_finished_twice; finished_attempts_rerun: an attempt started after an earlier attempt of the
  same task run had finished; cut_off_attempts_rerun: attempts cut off by a crash, then run again;
- of_which_...: why each finished attempt ran again — its process outlived its SIGKILLed worker, or
  the worker was SIGKILLed after the task's last side effect but before its result was stored, or
  (a bug) no crash at all;
- processes_outlived_worker: task processes that finished after their worker was SIGKILLed (they
  are not stopped with it: see docs/cluster.md, "Limits");
- seconds (roles up to the tally), of which seconds_killing.

Targets: all 0 but finally_1 = executions; a re-run only of a cut-off attempt.

    python bench/chaos_cluster.py [--quick]

`--quick` (≤ 60 s on 2 cores) and the full run both make at least 200 crash points. PostgreSQL is
LANNER_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); a fresh database is
created and dropped. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.cluster.chaos import run_chaos  # noqa: E402
from tests.integration.cluster.databases import PostgresDatabases, postgres_url  # noqa: E402


def run(quick: bool = False) -> dict[str, int | float]:
    """One chaos round of ≥ 200 crash points; the tally from the ledger (see the module docstring)."""
    dbs = PostgresDatabases(postgres_url())
    try:
        with tempfile.TemporaryDirectory(prefix="lanner-chaos-cluster-") as tmp:
            # quick: 4 workers and a kill every few hundredths of a second (restarts run beside the
            # killing); an aimed kill waits up to 0.15 s for a worker running its target, so the
            # crash points stay spread over main tasks, `finally` tasks, idle workers and the executor.
            tally = run_chaos(dbs.new(), Path(tmp), executions=100 if quick else 400,
                              chaos_seconds=14.0 if quick else 80.0, workers=4 if quick else 3, seed=11,
                              kill_every=(0.02, 0.06) if quick else (0.1, 0.5), restart_after=(0.0, 0.05),
                              aim_at_finally=0.35, min_kills=200, timeout=60.0, patience=0.15 if quick else 0.3)
            return tally.figures()
    finally:
        dbs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run that ends within 60 s")
    args = parser.parse_args()
    began = time.monotonic()
    figures = run(quick=args.quick)
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print(f"{'total seconds':>28}: {time.monotonic() - began:.1f}")


if __name__ == "__main__":
    main()
