"""A Subflow task's own `outputs:` map and its `retry`, on the embedded runtime (real child executions)."""

from __future__ import annotations

from pathlib import Path

from lanner.loading.flows import load_flow
from lanner.model.state import StateType
from lanner.runtime.catalog import FlowCatalog
from tests.conftest import logs_of, repository_of, run_flow

RETURN = "io.kestra.plugin.core.debug.Return"
SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
SHELL = "type: io.kestra.plugin.scripts.shell.Commands\n    taskRunner: {type: io.kestra.plugin.core.runner.Process}"

CHILD_WITHOUT_OUTPUTS = load_flow(f"""
id: child
namespace: company.team
inputs:
  - {{id: who, type: STRING}}
tasks:
  - {{id: hello, type: {RETURN}, format: "hello {{{{ inputs.who }}}}"}}
""")


def _run(tmp_path: Path, call: str, *children: object) -> tuple:
    exe = run_flow(f"""
id: parent
namespace: company.team
tasks:
{call}
  - {{id: show, type: {RETURN}, format: "{{{{ outputs.call.outputs }}}}"}}
""", tmp_path, catalog=FlowCatalog(flows=list(children)))
    return exe, {r.task_id: r for r in exe.task_runs}


def test_a_subflow_outputs_map_is_rendered_in_the_child_execution_when_it_ends(tmp_path: Path) -> None:
    exe, runs = _run(tmp_path, f"""
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    inputs: {{who: parent}}
    outputs:
      said: "{{{{ outputs.hello.value }}}}"
      asked: "{{{{ inputs.who }}}}"
      child: "{{{{ flow.id }}}}"
""", CHILD_WITHOUT_OUTPUTS)
    assert exe.state.current is StateType.SUCCESS
    assert runs["call"].outputs["outputs"] == {"said": "hello parent", "asked": "parent", "child": "child"}
    assert runs["show"].outputs["value"] == '{"said":"hello parent","asked":"parent","child":"child"}'


def test_a_failing_expression_in_a_subflow_outputs_map_fails_the_task(tmp_path: Path) -> None:
    exe, runs = _run(tmp_path, f"""
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    inputs: {{who: parent}}
    outputs:
      said: "{{{{ outputs.nothing.value }}}}"
""", CHILD_WITHOUT_OUTPUTS)
    assert exe.state.current is StateType.FAILED
    assert runs["call"].current is StateType.FAILED
    assert "show" not in runs
    errors = [line["message"] for line in logs_of(tmp_path, exe.id, "call") if line["level"] == "ERROR"]
    assert any("Subflow `outputs` could not be rendered" in m and "nothing" in m for m in errors)


def test_the_child_flows_declared_outputs_win_over_the_subflow_outputs_map_and_it_says_so(tmp_path: Path) -> None:
    child = load_flow(f"""
id: child
namespace: company.team
tasks:
  - {{id: hello, type: {RETURN}, format: hi}}
outputs:
  - {{id: said, type: STRING, value: "{{{{ outputs.hello.value }}}}"}}
""")
    exe, runs = _run(tmp_path, f"""
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    outputs: {{other: "{{{{ outputs.hello.value }}}} again"}}
""", child)
    assert exe.state.current is StateType.SUCCESS
    assert runs["call"].outputs["outputs"] == {"said": "hi"}
    warnings = [line["message"] for line in logs_of(tmp_path, exe.id, "call") if line["level"] == "WARN"]
    assert any("declares its own outputs" in m for m in warnings)


def test_a_retried_subflow_starts_a_new_child_execution_for_each_attempt(tmp_path: Path) -> None:
    child = load_flow("""
id: child
namespace: company.team
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail}
""")
    exe, runs = _run(tmp_path, f"""
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    retry: {{type: constant, interval: PT0.01S, maxAttempts: 3}}
""", child)
    call = runs["call"]
    assert exe.state.current is StateType.FAILED
    assert [a.state.current for a in call.attempts] == [StateType.FAILED] * 3
    assert [h.state for h in call.state.histories].count(StateType.RETRYING) == 2
    started = [line["message"].rsplit(" ", 1)[-1] for line in logs_of(tmp_path, exe.id, "call")
               if line["message"].startswith("Started subflow")]
    assert len(set(started)) == 3 and started[-1] == call.outputs["executionId"]
    repo = repository_of(tmp_path)
    assert [repo.get(i).state.current for i in started] == [StateType.FAILED] * 3


def test_a_retried_subflow_succeeds_when_a_later_child_succeeds(tmp_path: Path) -> None:
    marker = tmp_path / "tried-once"
    child = load_flow(f"""
id: child
namespace: company.team
tasks:
  - id: flaky
    {SHELL}
    commands:
      - 'test -f {marker} || {{ touch {marker}; exit 1; }}'
  - {{id: hello, type: {RETURN}, format: second}}
""")
    exe, runs = _run(tmp_path, f"""
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    retry: {{type: constant, interval: PT0.01S, maxAttempts: 3}}
    outputs: {{said: "{{{{ outputs.hello.value }}}}"}}
""", child)
    call = runs["call"]
    assert exe.state.current is StateType.SUCCESS
    assert [a.state.current for a in call.attempts] == [StateType.FAILED, StateType.SUCCESS]
    assert call.outputs["outputs"] == {"said": "second"}
    assert call.outputs["state"] == "SUCCESS"


def test_a_subflow_outputs_map_without_waiting_is_refused_where_it_is_written() -> None:
    import pytest

    from lanner.errors import LannerError

    with pytest.raises(LannerError) as caught:
        load_flow(f"""
id: parent
namespace: company.team
tasks:
  - id: call
    type: {SUBFLOW}
    namespace: company.team
    flowId: child
    wait: false
    outputs: {{said: x}}
""", "parent.yaml")
    assert "parent.yaml:5" in caught.value.render()
    assert "only with `wait: true`" in caught.value.render()
