"""Crash safety with real processes on PostgreSQL: 200 executions while workers and the executor
are SIGKILLed and restarted at random. Every execution ends, each `finally` runs exactly once,
and no task run is left unfinished."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cluster.chaos import run_chaos


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_200_executions_survive_sigkills_of_workers_and_the_executor(postgres_url: str, tmp_path: Path) -> None:
    tally = run_chaos(postgres_url, tmp_path, executions=200, chaos_seconds=15.0, workers=3)
    print(tally.line())
    assert tally.kills >= 8, tally.line()
    assert tally.lost == 0, tally.line()
    assert tally.terminal == 200, tally.line()
    assert tally.finally_runs == {1: 200}, tally.line()
    assert tally.stuck == 0, tally.line()
