"""Labels, manual status, and bulk delete and kill of executions, in Kestra's shapes."""

from __future__ import annotations

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"
QUICK = f"id: quick\nnamespace: company.edit\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"
SLOW = f"""id: slow
namespace: company.edit
tasks:
  - {{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT60S}}
finally:
  - {{id: cleanup, type: {LOG}, message: cleaned}}
"""


def test_labels_are_replaced_on_an_ended_execution(server: Server) -> None:
    server.deploy(QUICK)
    exe = server.run("company.edit", "quick")
    r = server.client.post(f"/executions/{exe['id']}/labels", json=[{"key": "team", "value": "data"},
                                                                    {"key": "env", "value": "prod"}])
    assert r.status_code == 200, r.text
    assert r.json()["labels"] == [{"key": "system.correlationId", "value": exe["id"]},
                                  {"key": "team", "value": "data"}, {"key": "env", "value": "prod"}]
    found = server.executions(labels="team:data")
    assert [e["id"] for e in found] == [exe["id"]]
    bad = server.client.post(f"/executions/{exe['id']}/labels", json=[{"key": "team"}])
    assert bad.status_code == 422
    system = server.client.post(f"/executions/{exe['id']}/labels", json=[{"key": "system.x", "value": "y"}])
    assert system.status_code == 422 and "system label" in system.json()["message"]


def test_change_status_sets_an_ending_by_hand_and_keeps_the_history(server: Server) -> None:
    server.deploy(QUICK.replace("id: quick", "id: quick_status"))
    exe = server.run("company.edit", "quick_status")
    r = server.client.post(f"/executions/{exe['id']}/change-status", params={"status": "FAILED"})
    assert r.status_code == 200, r.text
    state = r.json()["state"]
    assert state["current"] == "FAILED"
    assert [h["state"] for h in state["histories"]][-2:] == ["SUCCESS", "FAILED"]
    assert server.executions(flowId="quick_status", state="FAILED")[0]["id"] == exe["id"]
    running = server.client.post(f"/executions/{exe['id']}/change-status", params={"status": "RUNNING"})
    assert running.status_code == 422 and "SUCCESS" in running.json()["hint"]


def test_a_running_execution_is_not_edited_and_bulk_kill_still_runs_finally(server: Server) -> None:
    server.deploy(SLOW)
    ids = [server.run("company.edit", "slow", wait=False)["id"] for _ in range(2)]
    for exe_id in ids:
        server.wait_task_running(exe_id, "nap")
    busy = server.client.post(f"/executions/{ids[0]}/labels", json=[])
    assert busy.status_code == 409 and "kill it first" in busy.json()["hint"]
    refused = server.client.request("DELETE", "/executions/by-ids", json=ids)
    assert refused.status_code == 422 and {i["invalidValue"] for i in refused.json()["invalids"]} == set(ids)

    killed = server.client.request("DELETE", "/executions/kill/by-ids", json=[ids[0]])
    assert killed.status_code == 200 and killed.json() == {"count": 1}
    assert server.wait_state(ids[0])["state"]["current"] == "KILLED"  # the kill is applied by the runtime, later
    by_query = server.client.request("DELETE", "/executions/kill/by-query", params={"flowId": "slow"})
    assert by_query.json() == {"count": 1}
    for exe_id in ids:
        ended = server.wait_state(exe_id)
        assert ended["state"]["current"] == "KILLED"
        assert {r["taskId"]: r["state"]["current"] for r in ended["taskRunList"]}["cleanup"] == "SUCCESS"
    again = server.client.request("DELETE", "/executions/kill/by-ids", json=[ids[0], "nosuchexecution1"])
    assert again.status_code == 422 and len(again.json()["invalids"]) == 2


def test_bulk_delete_by_ids_and_by_query_removes_executions_logs_and_files(server: Server) -> None:
    server.deploy(QUICK.replace("id: quick", "id: doomed"))
    ids = [server.run("company.edit", "doomed")["id"] for _ in range(3)]
    r = server.client.request("DELETE", "/main/executions/by-ids", json=ids[:2])
    assert r.status_code == 200 and r.json() == {"count": 2}
    assert [e["id"] for e in server.executions(flowId="doomed")] == [ids[2]]
    assert server.client.get(f"/logs/{ids[0]}").status_code == 404
    unknown = server.client.request("DELETE", "/executions/by-ids", json=[ids[2], ids[0]])
    assert unknown.status_code == 422 and [i["invalidValue"] for i in unknown.json()["invalids"]] == [ids[0]]
    assert len(server.executions(flowId="doomed")) == 1  # nothing done when one id is invalid
    by_query = server.client.request("DELETE", "/executions/by-query", params={"flowId": "doomed"})
    assert by_query.json() == {"count": 1} and server.executions(flowId="doomed") == []
