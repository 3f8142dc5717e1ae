"""`POST /executions/{id}/replay[?taskRunId=]`: a new execution, whole or from a chosen task,
whose earlier tasks keep the outputs they had and are not run again; `finally` runs once."""

from __future__ import annotations

from tests.integration.server.harness import Server, by_task

RETURN = "io.kestra.plugin.core.debug.Return"
FLOW = f"""id: replayed
namespace: company.replay
inputs:
  - {{id: who, type: STRING}}
tasks:
  - {{id: first, type: {RETURN}, format: "{{{{ execution.id }}}}"}}
  - {{id: second, type: {RETURN}, format: "{{{{ outputs.first.value }}}}>{{{{ execution.id }}}}>{{{{ inputs.who }}}}"}}
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {{id: inner, type: {RETURN}, format: x}}
finally:
  - {{id: cleanup, type: io.kestra.plugin.core.log.Log, message: cleaned}}
"""


def test_replay_from_a_task_keeps_the_tasks_before_it_and_runs_the_rest_once(server: Server) -> None:
    server.deploy(FLOW)
    original = server.run("company.replay", "replayed", {"who": "Ann"})
    chosen = by_task(original)["second"]["id"]
    r = server.client.post(f"/executions/{original['id']}/replay", params={"taskRunId": chosen})
    assert r.status_code == 200, r.text
    new = server.wait_state(r.json()["id"])
    assert new["id"] != original["id"] and new["originalId"] == original["id"]
    assert new["state"]["current"] == "SUCCESS" and new["inputs"] == {"who": "Ann"}
    runs = by_task(new)
    assert runs["first"]["outputs"]["value"] == original["id"]  # copied, not run again
    assert runs["first"]["id"] != by_task(original)["first"]["id"]
    assert runs["second"]["outputs"]["value"] == f"{original['id']}>{new['id']}>Ann"
    assert [t["taskId"] for t in new["taskRunList"]].count("cleanup") == 1
    assert runs["cleanup"]["state"]["current"] == "SUCCESS"
    assert server.client.get(f"/executions/{original['id']}").json()["taskRunList"] == original["taskRunList"]


def test_replay_from_a_flowable_runs_its_children_again(server: Server) -> None:
    server.deploy(FLOW.replace("id: replayed", "id: from_group"))
    original = server.run("company.replay", "from_group", {"who": "Di"})
    group = by_task(original)["group"]["id"]
    r = server.client.post(f"/executions/{original['id']}/replay", params={"taskRunId": group})
    assert r.status_code == 200, r.text
    new = server.wait_state(r.json()["id"])
    assert new["state"]["current"] == "SUCCESS"
    runs = by_task(new)
    assert runs["inner"]["parentTaskRunId"] == runs["group"]["id"] and runs["inner"]["outputs"]["value"] == "x"
    assert runs["second"]["outputs"]["value"] == by_task(original)["second"]["outputs"]["value"]
    assert [t["taskId"] for t in new["taskRunList"]].count("cleanup") == 1


def test_replay_of_a_whole_execution_runs_every_task_again(server: Server) -> None:
    server.deploy(FLOW.replace("id: replayed", "id: whole"))
    original = server.run("company.replay", "whole", {"who": "Bo"})
    r = server.client.post(f"/main/executions/{original['id']}/replay")
    assert r.status_code == 200, r.text
    new = server.wait_state(r.json()["id"])
    assert by_task(new)["first"]["outputs"]["value"] == new["id"] and new["originalId"] == original["id"]


def test_replay_refuses_a_nested_task_an_unknown_run_and_an_unknown_parameter(server: Server) -> None:
    server.deploy(FLOW.replace("id: replayed", "id: refused"))
    original = server.run("company.replay", "refused", {"who": "Cy"})
    nested = server.client.post(f"/executions/{original['id']}/replay",
                                params={"taskRunId": by_task(original)["inner"]["id"]})
    assert nested.status_code == 422 and "`group`" in nested.json()["hint"]
    assert server.client.post(f"/executions/{original['id']}/replay",
                              params={"taskRunId": "AAAAAAAAAAAAAAAAAAAAAA"}).status_code == 404
    assert server.client.post(f"/executions/{original['id']}/replay", params={"revision": 1}).status_code == 400
    assert len(server.executions(flowId="refused")) == 1
