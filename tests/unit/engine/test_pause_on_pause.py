"""Pause `onPause` (Kestra's newest Pause): one runnable task started when the pause starts waiting,
counted as the Pause's first child once the pause is over (decisions only, fabricated results)."""

from __future__ import annotations

from lanner.engine.executor import Executor
from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
PAUSE = "io.kestra.plugin.core.flow.Pause"


def _flow(pause: str = "") -> str:
    return f"""
id: f
namespace: company.team
tasks:
  - id: wait
    type: {PAUSE}
    onPause: {{id: hello, type: {LOG}, message: x}}{pause}
  - {{id: next, type: {LOG}, message: x}}
"""


def test_on_pause_starts_with_the_wait_as_a_child_of_the_pause_and_the_execution_stays_paused() -> None:
    d = Driver(_flow()).start()
    assert [r.task_id for r in d.pending] == ["hello"]
    assert d.states() == {"wait": "PAUSED", "hello": "RUNNING"}
    d.run()
    assert d.states() == {"wait": "PAUSED", "hello": "SUCCESS"}
    assert d.exe.state.current is StateType.PAUSED
    runs = {r.task_id: r for r in d.exe.task_runs}
    assert runs["hello"].parent_id == runs["wait"].id
    d.resume()
    assert d.order == ["hello", "next"]
    assert d.states() == {"wait": "SUCCESS", "hello": "SUCCESS", "next": "SUCCESS"}
    assert d.exe.state.current is StateType.SUCCESS


def test_a_failed_on_pause_leaves_the_pause_waiting_then_fails_it_with_its_errors_and_finally() -> None:
    d = Driver(_flow(f"""
    errors:
      - {{id: err, type: {LOG}, message: x}}
    finally:
      - {{id: fin, type: {LOG}, message: x}}"""), outcomes={"hello": StateType.FAILED})
    d.run()
    assert d.states() == {"wait": "PAUSED", "hello": "FAILED"}
    assert d.exe.state.current is StateType.PAUSED
    d.resume()
    assert d.order == ["hello", "err", "fin"]
    assert d.states()["wait"] == "FAILED" and "next" not in d.states()
    assert d.exe.state.current is StateType.FAILED


def test_a_pause_resumed_while_on_pause_runs_waits_for_it_before_its_block_and_what_follows() -> None:
    d = Driver(_flow(f"\n    tasks:\n      - {{id: inside, type: {LOG}, message: x}}")).start()
    d._take(d.executor.resume(None, StateType.SUCCESS))
    assert d.states()["wait"] == "RUNNING" and [r.task_id for r in d.pending] == ["hello"]
    d.run()
    assert d.order == ["hello", "inside", "next"]
    assert d.states()["wait"] == "SUCCESS"


def test_a_kill_while_on_pause_runs_ends_the_pause_after_its_child_and_runs_its_finally_once() -> None:
    d = Driver(_flow(f"\n    finally:\n      - {{id: fin, type: {LOG}, message: x}}")).start()
    d.kill()
    d.run()
    assert d.states() == {"wait": "KILLED", "hello": "KILLED", "fin": "SUCCESS"}
    runs = {r.task_id: r for r in d.exe.task_runs}
    assert runs["hello"].state.end_date <= runs["wait"].state.end_date  # type: ignore[operator]
    assert d.exe.state.current is StateType.KILLED


def test_an_allowed_failure_of_on_pause_leaves_the_pause_a_warning_and_the_flow_goes_on() -> None:
    d = Driver(_flow().replace("message: x}", "message: x, allowFailure: true}", 1),
               outcomes={"hello": StateType.FAILED})
    d.run()
    d.resume()
    assert d.states() == {"wait": "WARNING", "hello": "WARNING", "next": "SUCCESS"}
    assert d.exe.state.current is StateType.WARNING


def test_a_disabled_on_pause_runs_nothing_and_the_pause_ends_as_a_plain_one() -> None:
    d = Driver(_flow().replace("message: x}", "message: x, disabled: true}", 1))
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    d.resume()
    assert d.states() == {"wait": "SUCCESS", "next": "SUCCESS"}


def test_on_pause_cut_off_by_a_crash_while_the_pause_waits_runs_again_once() -> None:
    d = Driver(_flow()).start()
    d.crash()
    assert [r.task_id for r in d.pending] == ["hello"]
    d.run()
    hello = next(r for r in d.exe.task_runs if r.task_id == "hello")
    assert [a.state.current for a in hello.attempts] == [StateType.FAILED, StateType.SUCCESS]
    assert d.exe.state.current is StateType.PAUSED
    d.resume()
    assert d.states() == {"wait": "SUCCESS", "hello": "SUCCESS", "next": "SUCCESS"}


def test_a_cluster_executor_rebuilt_while_the_pause_waits_dispatches_nothing_again() -> None:
    d = Driver(_flow()).start()
    d.executor = Executor(d.flow, d.exe, surroundings=d.executor.surroundings)
    assert d.executor.restore().dispatch == []
    d.run()  # the attempt still queued reports to the rebuilt executor
    d.resume()
    assert d.states() == {"wait": "SUCCESS", "hello": "SUCCESS", "next": "SUCCESS"}
