"""A run reads a dotted input nested (`inputs.nested.key`), as Kestra's InputsTest relies on, and a
SECRET one stays masked in the log however it is reached."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow

FLOW = """
id: dotted
namespace: company.team
inputs:
  - id: nested.key
    type: SECRET
  - id: nested.plain
    type: STRING
    defaults: visible
  - id: top
    type: STRING
    defaults: t
tasks:
  - {id: show, type: io.kestra.plugin.core.log.Log,
     message: "key={{ inputs.nested.key }} plain={{ inputs.nested.plain }} top={{ inputs.top }}"}
  - {id: keys, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs | keys | sort | join(',') }}"}
"""


def test_a_dotted_input_is_read_nested_and_its_secret_stays_masked(tmp_path: Path) -> None:
    exe = run_flow(FLOW, tmp_path, inputs={"nested.key": "hunter2"})
    assert exe.state.current is StateType.SUCCESS
    [line] = [entry["message"] for entry in logs_of(tmp_path, exe.id, "show")]
    assert "hunter2" not in line
    assert line.endswith("plain=visible top=t")
    keys = next(r for r in exe.task_runs if r.task_id == "keys")
    assert keys.outputs["value"] == "nested,top"  # nested, as in Kestra: the flat id is not kept
    assert exe.inputs["nested.key"] == "hunter2"  # stored by id, as it was given
