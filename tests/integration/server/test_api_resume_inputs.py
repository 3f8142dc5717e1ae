"""`POST /executions/{id}/resume` with the Pause's `onResume` inputs, as a form (files included) or
JSON: typed like flow inputs, shown in the execution, and refused with 422 — the execution still
PAUSED, no upload kept — when they are wrong."""

from __future__ import annotations

from tests.integration.server.harness import Server, by_task

REVIEW = """id: review
namespace: company.resume
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - {id: approved, type: BOOLEAN}
      - {id: score, type: INT, defaults: 5}
      - {id: report, type: FILE, required: false}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.wait.onResume.approved }} {{ outputs.wait.onResume.score + 1 }}"
finally:
  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}
"""


def _paused(server: Server, flow_id: str) -> str:
    server.deploy(REVIEW.replace("id: review", f"id: {flow_id}", 1))
    exe = server.run("company.resume", flow_id, wait=False)
    server.wait_state(exe["id"], {"PAUSED"})
    return str(exe["id"])


def test_a_resume_with_bad_values_is_refused_and_the_execution_stays_paused(server: Server) -> None:
    execution_id = _paused(server, "refused")
    missing = server.client.post(f"/executions/{execution_id}/resume", json={"score": "many", "colour": "red"})
    assert missing.status_code == 422, missing.text
    message = missing.json()["message"]
    assert "missing required input `approved`" in message and "input `score`" in message
    assert "unknown resume input `colour`" in message
    stray = server.client.post(f"/executions/{execution_id}/resume",
                               files={"notes": ("n.txt", b"x", "text/plain"), "approved": (None, "true")})
    assert stray.status_code == 422 and "`notes` is not a FILE input" in stray.json()["message"]
    shown = server.client.get(f"/executions/{execution_id}").json()
    assert shown["state"]["current"] == "PAUSED" and by_task(shown)["wait"]["state"]["current"] == "PAUSED"
    assert server.client.post(f"/executions/{execution_id}/resume", json={"approved": True}).status_code == 204
    done = server.wait_state(execution_id)
    assert by_task(done)["after"]["outputs"] == {"value": "true 6"}


def test_a_form_resume_stores_its_file_and_the_execution_shows_the_values(server: Server) -> None:
    execution_id = _paused(server, "form")
    r = server.client.post(f"/executions/{execution_id}/resume",
                           files={"approved": (None, "false"), "score": (None, "9"),
                                  "report": ("report.txt", b"all good", "text/plain")})
    assert r.status_code == 204, r.text
    done = server.wait_state(execution_id)
    assert done["state"]["current"] == "SUCCESS"
    wait = by_task(done)["wait"]["outputs"]
    assert wait["onResume"]["approved"] is False and wait["onResume"]["score"] == 9
    assert wait["onResume"]["report"].startswith(f"kestra:///company/resume/form/executions/{execution_id}/")
    assert set(wait["resumed"]) == {"by", "on"}
    assert by_task(done)["after"]["outputs"] == {"value": "false 10"}
