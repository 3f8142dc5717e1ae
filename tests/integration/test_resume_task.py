"""`…core.execution.Resume`: resumes a PAUSED execution through the owner's command channel,
by default the current one; anything else fails the task saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow
from tests.integration.declared_plugins import register_mine
from tests.integration.refusals import refusal

RESUME = "io.kestra.plugin.core.execution.Resume"


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def test_a_resume_in_another_branch_resumes_the_current_paused_execution(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: resume_self
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Pause
      - id: resume
        type: {RESUME}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert runs["pause"].current is StateType.SUCCESS
    assert runs["resume"].outputs == {"id": exe.id, "namespace": "company.team", "flowId": "resume_self"}
    assert runs["after"].outputs == {"value": "done"}


def test_resume_of_an_execution_that_is_not_paused_or_does_not_exist_fails_saying_so(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: resume_wrong
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: running
        type: {RESUME}
      - id: unknown
        type: {RESUME}
        executionId: nope
        namespace: company.team
        flowId: other
""", tmp_path)
    assert exe.state.current is StateType.FAILED
    running = [e["message"] for e in logs_of(tmp_path, exe.id, "running") if e["level"] == "ERROR"]
    unknown = [e["message"] for e in logs_of(tmp_path, exe.id, "unknown") if e["level"] == "ERROR"]
    assert any(f"execution {exe.id} is RUNNING; only a PAUSED execution can be resumed" in m for m in running)
    assert any("No execution found for execution id nope" in m for m in unknown)


@pytest.mark.parametrize(("extra", "said"), [
    ("namespace: company.team", "set `executionId` too"),
])
def test_resume_properties_lanner_cannot_honour_are_refused_by_validate(extra: str, said: str) -> None:
    message = refusal(f"    type: {RESUME}\n    {extra}")
    assert "f.yaml:" in message and said in message


def test_a_resume_task_gives_the_pause_its_typed_inputs_and_bad_ones_fail_it_keeping_the_pause(
        tmp_path: Path) -> None:
    exe = run_flow(f"""
id: resume_inputs
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - {{id: count, type: INT}}
      - id: steps
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: wrong
            type: {RESUME}
            allowFailure: true
            inputs: {{count: many}}
          - id: right
            type: {RESUME}
            inputs: {{count: "{{{{ 20 + 1 }}}}"}}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.pause.onResume.count + 1 }}}}"
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert runs["wrong"].current is StateType.WARNING  # failed, allowed to
    wrong = [e["message"] for e in logs_of(tmp_path, exe.id, "wrong") if e["level"] == "ERROR"]
    assert any("input `count`" in m for m in wrong), wrong
    assert runs["pause"].outputs["onResume"] == {"count": 21}
    assert runs["after"].outputs == {"value": "22"}
    assert exe.state.current is StateType.WARNING
