"""Variables set and unset by tasks reach the tasks a worker runs, on the real embedded runtime."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_flow


def test_a_task_on_a_worker_reads_variables_set_and_unset_before_it(tmp_path: Path) -> None:
    exe = run_flow("""
id: variables
namespace: company.team
variables:
  name: World
  gone: soon
tasks:
  - id: set_vars
    type: io.kestra.plugin.core.execution.SetVariables
    variables:
      message: Hello
      name: "{{ flow.id }}"
  - id: unset_vars
    type: io.kestra.plugin.core.execution.UnsetVariables
    variables: [gone]
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ vars.message }} {{ vars.name }} {{ vars.gone ?? 'unset' }}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    assert exe.task_runs[-1].outputs == {"value": "Hello variables unset"}
    assert exe.variables == {"name": "variables", "message": "Hello"}
