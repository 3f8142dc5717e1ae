"""Approval, decided by the executor: onWait, the pause for a decision, the decided block, the
behaviours, expiry, kills and crashes (decisions only, fabricated worker results)."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.engine.executor import Executor
from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"
APPROVAL = "io.kestra.plugin.core.flow.Approval"


def _flow(props: str = "", flow_extra: str = "") -> str:
    return f"""
id: f
namespace: company.team
tasks:
  - id: approval
    type: {APPROVAL}{props}
    onWait:
      - {{id: notify, type: {LOG}, message: x}}
    onApprove:
      - {{id: approved, type: {LOG}, message: x}}
    onDeny:
      - {{id: denied, type: {LOG}, message: x}}
  - {{id: after, type: {LOG}, message: x}}
{flow_extra}"""


def _paused(d: Driver) -> str:
    d.run()
    [run] = [r for r in d.exe.task_runs if r.task_id == "approval"]
    assert run.current is StateType.PAUSED
    return run.id


def _decide(d: Driver, decision: str, **record: Any) -> None:
    run_id = _paused(d)
    d._take(d.executor.resume(None, inputs={run_id: {"decision": decision, **record}}, by="alice"))
    while d.step():
        pass


def _outputs(d: Driver) -> dict[str, Any]:
    return next(r.outputs for r in d.exe.task_runs if r.task_id == "approval")


def test_on_wait_runs_then_the_execution_waits_paused_for_a_decision() -> None:
    d = Driver(_flow())
    _paused(d)
    assert d.order == ["notify"]
    assert d.states() == {"approval": "PAUSED", "notify": "SUCCESS"}
    assert d.exe.state.current is StateType.PAUSED


def test_approved_runs_on_approve_then_what_follows_and_records_who_decided() -> None:
    d = Driver(_flow())
    _decide(d, "APPROVED", comment="ok", inputs={"reason": "urgent"})
    assert d.order == ["notify", "approved", "after"]
    assert d.states()["approval"] == "SUCCESS" and "denied" not in d.states()
    assert d.exe.state.current is StateType.SUCCESS
    out = _outputs(d)
    assert (out["decision"], out["auto"], out["by"], out["comment"], out["inputs"]) == \
        ("APPROVED", False, "alice", "ok", {"reason": "urgent"})


def test_denied_runs_on_deny_then_cancels_the_execution_by_default_still_running_the_flows_finally() -> None:
    d = Driver(_flow(flow_extra=f"finally:\n  - {{id: cleanup, type: {LOG}, message: x}}\n"))
    _decide(d, "DENIED")
    assert d.order == ["notify", "denied", "cleanup"]
    assert d.states()["approval"] == "CANCELLED" and "after" not in d.states()
    assert d.exe.state.current is StateType.CANCELLED


@pytest.mark.parametrize(("behavior", "run_state", "exe_state", "after_runs"), [
    ("CONTINUE", "SUCCESS", "SUCCESS", True),
    ("WARN", "WARNING", "WARNING", True),
    ("FAIL", "FAILED", "FAILED", False),
    ("SUCCEED", "SUCCESS", "SUCCESS", False),
    ("CANCEL", "CANCELLED", "CANCELLED", False),
    ("KILL", "KILLED", "KILLED", False),
])
def test_approve_behavior_maps_a_block_that_ended_well(behavior: str, run_state: str, exe_state: str,
                                                       after_runs: bool) -> None:
    d = Driver(_flow(f"\n    approveBehavior: {behavior}"))
    _decide(d, "APPROVED")
    assert d.states()["approval"] == run_state
    assert ("after" in d.states()) is after_runs
    assert d.exe.state.current.value == exe_state


def test_a_failing_decided_block_keeps_its_failure_whatever_the_behavior() -> None:
    d = Driver(_flow("\n    approveBehavior: SUCCEED"), outcomes={"approved": StateType.FAILED})
    _decide(d, "APPROVED")
    assert d.states()["approval"] == "FAILED"
    assert d.exe.state.current is StateType.FAILED


def test_auto_approve_skips_on_wait_and_the_pause() -> None:
    d = Driver(_flow("\n    autoApprove: true"))
    d.run()
    assert d.order == ["approved", "after"]
    assert StateType.PAUSED not in [h.state for h in d.exe.state.histories]
    out = _outputs(d)
    assert (out["decision"], out["auto"], out["by"]) == ("APPROVED", True, None)


def test_a_timeout_expires_the_approval_runs_its_finally_and_cancels_the_execution() -> None:
    d = Driver(_flow(f"\n    timeout: PT1M\n    finally:\n      - {{id: cleanup, type: {LOG}, message: x}}"))
    _paused(d)
    (run_id, _, state), = [r for fx in d.effects for r in fx.resumes]
    assert _outputs(d)["due"] is not None
    d._take(d.executor.resume(run_id, state))
    while d.step():
        pass
    assert d.order == ["notify", "cleanup"]
    assert d.states()["approval"] == "CANCELLED"
    assert _outputs(d)["decision"] == "EXPIRED" and _outputs(d)["by"] is None
    assert d.exe.state.current is StateType.CANCELLED


def test_a_failing_on_wait_runs_errors_and_finally_and_never_pauses() -> None:
    d = Driver(_flow(f"\n    errors:\n      - {{id: err, type: {LOG}, message: x}}"
                     f"\n    finally:\n      - {{id: cleanup, type: {LOG}, message: x}}"),
               outcomes={"notify": StateType.FAILED})
    d.run()
    assert d.order == ["notify", "err", "cleanup"]
    assert d.states()["approval"] == "FAILED"
    assert d.exe.state.current is StateType.FAILED


def test_killed_while_waiting_runs_its_finally_once_and_ends_killed() -> None:
    d = Driver(_flow(f"\n    finally:\n      - {{id: cleanup, type: {LOG}, message: x}}"))
    _paused(d)
    d.kill()
    while d.step():
        pass
    assert d.order == ["notify", "cleanup"]
    assert d.states()["approval"] == "KILLED" and d.states()["cleanup"] == "SUCCESS"
    assert d.exe.state.current is StateType.KILLED


def test_a_plain_resume_leaves_an_approval_waiting() -> None:
    d = Driver(_flow())
    run_id = _paused(d)
    d._take(d.executor.resume(None, inputs={run_id: {}}, by="alice"))
    assert d.states()["approval"] == "PAUSED"
    assert d.exe.state.current is StateType.PAUSED


def test_a_decided_block_interrupted_by_a_crash_resumes_inside_it_without_running_on_wait_again() -> None:
    d = Driver(_flow(f"\n    finally:\n      - {{id: cleanup, type: {LOG}, message: x}}"))
    run_id = _paused(d)
    d._take(d.executor.resume(None, inputs={run_id: {"decision": "APPROVED"}}, by=None))
    assert [r.task_id for r in d.pending] == ["approved"]
    d.executor = Executor(d.flow, d.exe, surroundings=d.executor.surroundings)
    d.pending.clear()
    d._take(d.executor.start())
    while d.step():
        pass
    assert d.order == ["notify", "approved", "cleanup", "after"]
    assert [r.task_id for r in d.exe.task_runs].count("notify") == 1
    assert d.exe.state.current is StateType.SUCCESS


def _parallel(flow_extra: str = "") -> Driver:
    return Driver(f"""
id: f
namespace: company.team
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: approvalA
        type: {APPROVAL}
        onDeny:
          - {{id: deniedA, type: {LOG}, message: x}}
      - id: approvalB
        type: {APPROVAL}
        onApprove:
          - {{id: approvedB, type: {LOG}, message: x}}
{flow_extra}""")


def test_a_denial_cancels_the_execution_and_ends_a_sibling_approval_still_waiting() -> None:
    d = _parallel()
    d.run()
    a = next(r.id for r in d.exe.task_runs if r.task_id == "approvalA")
    d._take(d.executor.resume(a, inputs={a: {"decision": "DENIED"}}, by=None))
    while d.step():
        pass
    assert d.order == ["deniedA"]
    assert d.states()["approvalA"] == "CANCELLED" and d.states()["approvalB"] == "CANCELLED"
    assert d.exe.state.current is StateType.CANCELLED


def test_the_execution_stays_paused_while_a_sibling_approval_still_waits() -> None:
    d = _parallel()
    d.run()
    b = next(r.id for r in d.exe.task_runs if r.task_id == "approvalB")
    d._take(d.executor.resume(b, inputs={b: {"decision": "APPROVED"}}, by=None))
    while d.step():
        pass
    assert d.states()["approvalB"] == "SUCCESS" and d.states()["approvalA"] == "PAUSED"
    assert d.exe.state.current is StateType.PAUSED


@pytest.mark.parametrize(("behavior", "sibling", "exe_state"), [("CANCEL", "SUCCESS", "CANCELLED"),
                                                                ("KILL", "KILLED", "KILLED")])
def test_deny_behavior_cancel_lets_a_running_sibling_finish_and_kill_kills_it(behavior: str, sibling: str,
                                                                               exe_state: str) -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: approval
        type: {APPROVAL}
        denyBehavior: {behavior}
      - {{id: sleep, type: {LOG}, message: x}}
""")
    d.start()
    [a] = [r for r in d.exe.task_runs if r.task_id == "approval"]
    assert a.current is StateType.PAUSED and [r.task_id for r in d.pending] == ["sleep"]
    d._take(d.executor.resume(a.id, inputs={a.id: {"decision": "DENIED"}}, by=None))
    while d.step():
        pass
    assert d.states()["sleep"] == sibling
    assert d.exe.state.current.value == exe_state
