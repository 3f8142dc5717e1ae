"""`GET /logs/search`: log lines across executions, filtered and paged in Kestra's shape."""

from __future__ import annotations

import datetime as dt

from tests.integration.server.harness import Server

FLOW = """id: {id}
namespace: {ns}
tasks:
  - {{id: info, type: io.kestra.plugin.core.log.Log, message: "note from {id}"}}
  - {{id: warn, type: io.kestra.plugin.core.log.Log, level: WARN, message: "careful in {id}"}}
"""


def test_logs_search_filters_by_flow_level_text_and_dates(server: Server) -> None:
    server.deploy(FLOW.format(id="alpha", ns="company.logs"))
    server.deploy(FLOW.format(id="beta", ns="company.logs.sub"))
    server.deploy(FLOW.format(id="gamma", ns="other.logs"))
    started = dt.datetime.now(dt.UTC)
    alpha = server.run("company.logs", "alpha")
    server.run("company.logs.sub", "beta")
    server.run("other.logs", "gamma")

    page = server.client.get("/logs/search", params={"namespace": "company.logs", "size": 100}).json()
    assert set(page) == {"results", "total"}
    assert {line["flowId"] for line in page["results"]} == {"alpha", "beta"}
    assert page["total"] == len(page["results"])
    assert sorted(r["message"] for r in page["results"] if r["taskId"]) == [
        "careful in alpha", "careful in beta", "note from alpha", "note from beta"]
    line = page["results"][0]
    assert {"namespace", "flowId", "executionId", "taskId", "taskRunId", "level", "message", "timestamp"} <= set(line)

    warn = server.client.get("/main/logs/search", params={"flowId": "alpha", "minLevel": "WARN"}).json()
    assert [r["message"] for r in warn["results"]] == ["careful in alpha"]
    text = server.client.get("/logs/search", params={"q": "note from g"}).json()
    assert [(r["flowId"], r["namespace"]) for r in text["results"]] == [("gamma", "other.logs")]
    by_exe = server.client.get("/logs/search", params={"executionId": alpha["id"], "sort": "timestamp:asc"}).json()
    assert [r["taskId"] for r in by_exe["results"] if r["taskId"]] == ["info", "warn"]
    assert {r["executionId"] for r in by_exe["results"]} == {alpha["id"]}
    newest = server.client.get("/logs/search", params={"executionId": alpha["id"]}).json()["results"]
    assert newest == by_exe["results"][::-1]
    paged = server.client.get("/logs/search", params={"namespace": "company", "size": 1, "page": 2}).json()
    assert paged["total"] == page["total"] and paged["results"] == page["results"][1:2]
    future = (started + dt.timedelta(hours=1)).isoformat()
    assert server.client.get("/logs/search", params={"startDate": future}).json()["total"] == 0
    assert server.client.get("/logs/search", params={"endDate": started.isoformat(),
                                                     "flowId": "alpha"}).json()["total"] == 0


def test_a_bad_logs_search_parameter_is_refused(server: Server) -> None:
    assert server.client.get("/logs/search", params={"minLevel": "LOUD"}).status_code == 422
    assert server.client.get("/logs/search", params={"startDate": "today"}).status_code == 400
    assert server.client.get("/logs/search", params={"sort": "message"}).status_code == 400
