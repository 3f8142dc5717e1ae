"""`lanner execution approve|deny`: a reviewer decides a waiting Approval from another terminal."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.e2e.conftest import Cli, states

FLOW = """id: review
namespace: company.team
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Approval
    commentRequired: ON_DENY
    inputs:
      - {id: ticket, type: INT}
    onWait:
      - {id: notify, type: io.kestra.plugin.core.log.Log, message: asked}
    onApprove:
      - {id: approved, type: io.kestra.plugin.core.debug.Return,
         format: "{{ outputs.approval.by }} {{ outputs.approval.inputs.ticket }} {{ outputs.approval.comment }}"}
    onDeny:
      - {id: denied, type: io.kestra.plugin.core.log.Log, message: denied}
    finally:
      - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: cleanup}
  - {id: after, type: io.kestra.plugin.core.log.Log, message: after}
"""


def _paused(cli: Cli, tmp_path: Path) -> tuple[object, str]:
    flow = tmp_path / "review.yaml"
    flow.write_text(FLOW)
    proc = cli.popen("run", str(flow), "--json")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = json.loads(cli("executions", "--json").stdout or "[]")
        if rows and rows[0]["state"] == "PAUSED":
            return proc, rows[0]["id"]
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError("the execution never paused")


def test_approve_runs_on_approve_with_the_reviewers_values_and_a_resume_is_refused(cli: Cli, tmp_path: Path) -> None:
    proc, execution_id = _paused(cli, tmp_path)
    resumed = cli("execution", "resume", execution_id)
    assert resumed.returncode == 2 and "approve or deny it" in resumed.stdout + resumed.stderr
    bad = cli("execution", "approve", execution_id, "-i", "ticket=abc")
    assert bad.returncode == 2 and "ticket" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr
    ok = cli("execution", "approve", execution_id, "-i", "ticket=42", "--comment", "fine")
    assert ok.returncode == 0 and "approve: sent to the process" in ok.stdout + ok.stderr
    out, _ = proc.communicate(timeout=30)  # type: ignore[attr-defined]
    exe = json.loads(out)
    assert exe["state"]["current"] == "SUCCESS"
    assert states(exe) == {"approval": "SUCCESS", "notify": "SUCCESS", "approved": "SUCCESS",
                           "cleanup": "SUCCESS", "after": "SUCCESS"}
    [approval] = [r for r in exe["taskRunList"] if r["taskId"] == "approval"]
    assert approval["outputs"]["decision"] == "APPROVED" and approval["outputs"]["inputs"] == {"ticket": 42}


def test_deny_needs_its_comment_then_cancels_the_execution_after_cleanup(cli: Cli, tmp_path: Path) -> None:
    proc, execution_id = _paused(cli, tmp_path)
    refused = cli("execution", "deny", execution_id, "-i", "ticket=1")
    assert refused.returncode == 2 and "requires a comment" in refused.stdout + refused.stderr
    denied = cli("execution", "deny", execution_id, "-i", "ticket=1", "-c", "not now")
    assert denied.returncode == 0, denied.stdout + denied.stderr
    out, _ = proc.communicate(timeout=30)  # type: ignore[attr-defined]
    exe = json.loads(out)
    assert exe["state"]["current"] == "CANCELLED"
    assert states(exe) == {"approval": "CANCELLED", "notify": "SUCCESS", "denied": "SUCCESS", "cleanup": "SUCCESS"}
