"""Issue 13: every route added for Kestra's API goes through the same doors. A page on another
origin cannot change executions or flows through them (403), a simple cross-site body (form or
text/plain, sent without a CORS preflight) is refused (415), and with basic auth on nothing
answers without credentials (401). Each attack is checked to have changed nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"
FLOW = f"id: target\nnamespace: company.doors\ntasks:\n  - {{id: t, type: {LOG}, message: hi}}\n"
EVIL = {"Origin": "http://attacker.example"}


@pytest.fixture(scope="module")
def ended(server: Server) -> dict[str, Any]:
    server.deploy(FLOW)
    return server.run("company.doors", "target")


def _routes(exe_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request keywords) of each new state-changing route, with a valid body."""
    return [
        ("POST", f"/executions/{exe_id}/labels", {"json": [{"key": "pwned", "value": "yes"}]}),
        ("POST", f"/executions/{exe_id}/change-status?status=FAILED", {}),
        ("POST", f"/executions/{exe_id}/replay", {}),
        ("DELETE", "/executions/by-ids", {"json": [exe_id]}),
        ("DELETE", "/executions/kill/by-ids", {"json": [exe_id]}),
        ("DELETE", "/executions/by-query?flowId=target", {}),
        ("DELETE", "/executions/kill/by-query?flowId=target", {}),
        ("POST", "/flows/company.doors", {"content": FLOW.replace("target", "planted"),
                                          "headers": {"Content-Type": "application/x-yaml"}}),
        ("POST", "/triggers/set-disabled/by-triggers", {"json": {"triggers": [], "disabled": True}}),
        ("POST", "/triggers/company.doors/target/daily/unlock", {}),
    ]


def _unchanged(server: Server, exe: dict[str, Any]) -> None:
    now = server.client.get(f"/executions/{exe['id']}").json()
    assert now["state"]["current"] == "SUCCESS" and now["labels"] == exe["labels"]
    assert [f["id"] for f in server.client.get("/flows/company.doors").json()] == ["target"]
    assert [e["id"] for e in server.executions(flowId="target")] == [exe["id"]]  # no replay started


def test_another_origin_cannot_use_the_new_routes(server: Server, ended: dict[str, Any]) -> None:
    for method, path, kwargs in _routes(ended["id"]):
        headers = {**kwargs.pop("headers", {}), **EVIL}
        r = httpx.request(method, server.url + "/api/v1" + path, headers=headers, **kwargs)
        assert r.status_code == 403, (method, path, r.status_code)
    _unchanged(server, ended)


def test_a_simple_cross_site_body_is_refused_by_the_new_routes(server: Server, ended: dict[str, Any]) -> None:
    for method, path, _ in _routes(ended["id"]):
        for body in ({"data": {"key": "pwned"}}, {"content": "[]", "headers": {"Content-Type": "text/plain"}}):
            r = httpx.request(method, server.url + "/api/v1" + path, **body)  # type: ignore[arg-type]
            assert r.status_code == 415, (method, path, body, r.status_code)
    _unchanged(server, ended)


def test_the_new_routes_need_credentials_when_auth_is_on(guarded: Server) -> None:
    anonymous = httpx.Client(base_url=guarded.url + "/api/v1")
    for method, path, kwargs in _routes("AAAAAAAAAAAAAAAAAAAAAA"):
        assert anonymous.request(method, path, **kwargs).status_code == 401, (method, path)
    for path in ("/logs/search", "/executions/AAAAAAAAAAAAAAAAAAAAAA/file?path=kestra:///x",
                 "/executions/AAAAAAAAAAAAAAAAAAAAAA/file/metas?path=kestra:///x"):
        assert anonymous.get(path).status_code == 401, path


def test_flow_import_takes_a_form_only_from_this_servers_own_pages(server: Server, ended: dict[str, Any]) -> None:
    """The import takes multipart (as Kestra's), so the Origin and Fetch-Metadata doors guard it."""
    upload = {"fileUpload": ("f.yml", FLOW.replace("target", "planted").encode(), "application/x-yaml")}
    assert httpx.post(server.url + "/api/v1/flows/import", files=upload, headers=EVIL).status_code == 403
    assert httpx.post(server.url + "/api/v1/flows/import", files=upload,
                      headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert httpx.post(server.url + "/api/v1/flows/import", content=FLOW,
                      headers={"Content-Type": "text/plain"}).status_code == 415
    _unchanged(server, ended)
