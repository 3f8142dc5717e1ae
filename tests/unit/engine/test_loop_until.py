"""LoopUntil: iterations until the condition holds, limits, failures and kills (pure engine)."""

from __future__ import annotations

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver


def loop(condition: str, extra: str = "", finally_: bool = True) -> str:
    text = f"""
id: f
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.LoopUntil
    condition: "{condition}"
    checkFrequency:
      interval: PT1S
{extra}    tasks:
      - {{id: step, type: io.kestra.plugin.core.debug.Return, format: "{{{{ outputs.loop.iterationCount }}}}"}}
  - {{id: after, type: io.kestra.plugin.core.log.Log, message: x}}
"""
    if finally_:
        text += "finally:\n  - {id: fin, type: io.kestra.plugin.core.log.Log, message: x}\n"
    return text


def test_children_run_again_until_the_condition_holds() -> None:
    d = Driver(loop("{{ outputs.loop.iterationCount >= 3 }}"))
    exe = d.run()
    assert d.order == ["step", "step", "step", "after", "fin"]
    loop_run = exe.task_runs[0]
    assert loop_run.current is StateType.SUCCESS and loop_run.outputs["iterationCount"] == 3
    assert [r.iteration for r in exe.task_runs if r.task_id == "step"] == [0, 1, 2]
    assert len(d.retries) == 0 and exe.state.current is StateType.SUCCESS


def test_the_next_iteration_waits_for_the_interval() -> None:
    d = Driver(loop("false"))
    d.start()
    d.step()  # first iteration's child
    waits = [due for fx in d.effects for _, due in fx.retries]
    assert len(waits) == 1
    assert (waits[0] - d.exe.task_runs[0].state.start_date).total_seconds() >= 0.9


def test_max_iterations_ends_the_loop_and_fails_it_only_when_asked() -> None:
    text = loop("false").replace("      interval: PT1S\n", "      interval: PT1S\n      maxIterations: 2\n")
    d = Driver(text)
    exe = d.run()
    assert d.order == ["step", "step", "after", "fin"] and exe.state.current is StateType.SUCCESS
    d = Driver(text.replace("    checkFrequency:", "    failOnMaxReached: true\n    checkFrequency:"))
    exe = d.run()
    assert d.order == ["step", "step", "fin"]
    assert exe.task_runs[0].current is StateType.FAILED and exe.state.current is StateType.FAILED


def test_a_failing_iteration_ends_the_loop_failed() -> None:
    d = Driver(loop("false"), {"step": StateType.FAILED})
    exe = d.run()
    assert d.order == ["step", "fin"] and exe.state.current is StateType.FAILED


def test_a_kill_while_waiting_ends_the_loop_and_runs_finally() -> None:
    d = Driver(loop("false"))
    d.start()
    d.step()
    d.kill()
    while d.step():
        pass
    assert d.states()["loop"] == "KILLED" and d.states()["fin"] == "SUCCESS"
    assert d.exe.state.current is StateType.KILLED


def test_an_executor_rebuilt_while_a_loop_waits_keeps_one_timer() -> None:
    from lanner.engine.executor import Executor
    from lanner.runtime.host import HOST

    d = Driver(loop("false"))
    d.start()
    d.step()  # the first iteration ended; the loop waits for its timer
    assert len([r for fx in d.effects for r in fx.retries]) == 1
    restarted = Executor(d.flow, d.exe, surroundings=HOST)  # the embedded runtime after a crash: its timers are gone
    assert [r for r, _ in restarted.start().retries] == [d.exe.task_runs[0].id]
    kept = Executor(d.flow, d.exe, surroundings=HOST)  # a cluster executor: the timer is still queued
    assert kept.restore().retries == []
