"""The backfill routes start and stop executions of a flow: only the server's own users, from its
own pages, may use them. A page on another origin (403), a simple cross-site body (415), fetch
metadata saying cross-site (403), and no credentials with auth on (401) are each refused, and
each attack is checked to have changed nothing: no backfill stored, none paused or deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.integration.server.harness import Server

FLOW = """id: {id}
namespace: company.bfdoors
tasks:
  - {{id: t, type: io.kestra.plugin.core.log.Log, message: hi}}
triggers:
  - {{id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 0 * * *"}}
"""
EVIL = {"Origin": "http://attacker.example"}


def _key(flow_id: str) -> dict[str, str]:
    return {"namespace": "company.bfdoors", "flowId": flow_id, "triggerId": "daily"}


def _routes(flow_id: str) -> list[tuple[str, str, Any]]:
    """(method, path, valid JSON body) of each backfill route."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).replace(microsecond=0).isoformat()
    key = _key(flow_id)
    return [("PUT", "/triggers", {**key, "backfill": {"start": start}}),
            ("PUT", "/triggers/backfill/pause", key),
            ("PUT", "/triggers/backfill/unpause", key),
            ("POST", "/triggers/backfill/delete", key),
            *(("POST", f"/triggers/backfill/{a}/by-triggers", [key]) for a in ("pause", "unpause", "delete"))]


def _backfill(srv: Server, flow_id: str) -> Any:
    [row] = srv.client.get("/triggers/search", params={"flowId": flow_id}).json()["results"]
    return row["triggerContext"]["backfill"]


def _with_paused_backfill(srv: Server, flow_id: str) -> dict[str, Any]:
    srv.deploy(FLOW.format(id=flow_id))
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    r = srv.client.put("/triggers", json={**_key(flow_id), "backfill": {"start": start, "paused": True}})
    assert r.status_code == 200, r.text
    return dict(r.json()["backfill"])


def test_a_cross_site_page_cannot_start_pause_or_delete_a_backfill(server: Server) -> None:
    server.deploy(FLOW.format(id="fresh"))
    before = _with_paused_backfill(server, "held")
    for flow_id in ("fresh", "held"):
        for method, path, body in _routes(flow_id):
            url = server.url + "/api/v1" + path
            assert httpx.request(method, url, json=body, headers=EVIL).status_code == 403, (method, path)
            simple = httpx.request(method, url, content=httpx.Request("POST", url, json=body).content,
                                   headers={"Content-Type": "text/plain"})
            assert simple.status_code == 415, (method, path, simple.status_code)
            metadata = httpx.request(method, url, json=body, headers={"Sec-Fetch-Site": "cross-site"})
            assert metadata.status_code == 403, (method, path, metadata.status_code)
    assert _backfill(server, "fresh") is None  # none was started
    assert _backfill(server, "held") == before  # still paused, not deleted
    assert server.executions(flowId="held") == server.executions(flowId="fresh") == []


def test_without_credentials_nobody_uses_the_backfill_routes(guarded: Server) -> None:
    before = _with_paused_backfill(guarded, "guarded")
    anonymous = httpx.Client(base_url=guarded.url + "/api/v1")
    for method, path, body in _routes("guarded"):
        assert anonymous.request(method, path, json=body).status_code == 401, (method, path)
    assert _backfill(guarded, "guarded") == before
    assert guarded.client.put("/triggers/backfill/unpause", json=_key("guarded")).status_code == 200
