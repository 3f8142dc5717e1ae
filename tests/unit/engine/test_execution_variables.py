"""SetVariables and UnsetVariables change what `{{ vars }}` reads for every later task (Kestra's
documented behaviour), judged here through `runIf`, which the executor renders itself."""

from __future__ import annotations

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

SET = "io.kestra.plugin.core.execution.SetVariables"
UNSET = "io.kestra.plugin.core.execution.UnsetVariables"
LOG = "io.kestra.plugin.core.log.Log"


def flow(tasks: str) -> str:
    return f"""
id: f
namespace: company.team
variables:
  name: World
  nested: {{a: 1, b: 2}}
tasks:
{tasks}"""


def check(task_id: str, condition: str) -> str:
    return f"  - {{id: {task_id}, type: {LOG}, message: x, runIf: \"{{{{ {condition} }}}}\"}}\n"


def test_set_variables_overrides_and_adds_and_merges_nested_maps_for_later_tasks() -> None:
    d = Driver(flow(f"  - {{id: set, type: {SET}, variables: {{name: Loic, extra: 42, nested: {{b: 3}}}}}}\n"
                    + check("sees_name", "vars.name == 'Loic'")
                    + check("sees_extra", "vars.extra == 42")
                    + check("sees_merge", "vars.nested.a == 1 and vars.nested.b == 3")))
    exe = d.run()
    assert d.states() == {"set": "SUCCESS", "sees_name": "SUCCESS", "sees_extra": "SUCCESS", "sees_merge": "SUCCESS"}
    assert exe.state.current is StateType.SUCCESS
    assert exe.variables == {"name": "Loic", "extra": 42, "nested": {"a": 1, "b": 3}}


def test_set_variables_without_overwrite_fails_on_an_existing_variable_and_changes_nothing() -> None:
    d = Driver(flow(f"  - {{id: set, type: {SET}, overwrite: false, variables: {{name: Loic, other: 1}}}}\n"))
    exe = d.run()
    assert d.states() == {"set": "FAILED"}
    assert any("`overwrite` is false and these variables already exist: name" in m for m in d.logs("ERROR"))
    assert exe.vars_of({"name": "World"}) == {"name": "World"}


def test_unset_variables_removes_a_flow_variable_and_a_nested_key() -> None:
    d = Driver(flow(f"  - {{id: unset, type: {UNSET}, variables: [name, nested.a]}}\n"
                    + check("name_gone", "vars.name is not defined")
                    + check("a_gone", "vars.nested.a is not defined and vars.nested.b == 2")))
    exe = d.run()
    assert d.states() == {"unset": "SUCCESS", "name_gone": "SUCCESS", "a_gone": "SUCCESS"}
    assert exe.variables == {"nested": {"b": 2}}


def test_unset_variables_fails_on_a_missing_variable_unless_told_to_ignore_it() -> None:
    d = Driver(flow(f"  - {{id: unset, type: {UNSET}, variables: [missing]}}\n"))
    d.run()
    assert d.states() == {"unset": "FAILED"}
    assert any("variable `missing` does not exist" in m for m in d.logs("ERROR"))
    d = Driver(flow(f"  - {{id: unset, type: {UNSET}, ignoreMissing: true, variables: [missing, name]}}\n"
                    + check("name_gone", "vars.name is not defined")))
    d.run()
    assert d.states() == {"unset": "SUCCESS", "name_gone": "SUCCESS"}


def test_variables_set_by_a_task_survive_the_stored_execution() -> None:
    from lanner.model.execution import Execution

    d = Driver(flow(f"  - {{id: set, type: {SET}, variables: {{name: Loic}}}}\n"))
    exe = d.run()
    again = Execution.from_json(exe.to_json())
    assert again.vars_of({"name": "World"}) == {"name": "Loic", "nested": {"a": 1, "b": 2}}
