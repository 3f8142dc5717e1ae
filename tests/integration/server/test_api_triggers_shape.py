"""Triggers in Kestra's shapes: `{abstractTrigger, triggerContext}` pairs, disable/enable one or
several, and unlock answered with what Lanner does instead (backfills: test_api_backfill.py)."""

from __future__ import annotations

from typing import Any

from tests.integration.server.harness import Server

FLOW = """id: yearly
namespace: company.trig
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: tick}
triggers:
  - id: new_year
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 1 1 *"
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cretkey
"""


def _search(server: Server, **params: Any) -> dict[str, Any]:
    r = server.client.get("/main/triggers/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_search_answers_each_trigger_with_its_definition_and_its_context(server: Server) -> None:
    server.deploy(FLOW)
    page = _search(server, namespace="company.trig", sort="triggerId:asc")
    assert page["total"] == 2
    [hook, new_year] = page["results"]
    assert set(new_year) == {"abstractTrigger", "triggerContext"}
    assert new_year["abstractTrigger"] == {"id": "new_year", "type": "io.kestra.plugin.core.trigger.Schedule",
                                           "cron": "0 0 1 1 *", "disabled": False}
    context = new_year["triggerContext"]
    assert {"tenantId": "main", "namespace": "company.trig", "flowId": "yearly", "triggerId": "new_year",
            "disabled": False}.items() <= context.items()
    assert context["nextExecutionDate"] is None or context["nextExecutionDate"].endswith("Z")
    assert hook["abstractTrigger"]["key"] == "s3cretkey"
    assert [r["triggerContext"]["triggerId"] for r in _search(server, q="NEW_")["results"]] == ["new_year"]


def test_triggers_are_disabled_one_at_a_time_or_in_bulk(server: Server) -> None:
    server.deploy(FLOW.replace("id: yearly", "id: toggled"))
    one = server.client.put("/triggers", json={"namespace": "company.trig", "flowId": "toggled",
                                               "triggerId": "new_year", "disabled": True})
    assert one.status_code == 200 and one.json()["disabled"] is True and one.json()["tenantId"] == "main"
    keys = [{"namespace": "company.trig", "flowId": "toggled", "triggerId": t} for t in ("new_year", "hook")]
    bulk = server.client.post("/triggers/set-disabled/by-triggers", json={"triggers": keys, "disabled": False})
    assert bulk.status_code == 200 and bulk.json() == {"count": 2}
    assert [r["triggerContext"]["disabled"] for r in _search(server, flowId="toggled")["results"]] == [False, False]
    missing = server.client.post("/triggers/set-disabled/by-triggers", json={
        "triggers": [*keys, {**keys[0], "triggerId": "nope"}], "disabled": True})
    assert missing.status_code == 404
    assert [r["triggerContext"]["disabled"] for r in _search(server, flowId="toggled")["results"]] == [False, False]


def test_unlock_says_lanner_never_locks_a_trigger(server: Server) -> None:
    server.deploy(FLOW.replace("id: yearly", "id: plain"))
    unlock = server.client.post("/triggers/company.trig/plain/new_year/unlock")
    assert unlock.status_code == 409 and "not locked" in unlock.json()["message"]
    assert server.client.post("/triggers/company.trig/plain/nope/unlock").status_code == 404
