"""`…core.flow.WaitFor` is the name Kestra keeps as an alias of LoopUntil: same properties, same
meaning (repeat until the condition is true), same `iterationCount` output."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.state import StateType
from tests.conftest import run_flow
from tests.integration.declared_plugins import register_mine


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def test_wait_for_repeats_its_tasks_until_the_condition_holds_counting_iterations(tmp_path: Path) -> None:
    exe = run_flow("""
id: wait_for
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.return.value == '4' }}"
    checkFrequency:
      interval: PT0.01S
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.loop.iterationCount }}"
""", tmp_path)
    returns = [r.outputs["value"] for r in exe.task_runs if r.task_id == "return"]
    loop = next(r for r in exe.task_runs if r.task_id == "loop")
    assert exe.state.current is StateType.SUCCESS
    assert returns == ["1", "2", "3", "4"]
    assert loop.outputs["iterationCount"] == 4


def test_wait_for_fails_at_max_iterations_with_fail_on_max_reached(tmp_path: Path) -> None:
    exe = run_flow("""
id: wait_for_max
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ false }}"
    failOnMaxReached: true
    checkFrequency:
      interval: PT0.01S
      maxIterations: 3
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: x
""", tmp_path)
    assert exe.state.current is StateType.FAILED
    assert len([r for r in exe.task_runs if r.task_id == "return"]) == 3
