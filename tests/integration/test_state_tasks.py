"""`…core.state.Set|Get|Delete`: a named map kept between executions, per flow (or namespace)
and per ForEach value, merged on Set, as Kestra documents them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.execution import Execution, TaskRun
from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow
from tests.integration.declared_plugins import register_mine

ST = "io.kestra.plugin.core.state"


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def _runs(exe: Execution) -> dict[str, TaskRun]:
    return {r.task_id: r for r in exe.task_runs}


def test_a_state_set_in_one_execution_is_read_merged_in_the_next_and_isolated_by_flow(tmp_path: Path) -> None:
    first = run_flow(f"""
id: producer
namespace: company.team
tasks:
  - id: missing
    type: {ST}.Get
  - id: set
    type: {ST}.Set
    data:
      "{{{{ flow.id }}}}": "{{{{ 1 + 1 }}}}"
      nested: {{a: 1, b: 2}}
""", tmp_path)
    second = run_flow(f"""
id: producer
namespace: company.team
tasks:
  - id: set
    type: io.kestra.core.tasks.states.Set
    data:
      other: x
      nested: {{b: 3}}
  - id: get
    type: {ST}.Get
""", tmp_path)
    other_flow = run_flow(f"""
id: consumer
namespace: company.team
tasks:
  - id: get
    type: {ST}.Get
""", tmp_path)
    assert first.state.current is StateType.SUCCESS
    assert _runs(first)["missing"].outputs == {"count": 0, "data": {}}
    assert _runs(first)["set"].outputs["count"] == 2
    assert _runs(second)["set"].outputs["count"] == 3
    assert _runs(second)["get"].outputs == {
        "count": 3, "data": {"producer": "2", "nested": {"a": 1, "b": 3}, "other": "x"}}
    assert _runs(other_flow)["get"].outputs == {"count": 0, "data": {}}


def test_a_namespace_state_is_shared_by_the_flows_of_the_namespace_and_names_keep_states_apart(
        tmp_path: Path) -> None:
    run_flow(f"""
id: writer
namespace: company.team
tasks:
  - id: shared
    type: {ST}.Set
    name: counters
    namespace: true
    data: {{n: 1}}
  - id: own
    type: {ST}.Set
    name: counters
    data: {{n: 2}}
""", tmp_path)
    exe = run_flow(f"""
id: reader
namespace: company.team
tasks:
  - id: shared
    type: {ST}.Get
    name: counters
    namespace: "{{{{ true }}}}"
  - id: other_name
    type: {ST}.Get
    name: "counters 2"
    namespace: true
""", tmp_path)
    assert _runs(exe)["shared"].outputs["data"] == {"n": 1}
    assert _runs(exe)["other_name"].outputs["count"] == 0


def test_each_foreach_value_has_its_own_state_unless_taskrun_value_is_off(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: per_value
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: own
        type: {ST}.Set
        data: {{"{{{{ taskrun.value }}}}": "{{{{ taskrun.value }}}}"}}
      - id: common
        type: {ST}.Set
        name: common
        taskrunValue: false
        data: {{"{{{{ taskrun.value }}}}": "{{{{ taskrun.value }}}}"}}
  - id: get_common
    type: {ST}.Get
    name: common
""", tmp_path)
    own = [r.outputs["count"] for r in exe.task_runs if r.task_id == "own"]
    assert exe.state.current is StateType.SUCCESS
    assert own == [1, 1]
    assert _runs(exe)["get_common"].outputs == {"count": 2, "data": {"a": "a", "b": "b"}}


def test_delete_says_whether_the_state_existed_and_error_on_missing_fails_get_and_delete(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: deleting
namespace: company.team
tasks:
  - id: set
    type: {ST}.Set
    data: {{a: b}}
  - id: delete
    type: {ST}.Delete
  - id: delete_again
    type: {ST}.Delete
  - id: after
    type: {ST}.Get
  - id: strict_get
    type: {ST}.Get
    errorOnMissing: true
    allowFailure: true
  - id: strict_delete
    type: io.kestra.core.tasks.states.Delete
    name: gone
    errorOnMissing: true
""", tmp_path)
    runs = _runs(exe)
    assert exe.state.current is StateType.FAILED
    assert runs["delete"].outputs == {"deleted": True}
    assert runs["delete_again"].outputs == {"deleted": False}
    assert runs["after"].outputs == {"count": 0, "data": {}}
    assert runs["strict_get"].current is StateType.WARNING
    errors = [e["message"] for e in logs_of(tmp_path, exe.id, "strict_delete") if e["level"] == "ERROR"]
    assert any("Unable to find the state file 'gone'" in m for m in errors)
