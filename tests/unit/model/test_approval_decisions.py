"""A decision on a waiting Approval is checked before it is sent: which run, a required comment,
the reviewer's values typed; and a plain resume is refused when only Approvals wait."""

from __future__ import annotations

import pytest

from lanner.errors import LannerError, ValidationErrors
from lanner.model.approval_decisions import typed_decision
from lanner.model.resume_inputs import typed_resume_inputs
from tests.unit.engine.driver import Driver

APPROVAL = "io.kestra.plugin.core.flow.Approval"


def _waiting(props: str = "", second: bool = False) -> Driver:
    other = f"\n      - {{id: other, type: {APPROVAL}}}" if second else ""
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: approval
        type: {APPROVAL}{props}
        inputs:
          - {{id: reason, type: STRING}}
          - {{id: count, type: INT, defaults: 1}}{other}
""")
    d.run()
    return d


def test_a_decision_carries_its_comment_and_typed_values_for_the_one_waiting_run() -> None:
    d = _waiting()
    run_id, record = typed_decision(d.flow, d.exe, "APPROVED", "ok", {"reason": "fix", "count": "3"})
    assert record == {run_id: {"decision": "APPROVED", "comment": "ok", "inputs": {"reason": "fix", "count": 3}}}


def test_a_missing_value_refuses_the_decision() -> None:
    d = _waiting()
    with pytest.raises(ValidationErrors, match="reason"):
        typed_decision(d.flow, d.exe, "DENIED", None, {})


@pytest.mark.parametrize(("required", "decision", "refused"), [
    ("ALWAYS", "APPROVED", True), ("ON_DENY", "APPROVED", False), ("ON_DENY", "DENIED", True),
    ("ON_APPROVE", "DENIED", False)])
def test_comment_required_refuses_a_decision_without_a_comment(required: str, decision: str, refused: bool) -> None:
    d = _waiting(f"\n        commentRequired: {required}")
    if refused:
        with pytest.raises(LannerError, match="requires a comment"):
            typed_decision(d.flow, d.exe, decision, " ", {"reason": "x"})  # type: ignore[arg-type]
    else:
        typed_decision(d.flow, d.exe, decision, None, {"reason": "x"})  # type: ignore[arg-type]


def test_with_two_approvals_waiting_the_run_must_be_named_and_must_be_waiting() -> None:
    d = _waiting(second=True)
    with pytest.raises(LannerError, match="several Approvals wait"):
        typed_decision(d.flow, d.exe, "APPROVED", None, {"reason": "x"})
    with pytest.raises(LannerError, match="is not paused"):
        typed_decision(d.flow, d.exe, "APPROVED", None, {}, run_id="nope")
    other = next(r.id for r in d.exe.task_runs if r.task_id == "other")
    assert typed_decision(d.flow, d.exe, "DENIED", None, {}, run_id=other)[0] == other


def test_a_plain_resume_is_refused_when_only_approvals_wait() -> None:
    d = _waiting()
    with pytest.raises(LannerError, match="waits for an Approval's decision"):
        typed_resume_inputs(d.flow, d.exe, {})
