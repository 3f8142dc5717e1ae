"""Outcomes Kestra's own tests assert (flows rewritten from their shapes), on the real runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_flow

flows: dict[str, str] = {}
flows['allow_failure'] = """
id: allow-failure
namespace: io.kestra.tests
inputs:
  - id: crash
    type: STRING
    required: false
tasks:
  - id: first
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: 1-1-allow-failure
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: 1-1-1_seq
            type: io.kestra.plugin.core.flow.Sequential
            tasks:
              - id: 1-1-1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{ task.id }}"
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: 1-1-1-3
                type: io.kestra.plugin.core.debug.Return
                format: "{{ task.id }}"
        errors:
          - id: local-error
            type: io.kestra.plugin.core.debug.Return
            format: "Error Trigger ! {{ task.id }}"
      - id: 1-2-todo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ task.id }}"
  - id: switch
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.crash is defined }}"
    cases:
      "true":
        - id: crash
          type: io.kestra.plugin.core.execution.Fail
    defaults:
      - id: last
        type: io.kestra.plugin.core.debug.Return
        format: "{{ task.id }}"
errors:
  - id: global-error
    type: io.kestra.plugin.core.debug.Return
    format: "Error Trigger ! {{ task.id }}"
"""
flows['dag_fail_fast'] = """
id: dag-interrupts-its-sleeper
namespace: io.kestra.tests
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    onChildFailure: CANCELLED
    tasks:
      - task:
          id: failing
          type: io.kestra.plugin.core.execution.Fail
      - task:
          id: sleeper
          type: io.kestra.plugin.core.flow.Sleep
          duration: PT30S
    finally:
      - id: tidy
        type: io.kestra.plugin.core.log.Log
        message: tidy
"""
flows['each_seq'] = """
id: each-sequential
namespace: io.kestra.tests
tasks:
  - id: 1_each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["value 1", "value 2", "value 3"]'
    tasks:
      - id: 1-1
        type: io.kestra.plugin.core.debug.Return
        format: "{{ task.id }} > {{ taskrun.value }}"
      - id: 1-2
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: 1-2-1
            type: io.kestra.plugin.core.log.Log
            message: "{{ taskrun.value == 'value 1' ? 'ok' : ko }}"
  - id: 2_end
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }} > {{ taskrun.startDate }}"
"""
flows['nested'] = """
id: each-nested
namespace: io.kestra.tests
tasks:
  - id: 1_each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["s1", "s2"]'
    tasks:
      - id: 1-1_each
        type: io.kestra.plugin.core.flow.ForEach
        values: '["a a", "b b"]'
        tasks:
          - id: 1-1-1_return
            type: io.kestra.plugin.core.debug.Return
            format: "{{ task.id }} > {{ parents[0].taskrun.value }} > {{ taskrun.value }}"
          - id: 1-1-2_current
            type: io.kestra.plugin.core.debug.Return
            format: "{{ currentEachOutput(outputs['1-1-1_return']).value }}"
  - id: 2_return
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs['1-1-1_return'].s1['a a'].value }}"
"""
flows['after'] = """
id: after-execution
namespace: io.kestra.tests
tasks:
  - id: mytask
    type: io.kestra.plugin.core.debug.Return
    format: this is a task output used as a final flow output
outputs:
  - id: final
    type: STRING
    value: "{{ outputs.mytask.value }}"
finally:
  - id: fin
    type: io.kestra.plugin.core.output.OutputValues
    values:
      state: "{{ execution.state }}"
afterExecution:
  - id: end
    type: io.kestra.plugin.core.output.OutputValues
    values:
      state: "{{ execution.state }}"
      output: "{{ execution.outputs.final }}"
"""
flows['labels_runif'] = """
id: labels
namespace: io.kestra.tests
tasks:
  - id: lab
    type: io.kestra.plugin.core.execution.Labels
    labels:
      team: "{{ flow.namespace }}"
  - id: executed
    type: io.kestra.plugin.core.debug.Return
    format: "{{ labels.team }}"
  - id: notexecuted
    type: io.kestra.plugin.core.debug.Return
    format: x
    runIf: "false"
  - id: willfail
    type: io.kestra.plugin.core.debug.Return
    format: x
    runIf: "{{ outputs.notexists == 2 }}"
"""


def summary(exe) -> list[tuple[str, str | None, str]]:
    return [(r.task_id, r.value, r.current.value) for r in exe.task_runs]


@pytest.mark.parametrize("inputs,state,count", [({}, "WARNING", 9), ({"crash": "1"}, "FAILED", 10)])
def test_allow_failure_downgrades_to_warning_and_a_later_failure_runs_the_flow_errors(
        tmp_path: Path, inputs: dict, state: str, count: int) -> None:
    exe = run_flow(flows["allow_failure"], tmp_path, inputs)
    runs = {t: s for t, _, s in summary(exe)}
    assert exe.state.current.value == state and len(exe.task_runs) == count
    assert runs["first"] == "WARNING" and runs["1-1-allow-failure"] == "WARNING" and runs["1-1-1_seq"] == "FAILED"
    assert runs["local-error"] == "SUCCESS" and "1-1-1-3" not in runs
    assert ("global-error" in runs) == bool(inputs)


def test_a_dag_with_on_child_failure_cancels_its_running_sleeper_instead_of_waiting_for_it(tmp_path: Path) -> None:
    exe = run_flow(flows["dag_fail_fast"], tmp_path)
    runs = {t: s for t, _, s in summary(exe)}
    assert runs == {"dag": "FAILED", "failing": "FAILED", "sleeper": "CANCELLED", "tidy": "SUCCESS"}
    assert exe.state.current.value == "FAILED"
    sleeper = next(r for r in exe.task_runs if r.task_id == "sleeper")
    assert sleeper.state.end_date is not None and sleeper.state.start_date is not None
    assert (sleeper.state.end_date - sleeper.state.start_date).total_seconds() < 20  # not its 30 s


def test_each_sequential_with_allow_failure_ends_warning_and_goes_on(tmp_path: Path) -> None:
    exe = run_flow(flows["each_seq"], tmp_path)
    assert exe.state.current.value == "WARNING" and len(exe.task_runs) == 11
    assert [s for t, v, s in summary(exe) if t == "1-2"] == ["WARNING"] * 3
    assert summary(exe)[-1][0] == "2_end"


def test_nested_foreach_outputs_nest_by_value_and_current_each_output_finds_its_own(tmp_path: Path) -> None:
    exe = run_flow(flows["nested"], tmp_path)
    assert exe.state.current.value == "SUCCESS" and len(exe.task_runs) == 12
    current = [r.outputs["value"] for r in exe.task_runs if r.task_id == "1-1-2_current"]
    assert current == ["1-1-1_return > s1 > a a", "1-1-1_return > s1 > b b",
                       "1-1-1_return > s2 > a a", "1-1-1_return > s2 > b b"]
    assert exe.task_runs[-1].outputs == {"value": "1-1-1_return > s1 > a a"}


def test_finally_sees_running_and_after_execution_sees_the_final_state_and_flow_outputs(tmp_path: Path) -> None:
    exe = run_flow(flows["after"], tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current.value == "SUCCESS" and exe.outputs == {"final": runs["mytask"].outputs["value"]}
    assert runs["fin"].outputs == {"values": {"state": "RUNNING"}}
    assert runs["end"].outputs == {"values": {"state": "SUCCESS", "output": exe.outputs["final"]}}


def test_labels_are_set_and_run_if_skips_or_fails(tmp_path: Path) -> None:
    exe = run_flow(flows["labels_runif"], tmp_path)
    assert [s for _, _, s in summary(exe)] == ["SUCCESS", "SUCCESS", "SKIPPED", "FAILED"]
    assert exe.labels["team"] == "io.kestra.tests" and exe.task_runs[1].outputs == {"value": "io.kestra.tests"}
    assert exe.state.current.value == "FAILED"


def test_plugin_defaults_fill_task_properties_and_forced_ones_win(tmp_path: Path) -> None:
    exe = run_flow("""
id: defaults
namespace: company.team
pluginDefaults:
  - type: io.kestra.plugin.core.debug.Return
    values:
      format: "from defaults"
  - type: io.kestra.plugin.core.log
    forced: true
    values:
      level: WARN
tasks:
  - {id: plain, type: io.kestra.plugin.core.debug.Return}
  - {id: own, type: io.kestra.plugin.core.debug.Return, format: mine}
  - {id: log, type: io.kestra.plugin.core.log.Log, message: hello, level: DEBUG}
""", tmp_path)
    from tests.conftest import logs_of

    runs = {r.task_id: r for r in exe.task_runs}
    assert runs["plain"].outputs == {"value": "from defaults"} and runs["own"].outputs == {"value": "mine"}
    assert [(line["level"], line["message"]) for line in logs_of(tmp_path, exe.id, "log")] == [("WARN", "hello")]


def test_listeners_run_after_the_execution_and_before_after_execution(tmp_path: Path) -> None:
    """Kestra's after-execution-listener flow: 3 task runs, the listener's between main and after."""
    exe = run_flow("""
id: legacy
namespace: company.team
tasks:
  - {id: hello, type: io.kestra.plugin.core.log.Log, message: Hello}
listeners:
  - tasks:
      - {id: listenerTask, type: io.kestra.plugin.core.log.Log, message: "listener sees {{ execution.state }}"}
afterExecution:
  - {id: end, type: io.kestra.plugin.core.output.OutputValues, values: {state: "{{ execution.state }}"}}
""", tmp_path)
    from tests.conftest import logs_of

    assert exe.state.current.value == "SUCCESS"
    hello, listener, end = exe.task_runs
    assert (hello.task_id, listener.task_id, end.task_id) == ("hello", "listenerTask", "end")
    assert listener.state.start_date >= hello.state.end_date
    assert end.state.start_date >= listener.state.end_date
    assert end.outputs == {"values": {"state": "SUCCESS"}}
    assert [line["message"] for line in logs_of(tmp_path, exe.id, "listenerTask")] == ["listener sees SUCCESS"]


def test_a_max_duration_sla_fails_a_flow_still_running_past_it(tmp_path: Path) -> None:
    """Kestra's sla-max-duration-fail flow: a 0.5 s SLA on a 2 s Sleep ends FAILED."""
    exe = run_flow("""
id: sla-max-duration-fail
namespace: company.team
sla:
  - {id: maxDuration, type: MAX_DURATION, behavior: FAIL, duration: PT0.5S, labels: {sla: missed}}
tasks:
  - {id: sleep, type: io.kestra.plugin.core.flow.Sleep, duration: PT2S}
""", tmp_path)
    assert exe.state.current.value == "FAILED" and exe.labels.get("sla") == "missed"
    assert [r.current.value for r in exe.task_runs] == ["KILLED"]

