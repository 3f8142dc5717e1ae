"""Pause with Kestra's deprecated `tasks`: a block that runs after the pause, with the Pause's own
errors and finally; the Pause ends with the block's state (decisions only, fabricated results)."""

from __future__ import annotations

import pytest

from lanner.engine.executor import Executor
from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"
PAUSE = "io.kestra.plugin.core.flow.Pause"


def _flow(extra: str = "", pause: str = "") -> str:
    return f"""
id: f
namespace: company.team
tasks:
  - id: wait
    type: {PAUSE}{pause}
    tasks:
      - {{id: inside1, type: {LOG}, message: x}}
      - {{id: inside2, type: {LOG}, message: x}}{extra}
  - {{id: next, type: {LOG}, message: x}}
"""


def _resume(d: Driver, state: StateType = StateType.SUCCESS) -> None:
    d._take(d.executor.resume(None, state))
    while d.step():
        pass


def test_the_tasks_of_a_pause_wait_for_the_resume_then_run_in_order_before_what_follows() -> None:
    d = Driver(_flow())
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    assert d.exe.state.current is StateType.PAUSED
    _resume(d)
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states() == {"wait": "SUCCESS", "inside1": "SUCCESS", "inside2": "SUCCESS", "next": "SUCCESS"}
    assert d.exe.state.current is StateType.SUCCESS


def test_a_failing_task_of_the_block_runs_the_pauses_errors_and_finally_and_fails_it() -> None:
    d = Driver(_flow(f"""
    errors:
      - {{id: err, type: {LOG}, message: x}}
    finally:
      - {{id: fin, type: {LOG}, message: x}}"""), outcomes={"inside1": StateType.FAILED})
    d.run()
    _resume(d)
    assert d.order == ["inside1", "err", "fin"]
    assert d.states()["wait"] == "FAILED"
    assert "inside2" not in d.states() and "next" not in d.states()
    assert d.exe.state.current is StateType.FAILED


@pytest.mark.parametrize(("behavior", "ended"), [("RESUME", "SUCCESS"), ("WARN", "WARNING")])
def test_a_pause_ended_by_its_duration_runs_its_block_and_warn_leaves_a_warning(behavior: str, ended: str) -> None:
    d = Driver(_flow(pause=f"\n    pauseDuration: PT1M\n    behavior: {behavior}"))
    d.run()
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    d._take(d.executor.resume(run_id, state))
    while d.step():
        pass
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states()["wait"] == ended


def test_a_pause_whose_duration_ends_with_fail_does_not_run_its_block() -> None:
    d = Driver(_flow(pause="\n    pauseDuration: PT1M\n    behavior: FAIL"))
    d.run()
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    d._take(d.executor.resume(run_id, state))
    while d.step():
        pass
    assert d.order == []
    assert d.states() == {"wait": "FAILED"}


def test_a_block_interrupted_by_a_crash_resumes_inside_it_and_keeps_the_warn() -> None:
    d = Driver(_flow(pause="\n    pauseDuration: PT1M\n    behavior: WARN"))
    d.run()
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    d._take(d.executor.resume(run_id, state))
    assert [r.task_id for r in d.pending] == ["inside1"]
    # a new executor rebuilt from the stored execution (as after a crash) picks up where it was
    d.executor = Executor(d.flow, d.exe, surroundings=d.executor.surroundings)
    d.pending.clear()
    d._take(d.executor.start())
    while d.step():
        pass
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states()["wait"] == "WARNING"
    assert d.exe.state.current is StateType.WARNING
