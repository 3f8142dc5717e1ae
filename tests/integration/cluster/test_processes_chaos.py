"""Crash safety with real processes on PostgreSQL, judged by the tasks' own side effects.

200 executions of a flow whose main and `finally` tasks are shell commands appending to a ledger
file, while workers and the executor are SIGKILLed and restarted at random (some kills aimed at a
worker running a `finally` task). From the ledger: every execution ends, no two attempts of a task
run ever run at once, every `finally` finishes at least once, and a finished attempt is run again
only when its worker was SIGKILLed between the task's last side effect and the moment its result
became durable (a few milliseconds, under 0.5 s on a loaded machine), or when the task process
outlived its SIGKILLed worker (task processes are not yet stopped with their worker: see
docs/cluster.md, "Limits").

The killing lasts 10 s here (at least 8 SIGKILLs, going on longer if fewer were sent): the long
rounds, 400 executions and at least 200 SIGKILLs, are bench/chaos_cluster.py's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cluster.chaos import run_chaos


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_200_executions_survive_sigkills_of_workers_and_the_executor(postgres_url: str, tmp_path: Path) -> None:
    tally = run_chaos(postgres_url, tmp_path, executions=200, chaos_seconds=10.0, workers=3, min_kills=8)
    print(tally.line())
    side = tally.side
    assert tally.kills >= 8, tally.line()
    assert tally.lost == 0 and tally.terminal == 200, tally.line()
    assert tally.stuck == 0, tally.line()
    assert side.overlapping == 0, tally.line()
    assert side.finally_runs["0"] == 0, tally.line()
    assert side.rerun_without_crash == 0, tally.line()
    assert all(gap < 0.5 for gap in side.ended_before_crash), side.ended_before_crash
