"""The dashboard's statistics route, Kestra's daily statistics, and the bulk restart and labels
routes, against a real server process (SQLite store; the SQL itself is checked on both databases
by tests/integration/test_execution_stats.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"
OK = f"id: fine\nnamespace: company.dash\ntasks:\n  - {{id: say, type: {LOG}, message: hi}}\n"
BAD = """id: broken
namespace: company.dash
tasks:
  - id: before
    type: io.kestra.plugin.core.log.Log
    message: fine so far
  - id: explode
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "the disk is full"
"""


@pytest.fixture(scope="module")
def runs(server: Server) -> dict[str, list[dict[str, Any]]]:
    server.deploy(OK)
    server.deploy(BAD)
    return {"ok": [server.run("company.dash", "fine") for _ in range(3)],
            "bad": [server.run("company.dash", "broken") for _ in range(2)]}


def test_the_dashboard_counts_by_state_times_and_names_failures(server: Server, runs: dict[str, Any]) -> None:
    r = server.client.get("/stats/executions/dashboard", params={"namespace": "company.dash"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["groupBy"] == "day" and len(d["results"]) == 31  # the last 30 days, today included
    assert d["counts"]["SUCCESS"] == 3 and d["counts"]["FAILED"] == 2 and d["total"] == 5
    today = d["results"][-1]
    assert today["executionCounts"]["SUCCESS"] == 3 and today["executionCounts"]["FAILED"] == 2
    assert today["duration"]["count"] == 5 and 0 <= today["duration"]["median"] <= today["duration"]["p95"]
    assert d["topFailingFlows"] == [{"namespace": "company.dash", "flowId": "broken", "count": 2}]
    latest = d["latestFailures"]
    assert {x["id"] for x in latest} == {e["id"] for e in runs["bad"]}
    assert latest[0]["taskId"] == "explode" and "the disk is full" in latest[0]["error"]


def test_the_dashboard_takes_the_searchs_filters_and_a_range(server: Server, runs: dict[str, Any]) -> None:
    now = dt.datetime.now(dt.UTC)
    params = {"namespace": "company.dash", "flowId": "broken", "startDate": (now - dt.timedelta(hours=3)).isoformat(),
              "endDate": (now + dt.timedelta(minutes=1)).isoformat()}
    d = server.client.get("/stats/executions/dashboard", params=params).json()
    assert d["groupBy"] == "hour" and len(d["results"]) in (4, 5)
    assert d["total"] == 2 and d["counts"]["SUCCESS"] == 0
    gone = server.client.get("/stats/executions/dashboard", params={
        "namespace": "company.dash", "startDate": "2020-01-01T00:00:00Z", "endDate": "2020-01-02T00:00:00Z"}).json()
    assert gone["total"] == 0 and gone["latestFailures"] == []


@pytest.mark.parametrize(("params", "words"), [
    ({"startDate": "yesterday"}, "not an ISO 8601"),
    ({"startDate": "2026-01-02T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}, "after endDate"),
    ({"groupBy": "week"}, "groupBy=`week`"),
    ({"startDate": "2020-01-01T00:00:00Z", "endDate": "2026-01-01T00:00:00Z", "groupBy": "hour"}, "more than 2000"),
])
def test_a_bad_range_is_a_clear_400(server: Server, params: dict[str, str], words: str) -> None:
    r = server.client.get("/stats/executions/dashboard", params=params)
    assert r.status_code == 400 and words in r.json()["message"], r.text


def test_an_offset_beyond_fourteen_hours_is_refused_by_name(server: Server) -> None:
    r = server.client.get("/stats/executions/dashboard", params={"utcOffset": 15 * 60})
    assert r.status_code in (400, 422) and "utcOffset" in r.text, r.text


def test_kestras_daily_statistics_route_answers_a_list_of_days(server: Server, runs: dict[str, Any]) -> None:
    r = server.client.post("/stats/executions/daily", json={"namespace": "company.dash", "flowId": "fine"})
    assert r.status_code == 200, r.text
    days = r.json()
    assert len(days) == 31 and days[-1]["executionCounts"]["SUCCESS"] == 3 and days[-1]["groupBy"] == "day"
    assert set(days[0]["duration"]) >= {"min", "avg", "max", "sum", "count"}
    bare = server.client.post("/main/stats/executions/daily")  # no body, and Kestra's tenant path
    assert bare.status_code == 200 and len(bare.json()) == 31, bare.text


def test_bulk_labels_add_to_the_labels_by_ids_and_by_query(server: Server, runs: dict[str, Any]) -> None:
    a, b, c = (e["id"] for e in runs["ok"])
    r = server.client.post("/executions/labels/by-ids", json={
        "executionsId": [a, b], "executionLabels": [{"key": "team", "value": "data"}]})
    assert r.status_code == 200 and r.json() == {"count": 2}, r.text
    assert {e["id"] for e in server.executions(labels="team:data")} == {a, b}
    r = server.client.post("/executions/labels/by-query", params={"flowId": "fine", "namespace": "company.dash"},
                           json=[{"key": "env", "value": "prod"}])
    assert r.status_code == 200 and r.json() == {"count": 3}, r.text
    labels = {lb["key"]: lb["value"] for lb in server.client.get(f"/executions/{a}").json()["labels"]}
    assert labels["team"] == "data" and labels["env"] == "prod"  # added, the others kept
    assert "team" not in {lb["key"] for lb in server.client.get(f"/executions/{c}").json()["labels"]}


def test_bulk_labels_by_ids_is_all_or_nothing(server: Server, runs: dict[str, Any]) -> None:
    a = runs["ok"][0]["id"]
    r = server.client.post("/executions/labels/by-ids", json={
        "executionsId": [a, "AAAAAAAAAAAAAAAAAAAAAA"], "executionLabels": [{"key": "never", "value": "x"}]})
    assert r.status_code == 422 and r.json()["invalids"] == [
        {"invalidValue": "AAAAAAAAAAAAAAAAAAAAAA", "message": "execution not found"}], r.text
    assert "never" not in {lb["key"] for lb in server.client.get(f"/executions/{a}").json()["labels"]}
    r = server.client.post("/executions/labels/by-ids", json={
        "executionsId": [a], "executionLabels": [{"key": "system.correlationId", "value": "x"}]})
    assert r.status_code == 422 and "system." in r.text


def test_bulk_restart_by_ids_and_by_query(server: Server, runs: dict[str, Any]) -> None:
    first, second = (e["id"] for e in runs["bad"])
    refused = server.client.post("/executions/restart/by-ids", json=[first, runs["ok"][0]["id"]])
    assert refused.status_code == 422 and "SUCCESS" in refused.text  # a SUCCESS execution cannot restart
    assert server.client.get(f"/executions/{first}").json()["state"]["histories"][-1]["state"] == "FAILED"
    r = server.client.post("/executions/restart/by-ids", json=[first])
    assert r.status_code == 200 and r.json() == {"count": 1}, r.text
    again = server.wait_state(first)
    assert "RESTARTED" in [h["state"] for h in again["state"]["histories"]] and again["state"]["current"] == "FAILED"
    r = server.client.post("/executions/restart/by-query", params={"flowId": "broken", "namespace": "company.dash"})
    assert r.status_code == 200 and r.json() == {"count": 2}, r.text
    for execution_id in (first, second):
        histories = [h["state"] for h in server.wait_state(execution_id)["state"]["histories"]]
        assert histories.count("RESTARTED") == (2 if execution_id == first else 1)
