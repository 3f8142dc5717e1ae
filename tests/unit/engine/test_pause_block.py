"""Pause with Kestra's deprecated `tasks`: a block that runs after the pause, with the Pause's own
errors and finally; the Pause ends with the block's state. A pause whose wait ends badly (its
`timeout`, `behavior: FAIL` or `CANCEL`) runs no block but still its own errors and finally, once,
as Kestra's `pause-errors-finally-after-execution` asserts (decisions only, fabricated results)."""

from __future__ import annotations

import pytest

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"
PAUSE = "io.kestra.plugin.core.flow.Pause"


CLEANUP = f"""
    errors:
      - {{id: err, type: {LOG}, message: x}}
    finally:
      - {{id: fin, type: {LOG}, message: x}}"""


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


def test_the_tasks_of_a_pause_wait_for_the_resume_then_run_in_order_before_what_follows() -> None:
    d = Driver(_flow())
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    assert d.exe.state.current is StateType.PAUSED
    d.resume()
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states() == {"wait": "SUCCESS", "inside1": "SUCCESS", "inside2": "SUCCESS", "next": "SUCCESS"}
    assert d.exe.state.current is StateType.SUCCESS


def test_a_failing_task_of_the_block_runs_the_pauses_errors_and_finally_and_fails_it() -> None:
    d = Driver(_flow(CLEANUP), outcomes={"inside1": StateType.FAILED})
    d.run()
    d.resume()
    assert d.order == ["inside1", "err", "fin"]
    assert d.states()["wait"] == "FAILED"
    assert "inside2" not in d.states() and "next" not in d.states()
    assert d.exe.state.current is StateType.FAILED


@pytest.mark.parametrize(("behavior", "ended"), [("RESUME", "SUCCESS"), ("WARN", "WARNING")])
def test_a_pause_ended_by_its_duration_runs_its_block_and_warn_leaves_a_warning(behavior: str, ended: str) -> None:
    d = Driver(_flow(pause=f"\n    pauseDuration: PT1M\n    behavior: {behavior}"))
    d.run()
    d.fire_pause_timers()
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states()["wait"] == ended


def test_a_pause_whose_duration_ends_with_fail_does_not_run_its_block() -> None:
    d = Driver(_flow(pause="\n    pauseDuration: PT1M\n    behavior: FAIL"))
    d.run()
    d.fire_pause_timers()
    assert d.order == []
    assert d.states() == {"wait": "FAILED"}
    histories = [h.state for h in d.exe.task_runs[0].state.histories]
    assert histories.count(StateType.RUNNING) == 1  # nothing to run after it: it fails where it waits (Kestra)


def test_a_block_interrupted_by_a_crash_resumes_inside_it_and_keeps_the_warn() -> None:
    d = Driver(_flow(pause="\n    pauseDuration: PT1M\n    behavior: WARN"))
    d.run()
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    d._take(d.executor.resume(run_id, state))
    assert [r.task_id for r in d.pending] == ["inside1"]
    d.crash()  # a new executor rebuilt from the stored execution picks up where it was
    d.run()
    assert d.order == ["inside1", "inside2", "next"]
    assert d.states()["wait"] == "WARNING"
    assert d.exe.state.current is StateType.WARNING


@pytest.mark.parametrize("pause", ["\n    timeout: PT1M", "\n    pauseDuration: PT1M\n    behavior: FAIL"])
def test_a_pause_that_fails_waiting_runs_no_block_but_its_errors_and_finally_then_fails(pause: str) -> None:
    d = Driver(_flow(CLEANUP, pause))
    d.run()
    d.fire_pause_timers()
    assert d.order == ["err", "fin"]
    assert d.states() == {"wait": "FAILED", "err": "SUCCESS", "fin": "SUCCESS"}
    assert d.exe.state.current is StateType.FAILED


def test_a_cancelled_pause_skips_its_errors_but_runs_its_finally_and_the_execution_ends_cancelled() -> None:
    d = Driver(_flow(CLEANUP, "\n    pauseDuration: PT1M\n    behavior: CANCEL"))
    d.run()
    d.fire_pause_timers()
    assert d.order == ["fin"]
    assert d.states()["wait"] == "CANCELLED"
    assert d.exe.state.current is StateType.CANCELLED


def test_a_timed_out_pause_allowed_to_fail_runs_its_errors_and_the_flow_goes_on_warned() -> None:
    d = Driver(_flow(CLEANUP + "\n    allowFailure: true", "\n    timeout: PT1M"))
    d.run()
    d.fire_pause_timers()
    assert d.order == ["err", "fin", "next"]
    assert d.states()["wait"] == "WARNING"
    assert d.exe.state.current is StateType.WARNING


@pytest.mark.parametrize("steps_before_the_crash", [0, 1])
def test_a_crash_in_the_errors_or_finally_of_a_timed_out_pause_runs_each_once(steps_before_the_crash: int) -> None:
    d = Driver(_flow(CLEANUP, "\n    timeout: PT1M"))
    d.run()
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    d._take(d.executor.resume(run_id, state))
    for _ in range(steps_before_the_crash):
        d.step()
    d.crash()
    d.run()
    assert d.created_order() == ["wait", "err", "fin"]
    assert d.states()["wait"] == "FAILED"
    assert d.exe.state.current is StateType.FAILED


@pytest.mark.parametrize("block", [True, False], ids=["with-tasks", "without-tasks"])
def test_a_kill_while_a_pause_waits_runs_its_finally_once_but_not_its_errors_nor_its_block(block: bool) -> None:
    flow = _flow(CLEANUP)
    if not block:
        flow = flow.replace(f"""    tasks:
      - {{id: inside1, type: {LOG}, message: x}}
      - {{id: inside2, type: {LOG}, message: x}}""", "    pauseDuration: PT1M")
    d = Driver(flow)
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    d.kill()
    d.run()
    assert d.order == ["fin"]
    assert d.states() == {"wait": "KILLED", "fin": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED


def test_a_crash_while_the_finally_of_a_killed_pause_runs_runs_it_once() -> None:
    d = Driver(_flow(CLEANUP))
    d.run()
    d.kill()
    d.crash()
    d.run()
    assert d.created_order() == ["wait", "fin"]
    assert d.states() == {"wait": "KILLED", "fin": "SUCCESS"}


@pytest.mark.parametrize("pause", ["\n    pauseDuration: \"{{ 'soon' }}\"", "\n    timeout: \"{{ 'later' }}\"",
                                   "\n    pauseDuration: \"{{ nothing.here }}\""])
def test_a_pause_whose_duration_renders_to_no_duration_fails_as_a_task_and_cleanup_runs(pause: str) -> None:
    d = Driver(_flow(CLEANUP, pause) + f"finally:\n  - {{id: flow_fin, type: {LOG}, message: x}}\n")
    d.run()
    assert d.states()["wait"] == "FAILED"
    assert d.order == ["flow_fin"]
    assert any("could not be read" in line for line in d.logs("ERROR"))
    assert d.exe.state.current is StateType.FAILED
