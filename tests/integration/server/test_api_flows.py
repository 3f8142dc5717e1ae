"""The flows API through HTTP against a real server: create, update, revisions, search, delete, validate."""

from __future__ import annotations

from tests.integration.server.harness import Server

YAML = {"Content-Type": "application/x-yaml"}
FLOW = """id: {id}
namespace: {ns}
labels:
  team: data
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{msg}"
"""


def test_create_get_update_revisions_delete(server: Server) -> None:
    c = server.client
    created = c.post("/flows", content=FLOW.format(id="crud", ns="company.crud", msg="one"), headers=YAML)
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["id"], body["namespace"], body["revision"]) == ("crud", "company.crud", 1)
    assert body["tasks"][0]["message"] == "one" and "source" in body
    assert body["labels"] == [{"key": "team", "value": "data"}]

    again = c.post("/flows", content=FLOW.format(id="crud", ns="company.crud", msg="one"), headers=YAML)
    assert again.status_code == 409 and "already exists" in again.json()["message"]

    updated = c.put("/flows/company.crud/crud", content=FLOW.format(id="crud", ns="company.crud", msg="two"),
                    headers=YAML)
    assert updated.status_code == 200 and updated.json()["revision"] == 2
    same = c.put("/flows/company.crud/crud", content=FLOW.format(id="crud", ns="company.crud", msg="two"), headers=YAML)
    assert same.json()["revision"] == 2  # an unchanged source is no new revision

    renamed = c.put("/flows/company.crud/crud", content=FLOW.format(id="other", ns="company.crud", msg="x"),
                    headers=YAML)
    assert renamed.status_code == 422 and "Illegal flow id update" in renamed.json()["message"]
    missing = c.put("/flows/company.crud/nope", content=FLOW.format(id="nope", ns="company.crud", msg="x"),
                    headers=YAML)
    assert missing.status_code == 404

    got = c.get("/flows/company.crud/crud").json()
    assert got["revision"] == 2 and got["tasks"][0]["message"] == "two"
    assert c.get("/flows/company.crud/crud", params={"revision": 1}).json()["tasks"][0]["message"] == "one"
    revisions = c.get("/flows/company.crud/crud/revisions").json()
    assert [r["revision"] for r in revisions] == [1, 2]

    # the same paths with Kestra's tenant segment
    assert server.client.get("/main/flows/company.crud/crud").json()["revision"] == 2

    assert c.delete("/flows/company.crud/crud").status_code == 204
    gone = c.get("/flows/company.crud/crud")
    assert gone.status_code == 404 and gone.json()["message"] == "flow `company.crud.crud` was not found"
    assert c.delete("/flows/company.crud/crud").status_code == 404
    recreated = c.post("/flows", content=FLOW.format(id="crud", ns="company.crud", msg="one"), headers=YAML)
    assert recreated.status_code == 200 and recreated.json()["revision"] == 3


def test_invalid_flows_are_problems_with_lines(server: Server) -> None:
    bad = """id: bad
namespace: company.bad
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    mesage: hi
"""
    r = server.client.post("/flows", content=bad, headers=YAML)
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 422 and "mesage" in problem["message"]
    lines = {e["line"] for e in problem["errors"]}
    assert 6 in lines
    assert any("did you mean `message`" in (e["hint"] or "") for e in problem["errors"])
    assert server.client.get("/flows/company.bad/bad").status_code == 404

    broken_yaml = server.client.post("/flows", content="id: x\nnamespace: [\n", headers=YAML)
    assert broken_yaml.status_code == 422 and broken_yaml.json()["errors"][0]["line"] is not None

    bad_cron = FLOW.format(id="cron", ns="company.bad", msg="x") + """triggers:
  - id: every
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "61 * * * *"
"""
    r = server.client.post("/flows", content=bad_cron, headers=YAML)
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 12, r.json()


def test_validate_several_documents(server: Server) -> None:
    text = FLOW.format(id="v1", ns="company.val", msg="ok") + "---\n" + """id: v2
namespace: company.val
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Logg
    message: x
"""
    r = server.client.post("/flows/validate", content=text, headers=YAML)
    assert r.status_code == 200
    first, second = r.json()
    assert first["flow"] == "v1" and first["constraints"] is None and first["errors"] == []
    assert second["constraints"] and "did you mean" in second["constraints"]
    assert second["errors"][0]["line"] == 14  # counted in the whole text: 9 lines + `---` + 4
    assert server.client.get("/flows/company.val/v1").status_code == 404  # validation stores nothing


def test_search_and_namespaces(server: Server) -> None:
    for i in range(3):
        server.deploy(FLOW.format(id=f"s{i}", ns="company.search", msg="x"))
    server.deploy(FLOW.format(id="s9", ns="other.search", msg="x"))
    page = server.client.get("/flows/search", params={"namespace": "company.search", "size": 2, "page": 1,
                                                      "sort": "id:desc"}).json()
    assert page["total"] == 3 and [f["id"] for f in page["results"]] == ["s2", "s1"]
    assert "source" not in page["results"][0]
    assert server.client.get("/flows/search", params={"q": "s9"}).json()["total"] == 1
    assert {"company.search", "other.search"} <= set(server.client.get("/flows/distinct-namespaces").json())
    assert [f["id"] for f in server.client.get("/flows/other.search").json()] == ["s9"]


def test_oversized_yaml_and_bodies_are_refused(server: Server) -> None:
    big = FLOW.format(id="big", ns="company.big", msg="x") + "# " + "x" * (2 * 1024 * 1024) + "\n"
    r = server.client.post("/flows", content=big, headers=YAML)
    assert r.status_code == 413 and "larger than" in r.json()["message"]
    huge = server.client.post("/executions/company.big/big", content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
                              headers={"Content-Type": "application/json"})
    assert huge.status_code == 413


def test_a_plugin_schema_gives_its_outputs_as_kestra_does(server: Server) -> None:
    """`schema.outputs` is a JSON schema object whose `properties` are the run's outputs, each with
    a type and a description; a task with none gives empty `properties`; a trigger gives none."""
    ret = server.client.get("/plugins/io.kestra.plugin.core.debug.Return").json()["schema"]
    assert ret["outputs"]["type"] == "object"
    value = ret["outputs"]["properties"]["value"]
    assert value["type"] == "string" and value["description"]
    assert "outputs" not in ret["properties"]  # the outputs sit beside the properties, not among them
    http = server.client.get("/plugins/io.kestra.plugin.core.http.Request").json()["schema"]["outputs"]["properties"]
    assert {n: p["type"] for n, p in http.items()} == {"uri": "string", "code": "integer", "headers": "object",
                                                       "body": "string"}
    kv_get = server.client.get("/plugins/io.kestra.plugin.core.kv.Get").json()["schema"]["outputs"]["properties"]
    assert "type" not in kv_get["value"]  # "any": typed as it was stored
    log = server.client.get("/plugins/io.kestra.plugin.core.log.Log").json()["schema"]
    assert log["outputs"] == {"type": "object", "properties": {}}
    subflow = server.client.get("/plugins/io.kestra.plugin.core.flow.Subflow").json()["schema"]
    assert set(subflow["outputs"]["properties"]) == {"executionId", "state", "outputs"}
    assert "outputs" in subflow["properties"]  # its own `outputs:` property stays a property
    groups = server.client.get("/plugins").json()
    core = next(g for g in groups if "io.kestra.plugin.core.debug.Return" in g["tasks"])
    assert core["schemas"]["io.kestra.plugin.core.debug.Return"]["outputs"] == ret["outputs"]
    schedule = server.client.get("/plugins/io.kestra.plugin.core.trigger.Schedule").json()["schema"]
    assert "outputs" not in schedule


def test_plugins_openapi_and_unknown_paths(server: Server) -> None:
    groups = server.client.get("/plugins").json()
    core = next(g for g in groups if "io.kestra.plugin.core.log.Log" in g["tasks"])
    assert "message" in core["schemas"]["io.kestra.plugin.core.log.Log"]["properties"]
    assert "io.kestra.plugin.core.trigger.Schedule" in core["triggers"]
    one = server.client.get("/plugins/io.kestra.plugin.core.log.Log").json()
    assert one["cls"] == "io.kestra.plugin.core.log.Log" and "message" in one["schema"]["properties"]
    assert server.client.get("/plugins/io.nope.Nope").status_code == 404

    spec = server.client.get("/openapi.json").json()
    assert "/api/v1/executions/{namespace}/{flow_id}" in spec["paths"]
    assert "/api/v1/logs/{execution_id}/follow" in spec["paths"]

    r = server.client.get("/nope")
    assert r.status_code == 404 and r.json()["message"].startswith("no such API path")
    r = server.client.patch("/flows/search")
    assert r.status_code == 405 and "message" in r.json()
