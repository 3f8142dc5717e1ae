"""A paused run's end (a Pause's duration or timeout, an Approval's expiry) is a timer of the process
that paused it; when another process takes the execution over (embedded: `Executor.start` on a
stored execution), the timer is armed again, due when it was, so the wait still ends by itself and
its `errors`/`finally` run once. A cluster executor keeps its timers queued: `restore` arms none."""

from __future__ import annotations

import pytest

from lanner.engine.executor import Executor
from tests.unit.engine.driver import Driver
from tests.unit.engine.test_pause_block import CLEANUP, LOG


def _flow(task: str) -> str:
    """A flow whose first task waits (`task`, with its own errors and finally), then `next`."""
    head = "id: f\nnamespace: company.team\ntasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow."
    return head + task + CLEANUP + f"\n  - {{id: next, type: {LOG}, message: x}}\n"


CASES = [  # the task, the state its run ends in, the runs that ran after the crash
    ("Pause\n    pauseDuration: PT1M\n    behavior: WARN", "WARNING", ["fin", "next"]),
    ("Pause\n    timeout: PT1M", "FAILED", ["err", "fin"]),
    ("Approval\n    timeout: PT1M", "CANCELLED", ["fin"]),
]


@pytest.mark.parametrize(("task", "ended", "after"), CASES, ids=["duration", "timeout", "expiry"])
def test_a_wait_taken_over_after_a_crash_still_ends_when_it_was_due(task: str, ended: str, after: list[str]) -> None:
    d = Driver(_flow(task))
    d.run()
    [armed] = [r for fx in d.effects for r in fx.resumes]
    assert d.states()["wait"] == "PAUSED"
    rearmed = d.crash().resumes
    assert rearmed == [armed]  # the same run, due at the same time, ending the same way
    d.order.clear()
    d.fire_pause_timers()
    assert d.order == after
    assert d.states()["wait"] == ended
    assert [r.task_id for r in d.exe.task_runs].count("fin") == 1


def test_a_cluster_executor_rebuilding_a_paused_execution_arms_no_timer_again() -> None:
    d = Driver(_flow(CASES[1][0]))
    d.run()
    assert Executor(d.flow, d.exe, surroundings=d.executor.surroundings).restore().resumes == []


def test_a_pause_that_only_a_resume_ends_arms_nothing_after_a_crash() -> None:
    d = Driver(_flow("Pause"))
    d.run()
    assert d.crash().resumes == []
    assert d.states()["wait"] == "PAUSED"
