"""A map or list given to a STRING input or output becomes the compact JSON a template prints.

Kestra prints `{"value":"x"}` for a map in a template, and so does Lanner: a value that went
through a STRING output or input must read the same, or `{{ outputs.o == ... }}` comparisons and
files written from it differ with the path the value took.
"""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow

FLOW = """
id: strings
namespace: company.team
inputs:
  - id: given
    type: STRING
    defaults: {"value": "x", "dropped": null}
tasks:
  - id: make
    type: io.kestra.plugin.core.output.OutputValues
    values:
      m:
        value: "ü"
        list: [1, "b"]
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.make.values.m }}"
outputs:
  - id: as_string
    type: STRING
    value: "{{ outputs.make.values.m }}"
"""


def test_a_map_through_a_string_output_or_input_prints_as_a_template_prints_it(tmp_path: Path) -> None:
    exe = run_flow(FLOW, tmp_path)
    assert exe.state.current is StateType.SUCCESS
    printed = [line["message"] for line in logs_of(tmp_path, exe.id, "show")]
    assert printed == ['{"value":"ü","list":[1,"b"]}']
    assert exe.outputs == {"as_string": printed[0]}
    assert exe.inputs == {"given": '{"value":"x"}'}
