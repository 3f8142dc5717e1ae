"""Tasks the executor applies itself: Exit, Kill, Pause, Subflow (their decisions, no I/O)."""

from __future__ import annotations

from typing import Any

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"


def test_exit_ends_the_execution_with_its_state_skipping_later_tasks_but_running_finally() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - {{id: a, type: {LOG}, message: x}}
  - {{id: leave, type: io.kestra.plugin.core.execution.Exit, state: WARNING}}
  - {{id: never, type: {LOG}, message: x}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
""")
    exe = d.run()
    assert d.created_order() == ["a", "leave", "fin"]
    assert d.states()["leave"] == "WARNING"
    assert exe.state.current is StateType.WARNING


def test_exit_inside_a_flowable_ends_its_ancestors_with_that_state() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {{id: leave, type: io.kestra.plugin.core.execution.Exit, state: FAILED}}
      - {{id: never, type: {LOG}, message: x}}
  - {{id: after, type: {LOG}, message: x}}
""")
    exe = d.run()
    assert d.created_order() == ["seq", "leave"]
    assert d.states()["seq"] == "FAILED"
    assert exe.state.current is StateType.FAILED


def test_kill_task_kills_the_execution_and_finally_still_runs() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - {{id: stop, type: io.kestra.plugin.core.execution.Kill}}
  - {{id: never, type: {LOG}, message: x}}
errors:
  - {{id: err, type: {LOG}, message: x}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
""")
    exe = d.run()
    assert d.created_order() == ["stop", "fin"]
    assert exe.state.current is StateType.KILLED


def test_pause_pauses_the_execution_until_resumed() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - {{id: wait, type: io.kestra.plugin.core.flow.Pause}}
  - {{id: next, type: {LOG}, message: x}}
""")
    d.run()
    assert d.exe.state.current is StateType.PAUSED
    assert d.states() == {"wait": "PAUSED"}
    d._take(d.executor.resume())
    while d.step():
        pass
    assert d.states() == {"wait": "SUCCESS", "next": "SUCCESS"}
    assert [h.state.value for h in d.exe.state.histories] == ["CREATED", "RUNNING", "PAUSED", "RUNNING", "SUCCESS"]


def test_a_manual_resume_stores_its_values_and_who_resumed_as_the_pause_outputs() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - {{id: approved, type: BOOLEAN}}
  - {{id: next, type: {LOG}, message: x}}
""")
    d.run()
    paused = d.exe.by_task["wait"][0]
    d._take(d.executor.resume(inputs={paused.id: {"approved": True}}, by="ana"))
    while d.step():
        pass
    assert paused.outputs["onResume"] == {"approved": True}
    assert paused.outputs["resumed"]["by"] == "ana" and paused.outputs["resumed"]["on"]
    assert d.states() == {"wait": "SUCCESS", "next": "SUCCESS"}


def test_a_pause_whose_duration_ran_out_has_no_resume_outputs() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - {id: wait, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT5M}
""")
    d.run()
    run_id = d.exe.by_task["wait"][0].id
    d._take(d.executor.resume(run_id, StateType.SUCCESS))
    assert d.exe.by_task["wait"][0].outputs == {}


def test_a_pause_with_a_duration_asks_for_an_automatic_resume() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - {id: wait, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT5M, behavior: FAIL}
""")
    d.run()
    resumes = [r for fx in d.effects for r in fx.resumes]
    assert len(resumes) == 1 and resumes[0][2] is StateType.FAILED


def test_killing_a_paused_execution_kills_the_pause_and_runs_finally() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - {{id: wait, type: io.kestra.plugin.core.flow.Pause}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
""")
    d.run()
    d.kill()
    while d.step():
        pass
    assert d.states() == {"wait": "KILLED", "fin": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED


def test_subflow_asks_the_runtime_to_start_a_child_and_waits_for_its_end() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs: {a: 1}
""")
    d.run()
    starts = [s for fx in d.effects for s in fx.subflows]
    assert len(starts) == 1 and starts[0].flow_id == "child" and starts[0].inputs == {"a": 1}
    run = d.exe.task_runs[0]
    assert run.current is StateType.RUNNING and run.outputs["executionId"] == starts[0].execution_id
    d._take(d.executor.on_subflow_end(run.id, StateType.FAILED, {"o": 1}))
    assert run.current is StateType.FAILED and run.outputs["outputs"] == {"o": 1}
    assert d.exe.state.current is StateType.FAILED


def test_subflow_without_transmit_failed_succeeds_whatever_the_child_did() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: n, flowId: c, transmitFailed: false}
""")
    d.run()
    d._take(d.executor.on_subflow_end(d.exe.task_runs[0].id, StateType.FAILED, {}))
    assert d.exe.state.current is StateType.SUCCESS


def test_a_subflow_that_cannot_start_fails_its_task_run_with_the_reason() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: n, flowId: missing}
errors:
  - {id: e, type: io.kestra.plugin.core.log.Log, message: x}
""")
    d.run()
    fx = d._take(d.executor.fail_run(d.exe.task_runs[0].id, "flow `n.missing` was not found"))
    assert any("was not found" in log.message for log in fx.logs)
    while d.step():
        pass
    assert d.states() == {"call": "FAILED", "e": "SUCCESS"}


def test_subflow_kill_asks_the_runtime_to_kill_the_child() -> None:
    d = Driver("""
id: f
namespace: company.team
tasks:
  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: n, flowId: c}
""")
    d.run()
    fx = d.kill()
    assert fx.kill_executions == [d.exe.task_runs[0].outputs["executionId"]]


def test_an_execution_task_that_cannot_read_its_properties_fails_alone_and_finally_runs(monkeypatch: Any) -> None:
    """Every execution task known today catches its own template errors; this pins the net beneath
    them for one that would not. The fault is made up (no real property raises here any more): the
    executor's variables step is made to raise as a template error would."""
    from lanner.engine.execution_tasks import ExecutionTaskEffects
    from lanner.errors import LannerError

    def unreadable(self: Any, run: Any, task: Any) -> None:
        raise LannerError("`nope` is undefined")

    monkeypatch.setattr(ExecutionTaskEffects, "_change_variables", unreadable)
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.execution.SetVariables
    variables: {{a: "1"}}
  - {{id: never, type: {LOG}, message: x}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
""")
    exe = d.run()
    assert d.states() == {"set": "FAILED", "fin": "SUCCESS"}
    assert "`nope` is undefined" in d.logs("ERROR")
    assert exe.state.current is StateType.FAILED
