"""A resume's values are typed against the paused tasks' `onResume` before anything is sent:
defaults fill the gaps, and a missing, unknown or badly typed value refuses the whole resume."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.resume_inputs import typed_resume_inputs
from lanner.model.state import StateType

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

PAUSE = "io.kestra.plugin.core.flow.Pause"


def _paused(flow: Flow, *task_ids: str) -> Execution:
    """An execution of `flow` whose `task_ids` runs are PAUSED (one run each, id = task id)."""
    exe = Execution(id="e1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1)
    for task_id in task_ids:
        run = TaskRun(id=task_id, execution_id=exe.id, namespace=flow.namespace, flow_id=flow.id,
                      task_id=task_id, parent_id="parallel", block="tasks")
        run.state.to(StateType.RUNNING, NOW)
        run.state.to(StateType.PAUSED, NOW)
        exe.add(run)
    return exe


APPROVAL = load_flow(f"""
id: approval
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: approve
        type: {PAUSE}
        onResume:
          - {{id: approved, type: BOOLEAN}}
          - {{id: reason, type: STRING, defaults: Well-deserved}}
          - {{id: days, type: INT, required: false}}
      - id: ticket
        type: {PAUSE}
        onResume:
          - {{id: number, type: INT, defaults: 7}}
      - id: plain
        type: {PAUSE}
""")


def test_values_are_typed_per_paused_run_with_defaults_filled_in() -> None:
    typed = typed_resume_inputs(APPROVAL, _paused(APPROVAL, "approve", "ticket", "plain"),
                                {"approved": "true", "days": "3"})
    assert typed == {"approve": {"approved": True, "reason": "Well-deserved", "days": 3},
                     "ticket": {"number": 7}, "plain": {}}


def test_missing_unknown_and_badly_typed_values_are_all_reported_at_once() -> None:
    with pytest.raises(ValidationErrors) as info:
        typed_resume_inputs(APPROVAL, _paused(APPROVAL, "approve", "ticket"), {"days": "many", "colour": "red"})
    text = info.value.render()
    assert "unknown resume input `colour`" in text and "approved, days, number, reason" in text
    assert "missing required input `approved` (BOOLEAN)" in text
    assert "input `days`:" in text


def test_values_given_to_a_pause_that_declares_no_inputs_are_refused() -> None:
    with pytest.raises(ValidationErrors) as info:
        typed_resume_inputs(APPROVAL, _paused(APPROVAL, "plain"), {"approved": "true"})
    assert "the paused tasks (plain) declare no `onResume` inputs" in info.value.render()


def test_without_the_flow_only_a_resume_without_values_passes() -> None:
    exe = _paused(APPROVAL, "approve")
    assert typed_resume_inputs(None, exe, {}) == {"approve": {}}
    with pytest.raises(ValidationErrors):
        typed_resume_inputs(None, exe, {"approved": "true"})


def test_on_resume_inputs_are_checked_type_by_type_at_their_line_like_flow_inputs() -> None:
    with pytest.raises(ValidationErrors) as info:
        load_flow(f"""id: f
namespace: company.team
tasks:
  - id: wait
    type: {PAUSE}
    onResume:
      - id: approved
        type: BOOLEAN
        min: 3
      - {{id: same, type: STRING}}
      - {{id: same, type: INT}}
""", file="f.yaml")
    text = info.value.render()
    assert "f.yaml:9:9: tasks[0].onResume[0] (approved): `min` is not a property of a BOOLEAN input" in text
    assert "`onResume`: declares `same` more than once" in text
