"""`POST /executions/{id}/actions/approve|deny`: a reviewer's decision on a waiting Approval, checked
before it is sent (422 and the execution still PAUSED when wrong), its outputs shown."""

from __future__ import annotations

from tests.integration.server.harness import Server, by_task

REVIEW = """id: review
namespace: company.approval
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Approval
    commentRequired: ON_DENY
    inputs:
      - {id: ticket, type: INT}
    onApprove:
      - {id: approved, type: io.kestra.plugin.core.debug.Return,
         format: "{{ outputs.approval.decision }} {{ outputs.approval.inputs.ticket }}"}
    onDeny:
      - {id: denied, type: io.kestra.plugin.core.log.Log, message: denied}
  - {id: after, type: io.kestra.plugin.core.log.Log, message: after}
"""


def _paused(server: Server, flow_id: str) -> str:
    server.deploy(REVIEW.replace("id: review", f"id: {flow_id}", 1))
    exe = server.run("company.approval", flow_id, wait=False)
    server.wait_state(exe["id"], {"PAUSED"})
    return str(exe["id"])


def test_approve_with_bad_values_is_refused_then_a_good_one_runs_on_approve(server: Server) -> None:
    execution_id = _paused(server, "approve")
    url = f"/executions/{execution_id}/actions/approve"
    bad = server.client.post(url, json={"inputs": {"ticket": "x", "other": 1}})
    assert bad.status_code == 422, bad.text
    assert "input `ticket`" in bad.json()["message"] and "unknown input `other`" in bad.json()["message"]
    resumed = server.client.post(f"/executions/{execution_id}/resume", json={})
    assert resumed.status_code == 422 and "approve or deny it" in resumed.json()["hint"]
    assert server.client.get(f"/executions/{execution_id}").json()["state"]["current"] == "PAUSED"
    ok = server.client.post(url, json={"inputs": {"ticket": 7}, "comment": "go"})
    assert ok.status_code == 204, ok.text
    done = server.wait_state(execution_id)
    assert done["state"]["current"] == "SUCCESS"
    assert by_task(done)["approved"]["outputs"] == {"value": "APPROVED 7"}
    out = by_task(done)["approval"]["outputs"]
    assert (out["decision"], out["comment"], out["auto"]) == ("APPROVED", "go", False)
    again = server.client.post(f"/executions/{execution_id}/actions/deny", json={"comment": "late"})
    assert again.status_code == 409


def test_deny_needs_its_comment_then_cancels_the_execution(server: Server) -> None:
    execution_id = _paused(server, "deny")
    bare = server.client.post(f"/executions/{execution_id}/actions/deny", json={"inputs": {"ticket": 1}})
    assert bare.status_code == 422 and "requires a comment" in bare.json()["message"]
    r = server.client.post(f"/executions/{execution_id}/actions/deny", json={"inputs": {"ticket": 1}, "comment": "no"})
    assert r.status_code == 204, r.text
    done = server.wait_state(execution_id)
    assert done["state"]["current"] == "CANCELLED"
    assert "after" not in by_task(done) and by_task(done)["denied"]["state"]["current"] == "SUCCESS"
