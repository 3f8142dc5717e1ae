"""Issue 13 (dashboard): the bulk restart and labels routes, and Kestra's read-only but POST daily
statistics, go through the same doors as every state-changing route. A page on another origin is
refused (403), a simple cross-site body (form or text/plain, no CORS preflight) is refused (415)
— these routes take JSON, never a form — and with basic auth on nothing answers without
credentials (401). Each attack is checked to have changed nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.server.harness import Server

FLOW = """id: breaks
namespace: company.dashdoors
tasks:
  - id: explode
    type: io.kestra.plugin.core.execution.Fail
"""
EVIL = {"Origin": "http://attacker.example"}
QUERY = "?namespace=company.dashdoors&flowId=breaks"


@pytest.fixture(scope="module")
def failed(server: Server) -> dict[str, Any]:
    server.deploy(FLOW)
    return server.run("company.dashdoors", "breaks")


def _routes(exe_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request keywords) of each new POST route, with a body it would act on."""
    return [
        ("POST", "/executions/restart/by-ids", {"json": [exe_id]}),
        ("POST", "/executions/restart/by-query" + QUERY, {}),
        ("POST", "/executions/labels/by-ids",
         {"json": {"executionsId": [exe_id], "executionLabels": [{"key": "pwned", "value": "yes"}]}}),
        ("POST", "/executions/labels/by-query" + QUERY, {"json": [{"key": "pwned", "value": "yes"}]}),
        ("POST", "/stats/executions/daily", {"json": {}}),
    ]


def _unchanged(server: Server, exe: dict[str, Any]) -> None:
    now = server.client.get(f"/executions/{exe['id']}").json()
    assert now["labels"] == exe["labels"]
    assert [h["state"] for h in now["state"]["histories"]] == [h["state"] for h in exe["state"]["histories"]]


def test_another_origin_cannot_restart_or_label_in_bulk(server: Server, failed: dict[str, Any]) -> None:
    for method, path, kwargs in _routes(failed["id"]):
        r = httpx.request(method, server.url + "/api/v1" + path, headers=EVIL, **kwargs)
        assert r.status_code == 403, (method, path, r.status_code)
        r = httpx.request(method, server.url + "/api/v1" + path, headers={"Sec-Fetch-Site": "cross-site"}, **kwargs)
        assert r.status_code == 403, (method, path, r.status_code)
    _unchanged(server, failed)


def test_a_simple_cross_site_body_is_refused_by_the_bulk_routes(server: Server, failed: dict[str, Any]) -> None:
    for method, path, _ in _routes(failed["id"]):
        for body in ({"data": {"executionsId": failed["id"]}},
                     {"content": f'["{failed["id"]}"]', "headers": {"Content-Type": "text/plain"}},
                     {"files": {"x": ("x.json", b"[]", "application/json")}}):
            r = httpx.request(method, server.url + "/api/v1" + path, **body)  # type: ignore[arg-type]
            assert r.status_code == 415, (method, path, body, r.status_code)
    _unchanged(server, failed)


def test_the_bulk_routes_and_statistics_need_credentials_when_auth_is_on(guarded: Server) -> None:
    anonymous = httpx.Client(base_url=guarded.url + "/api/v1")
    for method, path, kwargs in _routes("AAAAAAAAAAAAAAAAAAAAAA"):
        assert anonymous.request(method, path, **kwargs).status_code == 401, (method, path)
    assert anonymous.get("/stats/executions/dashboard").status_code == 401
