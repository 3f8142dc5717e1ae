"""Attack 2 of issue 11: a web page the developer visits must not reach the loopback server —
neither by DNS rebinding (Host), nor by cross-site requests that need no preflight (Origin,
text/plain and form bodies)."""

from __future__ import annotations

import httpx

from tests.integration.server.harness import Server

LOG_FLOW = "id: {id}\nnamespace: company.web\ntasks:\n  - {{id: t, type: io.kestra.plugin.core.log.Log, message: hi}}\n"
YAML = {"Content-Type": "application/x-yaml"}


def test_a_foreign_host_name_is_refused_so_dns_rebinding_reads_nothing(server: Server) -> None:
    for path in ("/api/v1/flows/search", "/ui/", "/api/v1/executions/search"):
        r = httpx.get(server.url + path, headers={"Host": "attacker.example"})
        assert r.status_code == 421, (path, r.status_code)
        assert "attacker.example" in r.json()["message"] and "LANNER_ALLOWED_HOSTS" in r.json()["hint"]
        assert "results" not in r.text
    for name in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]", "LOCALHOST."):
        assert httpx.get(server.url + "/api/v1/flows/search", headers={"Host": name}).status_code == 200, name
    assert httpx.get(server.url + "/ping", headers={"Host": "lb.internal"}).text == "pong"  # health checks


def test_a_configured_host_name_and_origin_are_accepted(guarded: Server) -> None:
    r = guarded.client.post("/flows", content=LOG_FLOW.format(id="via_proxy"),
                            headers={**YAML, "Host": "lanner.test", "Origin": "https://lanner.test"})
    assert r.status_code == 200, r.text
    other = guarded.client.get("/flows/search", headers={"Host": "lanner.test.attacker.example"})
    assert other.status_code == 421


def test_a_text_plain_flow_is_refused_and_not_stored(server: Server) -> None:
    r = httpx.post(server.url + "/api/v1/flows", content=LOG_FLOW.format(id="plain"),
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/x-yaml" in r.json()["hint"]
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "TEXT/PLAIN; charset=utf-8"):
        reply = httpx.post(server.url + "/api/v1/flows", content=b"x", headers={"Content-Type": ctype})
        assert reply.status_code == 415
    assert server.client.get("/flows/company.web/plain").status_code == 404


def test_a_cross_site_form_cannot_start_an_execution(server: Server) -> None:
    server.deploy(LOG_FLOW.format(id="formed"))
    for origin in ("http://attacker.example", "null", f"http://127.0.0.1:{server.port + 1}"):
        r = httpx.post(server.url + "/api/v1/executions/company.web/formed", data={"a": "b"},
                       headers={"Origin": origin})
        assert r.status_code == 403, (origin, r.text)
        assert "LANNER_ALLOWED_ORIGINS" in r.json()["hint"]
    fetch_metadata = httpx.post(server.url + "/api/v1/executions/company.web/formed",
                                headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_metadata.status_code == 403
    assert server.executions(flowId="formed") == []
    # the UI's own origin, and tools that send no Origin (curl, the CLI), still work
    same = httpx.post(server.url + "/api/v1/executions/company.web/formed", files={"x": (None, "")},
                      headers={"Origin": server.url})
    assert same.status_code == 422 and "unknown input `x`" in same.text
    assert server.client.post("/executions/company.web/formed", data={}).status_code == 200
    assert len(server.executions(flowId="formed")) == 1


def test_state_changes_from_another_origin_are_refused_on_every_method(server: Server) -> None:
    server.deploy(LOG_FLOW.format(id="victim"))
    evil = {"Origin": "http://attacker.example"}
    assert httpx.delete(server.url + "/api/v1/flows/company.web/victim", headers=evil).status_code == 403
    assert httpx.put(server.url + "/api/v1/flows/company.web/victim", content=LOG_FLOW.format(id="victim"),
                     headers={**evil, **YAML}).status_code == 403
    assert server.client.get("/flows/company.web/victim").status_code == 200
    reads = httpx.get(server.url + "/api/v1/flows/company.web/victim", headers=evil)
    assert reads.status_code == 200 and "access-control-allow-origin" not in reads.headers  # the browser hides it
