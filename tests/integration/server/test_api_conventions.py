"""What every route does alike: unknown query parameters and tenants are refused by name, the
create answer has the execution's `url`, and errors speak to an API caller, not a CLI user."""

from __future__ import annotations

import httpx

from tests.integration.server.harness import Server

FLOW = """id: greet
namespace: company.conv
inputs:
  - {id: name, type: STRING}
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: "hi {{ inputs.name }}"}
"""


def test_an_unknown_query_parameter_is_a_400_naming_it(server: Server) -> None:
    r = server.client.get("/executions/search", params={"namspace": "company", "flowId": "x"})
    assert r.status_code == 400
    assert "`namspace`" in r.json()["message"] and "namespace" in r.json()["hint"]
    r = server.client.get("/main/flows/search", params={"filters[namespace][EQUALS]": "a", "page": 1})
    assert r.status_code == 400 and "filters[namespace][EQUALS]" in r.json()["message"]
    assert server.client.get("/executions/search", params={"namespace": "company"}).status_code == 200


def test_a_tenant_other_than_main_is_a_404_naming_the_one_that_exists(server: Server) -> None:
    for path in ("/acme/flows/search", "/acme/executions/search", "/acme/logs/search"):
        r = server.client.get(path)
        assert r.status_code == 404, (path, r.text)
        assert "tenant `acme`" in r.json()["message"] and "`main`" in r.json()["message"]
    assert server.client.get("/main/flows/search").status_code == 200
    wrong_path = server.client.get("/triggers/a/b/c")  # not a tenant: a path no route has
    assert wrong_path.status_code == 404 and "no such API path" in wrong_path.json()["message"]


def test_the_create_answer_has_the_executions_url(server: Server) -> None:
    server.deploy(FLOW)
    exe = server.run("company.conv", "greet", {"name": "Ann"}, wait=False)
    assert exe["url"] == f"{server.url}/ui/#/executions/{exe['id']}"
    assert httpx.get(exe["url"].split("#")[0]).status_code == 200


def test_a_missing_input_says_how_to_send_it_through_the_api(server: Server) -> None:
    server.deploy(FLOW.replace("id: greet", "id: greet_strict"))
    r = server.client.post("/executions/company.conv/greet_strict", json={})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert "--input" not in r.text
    assert "form field `name`" in error["hint"] and "JSON" in error["hint"]
