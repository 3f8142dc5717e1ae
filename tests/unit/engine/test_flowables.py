"""Flowable scopes with local errors/finally, matching Kestra's FinallyTest outcome table."""

from __future__ import annotations

import pytest

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

IF_BLOCK = """
      - id: if
        type: io.kestra.plugin.core.flow.If
        condition: "{{ inputs.failed == false }}"
        then:
          - id: ok
            type: io.kestra.plugin.core.debug.Return
            format: ok
        else:
          - id: ko
            type: io.kestra.plugin.core.execution.Fail
"""
ERRORS = """
    errors:
      - id: e1
        type: io.kestra.plugin.core.log.Log
        message: e1
      - id: e2
        type: io.kestra.plugin.core.log.Log
        message: e2
"""
FINALLY = """
    finally:
      - id: a1
        type: io.kestra.plugin.core.log.Log
        message: a1
      - id: a2
        type: io.kestra.plugin.core.log.Log
        message: a2
"""


def wrap(kind: str, extra: str = "", errors: bool = True) -> str:
    return f"""
id: f
namespace: company.team
inputs:
  - id: failed
    type: BOOL
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.{kind}
{extra}    tasks:
{IF_BLOCK}{ERRORS if errors else ""}{FINALLY}"""


def drive(text: str, failed: bool) -> Driver:
    d = Driver(text, {"ko": StateType.FAILED})
    d.exe.inputs = {"failed": failed}
    d.run()
    return d


@pytest.mark.parametrize("kind,extra", [("Sequential", ""), ("AllowFailure", ""), ("Parallel", "")])
@pytest.mark.parametrize("errors", [True, False])
def test_group_success_runs_finally_only(kind: str, extra: str, errors: bool) -> None:
    d = drive(wrap(kind, extra, errors), failed=False)
    assert d.exe.state.current is StateType.SUCCESS
    assert d.created_order() == ["group", "if", "ok", "a1", "a2"]


@pytest.mark.parametrize("kind,final", [("Sequential", "FAILED"), ("AllowFailure", "WARNING"), ("Parallel", "FAILED")])
def test_group_failure_runs_errors_then_finally_once(kind: str, final: str) -> None:
    d = drive(wrap(kind), failed=True)
    assert d.exe.state.current.value == final
    assert d.created_order() == ["group", "if", "ko", "e1", "e2", "a1", "a2"]
    assert d.states()["ko"] == "FAILED" and d.states()["a2"] == "SUCCESS"


def test_foreach_runs_its_finally_once_after_all_iterations() -> None:
    text = wrap("ForEach", "    values: [\"1\", \"2\", \"3\"]\n    concurrencyLimit: 0\n")
    d = drive(text, failed=False)
    assert d.exe.state.current is StateType.SUCCESS
    assert len(d.exe.task_runs) == 9  # group + 3×(if, ok) + a1 + a2
    assert d.created_order()[-2:] == ["a1", "a2"]
    assert {r.value for r in d.exe.task_runs if r.task_id == "if"} == {"1", "2", "3"}


def test_foreach_failure_runs_errors_and_finally_once() -> None:
    text = wrap("ForEach", "    values: [\"1\", \"2\", \"3\"]\n    concurrencyLimit: 0\n")
    d = drive(text, failed=True)
    assert d.exe.state.current is StateType.FAILED
    assert len(d.exe.task_runs) == 11
    assert d.created_order()[-4:] == ["e1", "e2", "a1", "a2"]


def test_sequential_foreach_failure_stops_the_remaining_iterations() -> None:
    text = wrap("ForEach", "    values: [\"1\", \"2\", \"3\"]\n")
    d = drive(text, failed=True)
    assert [r.value for r in d.exe.task_runs if r.task_id == "if"] == ["1"]


def test_a_failed_group_stops_the_flow_and_runs_the_flow_finally() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: ko
        type: io.kestra.plugin.core.execution.Fail
  - id: ok
    type: io.kestra.plugin.core.log.Log
    message: never
finally:
  - id: a1
    type: io.kestra.plugin.core.log.Log
    message: a1
"""
    d = Driver(text, {"ko": StateType.FAILED})
    d.run()
    assert d.created_order() == ["seq", "ko", "a1"]
    assert d.exe.state.current is StateType.FAILED


def test_nested_local_and_flow_handlers_run_in_kestras_order() -> None:
    text = """
id: demo
namespace: company.team
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {id: a, type: io.kestra.plugin.core.execution.Fail}
      - {id: b, type: io.kestra.plugin.core.log.Log, message: never}
    errors:  [{id: seq_err, type: io.kestra.plugin.core.log.Log, message: "{{ execution.state }}"}]
    finally: [{id: seq_fin, type: io.kestra.plugin.core.log.Log, message: cleanup}]
  - {id: c, type: io.kestra.plugin.core.log.Log, message: never}
errors:         [{id: flow_err, type: io.kestra.plugin.core.log.Log, message: alert}]
finally:        [{id: flow_fin, type: io.kestra.plugin.core.log.Log, message: cleanup}]
afterExecution: [{id: after, type: io.kestra.plugin.core.log.Log, message: "{{ execution.state }}"}]
"""
    d = Driver(text, {"a": StateType.FAILED})
    d.run()
    assert d.created_order() == ["seq", "a", "seq_err", "seq_fin", "flow_err", "flow_fin", "after"]
    assert d.exe.state.current is StateType.FAILED


def test_finally_of_a_sequential_inside_a_foreach_runs_once_per_iteration() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: seq
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - {id: work, type: io.kestra.plugin.core.log.Log, message: "{{ parent.taskrun.value }}"}
        finally:
          - {id: clean, type: io.kestra.plugin.core.log.Log, message: clean}
"""
    d = Driver(text)
    d.run()
    assert [r.task_id for r in d.exe.task_runs].count("clean") == 2
    assert d.exe.state.current is StateType.SUCCESS


def test_kill_reaches_running_children_and_every_started_finally_runs() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {id: p1, type: io.kestra.plugin.core.log.Log, message: x}
      - {id: p2, type: io.kestra.plugin.core.log.Log, message: x}
    finally:
      - {id: par_fin, type: io.kestra.plugin.core.log.Log, message: x}
finally:
  - {id: flow_fin, type: io.kestra.plugin.core.log.Log, message: x}
"""
    d = Driver(text)
    d.start()
    assert sorted(r.task_id for r in d.pending) == ["p1", "p2"]
    d.kill()
    while d.step():
        pass
    assert d.states() == {"par": "KILLED", "p1": "KILLED", "p2": "KILLED", "par_fin": "SUCCESS", "flow_fin": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED


def test_a_flowable_in_finally_runs_all_its_children_after_a_kill() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - {id: work, type: io.kestra.plugin.core.log.Log, message: x}
finally:
  - id: cleanup
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {id: first, type: io.kestra.plugin.core.log.Log, message: x}
      - {id: second, type: io.kestra.plugin.core.log.Log, message: x}
"""
    d = Driver(text)
    d.start()
    d.kill()
    while d.step():
        pass
    assert d.states() == {"work": "KILLED", "cleanup": "SUCCESS", "first": "SUCCESS", "second": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED


def test_a_parallel_foreach_in_finally_starts_its_children_together_after_a_kill() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - {id: work, type: io.kestra.plugin.core.log.Log, message: x}
finally:
  - id: cleanup
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c"]
    concurrencyLimit: 0
    tasks:
      - {id: each, type: io.kestra.plugin.core.log.Log, message: x}
"""
    d = Driver(text)
    d.start()
    d.kill()  # the KILLED result of `work` ends the main block: the cleanup ForEach opens
    assert sorted(r.value for r in d.pending if r.task_id == "each") == ["a", "b", "c"]
    while d.step():
        pass
    assert d.states()["cleanup"] == "SUCCESS"


def test_switch_picks_the_matching_case_or_defaults_and_fails_without_either() -> None:
    text = """
id: f
namespace: company.team
inputs:
  - {id: v, type: STRING}
tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.v }}"
    cases:
      A: [{id: a, type: io.kestra.plugin.core.log.Log, message: a}]
      B: [{id: b, type: io.kestra.plugin.core.log.Log, message: b}]
"""
    for value, expected in (("A", ["sw", "a"]), ("B", ["sw", "b"])):
        d = Driver(text)
        d.exe.inputs = {"v": value}
        d.run()
        assert d.created_order() == expected
        assert d.exe.state.current is StateType.SUCCESS
    d = Driver(text)
    d.exe.inputs = {"v": "Z"}
    d.run()
    assert d.states() == {"sw": "FAILED"}
    assert d.exe.state.current is StateType.FAILED


# `concurrent` may also be a template, rendered when the Parallel starts (Kestra's Property<Integer>)
@pytest.mark.parametrize("concurrent", ["2", "\"{{ 1 + 1 }}\""])
def test_parallel_concurrency_limits_how_many_branches_run_at_once(concurrent: str) -> None:
    text = f"""
id: f
namespace: company.team
tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: {concurrent}
    tasks:
      - {{id: p1, type: io.kestra.plugin.core.log.Log, message: x}}
      - {{id: p2, type: io.kestra.plugin.core.log.Log, message: x}}
      - {{id: p3, type: io.kestra.plugin.core.log.Log, message: x}}
"""
    d = Driver(text)
    d.start()
    assert len(d.pending) == 2
    d.run()
    assert d.exe.state.current is StateType.SUCCESS


def test_dag_concurrent_rendering_below_zero_fails_the_dag_when_it_starts() -> None:
    text = """
id: f
namespace: company.team
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    concurrent: "{{ 0 - 1 }}"
    tasks:
      - task: {id: a, type: io.kestra.plugin.core.log.Log, message: hello}
"""
    d = Driver(text)
    exe = d.run()
    assert d.states() == {"dag": "FAILED"}
    assert any("`concurrent` rendered to -1; it must be 0 (no limit) or more" in m for m in d.logs("ERROR"))
    assert exe.state.current is StateType.FAILED


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_concurrent_that_is_neither_a_count_nor_a_template_is_refused_at_validation(value: str) -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    with pytest.raises(ValidationErrors, match="is not a whole number 0 .no limit. or more, nor a template"):
        load_flow(f"id: f\nnamespace: company.team\ntasks:\n  - id: par\n"
                  f"    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {value}\n"
                  "    tasks:\n      - {id: p1, type: io.kestra.plugin.core.log.Log, message: x}\n")


DAG = """
id: f
namespace: company.team
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: t1, type: io.kestra.plugin.core.log.Log, message: x}
      - task: {id: t2, type: io.kestra.plugin.core.log.Log, message: x}
        dependsOn: [t1]
      - task: {id: t3, type: io.kestra.plugin.core.log.Log, message: x}
        dependsOn: [t1]
      - task: {id: t4, type: io.kestra.plugin.core.log.Log, message: x}
        dependsOn: [t2, t3]
    finally:
      - {id: fin, type: io.kestra.plugin.core.log.Log, message: x}
"""


def test_dag_starts_a_task_only_when_its_dependencies_ended() -> None:
    d = Driver(DAG)
    d.start()
    assert [r.task_id for r in d.pending] == ["t1"]
    d.step()
    assert sorted(r.task_id for r in d.pending) == ["t2", "t3"]
    d.step()
    assert [r.task_id for r in d.pending] == ["t3"]  # t4 still waits for t3
    while d.step():
        pass
    assert d.created_order() == ["dag", "t1", "t2", "t3", "t4", "fin"]
    assert d.exe.state.current is StateType.SUCCESS


def test_dag_failure_stops_dependants_and_runs_finally() -> None:
    d = Driver(DAG, {"t2": StateType.FAILED})
    d.run()
    assert "t4" not in d.created_order()
    assert d.states()["fin"] == "SUCCESS"
    assert d.exe.state.current is StateType.FAILED


@pytest.mark.parametrize("deps,message", [("[t9]", "Not existing task id in dependency: t9"),
                                          ("[t2]", "Cyclic dependency detected")])
def test_dag_rejects_unknown_and_cyclic_dependencies_at_validation(deps: str, message: str) -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    text = DAG.replace("dependsOn: [t2, t3]", "dependsOn: [t2, t3]").replace(
        "      - task: {id: t2, type: io.kestra.plugin.core.log.Log, message: x}\n        dependsOn: [t1]",
        "      - task: {id: t2, type: io.kestra.plugin.core.log.Log, message: x}\n"
        f"        dependsOn: {deps.replace('t2', 't4')}")
    with pytest.raises(ValidationErrors) as err:
        load_flow(text)
    assert message in err.value.render()


def side_by_side(kind: str, on_child_failure: str | None) -> str:
    """A Dag or Parallel of a failing task, a plain sibling and a nested Sequential with its own
    `finally`, and the flowable's own `finally`."""
    setting = f"    onChildFailure: {on_child_failure}\n" if on_child_failure else ""
    children = [
        "{id: boom, type: io.kestra.plugin.core.execution.Fail}",
        "{id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S}",
        "{id: seq, type: io.kestra.plugin.core.flow.Sequential, tasks: ["
        "{id: inner, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S}, "
        "{id: after_inner, type: io.kestra.plugin.core.log.Log, message: x}], "
        "finally: [{id: inner_cleanup, type: io.kestra.plugin.core.log.Log, message: x}]}",
    ]
    listed = "".join(f"      - task: {c}\n" if kind == "Dag" else f"      - {c}\n" for c in children)
    return (f"id: f\nnamespace: company.team\ntasks:\n  - id: group\n    type: io.kestra.plugin.core.flow.{kind}\n"
            f"{setting}    tasks:\n{listed}"
            "    finally:\n      - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: x}\n")


@pytest.mark.parametrize("kind", ["Dag", "Parallel"])
@pytest.mark.parametrize("setting,interrupted", [("CANCELLED", "CANCELLED"), ("cancel", "CANCELLED"),
                                                 ("FAILED", "FAILED"), ("FAIL", "FAILED")])
def test_on_child_failure_interrupts_running_siblings_at_any_depth_into_its_state(
        kind: str, setting: str, interrupted: str) -> None:
    d = Driver(side_by_side(kind, setting))
    d.start()
    assert sorted(r.task_id for r in d.pending) == ["boom", "inner", "slow"]
    boom = next(r for r in d.pending if r.task_id == "boom")
    d.pending.remove(boom)
    d.pending.insert(0, boom)  # the failure arrives first; the others are still at work
    d.outcomes["boom"] = StateType.FAILED
    d.run()
    states = d.states()
    assert states["slow"] == interrupted and states["inner"] == interrupted and states["seq"] == interrupted
    assert "after_inner" not in states  # nothing new starts in an interrupted branch
    assert states["inner_cleanup"] == "SUCCESS" and states["cleanup"] == "SUCCESS"  # cleanup still runs, once
    assert d.created_order().count("inner_cleanup") == 1 and d.created_order().count("cleanup") == 1
    assert states["group"] == "FAILED" and d.exe.state.current is StateType.FAILED
    assert not d.retries


@pytest.mark.parametrize("kind", ["Dag", "Parallel"])
@pytest.mark.parametrize("setting", [None, "CONTINUE", "continue"])
def test_on_child_failure_continue_lets_running_siblings_end(kind: str, setting: str | None) -> None:
    d = Driver(side_by_side(kind, setting), {"boom": StateType.FAILED})
    d.start()
    boom = next(r for r in d.pending if r.task_id == "boom")
    d.pending.remove(boom)
    d.pending.insert(0, boom)
    d.run()
    states = d.states()
    assert states["slow"] == "SUCCESS" and states["inner"] == "SUCCESS" and states["after_inner"] == "SUCCESS"
    assert states["group"] == "FAILED"


def test_an_interrupted_task_is_not_retried() -> None:
    text = side_by_side("Dag", "FAILED").replace(
        "{id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S}",
        "{id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S, "
        "retry: {type: constant, interval: PT1S, maxAttempts: 5}}")
    d = Driver(text, {"boom": StateType.FAILED})
    d.start()
    boom = next(r for r in d.pending if r.task_id == "boom")
    d.pending.remove(boom)
    d.pending.insert(0, boom)
    d.run()
    slow = next(r for r in d.exe.task_runs if r.task_id == "slow")
    assert slow.current is StateType.FAILED and len(slow.attempts) == 1


def test_an_unknown_on_child_failure_is_refused_at_validation() -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    with pytest.raises(ValidationErrors) as err:
        load_flow(side_by_side("Dag", "STOP"))
    assert "`STOP` is not one of CONTINUE (let running siblings end), CANCELLED or FAILED" in err.value.render()
