"""`POST /flows/{namespace}` (a namespace made to hold exactly a set of flows, as `kestra flow
namespace update` and CI deploys call it) and `POST /flows/validate/task`."""

from __future__ import annotations

from tests.integration.server.harness import Server

YAML = {"Content-Type": "application/x-yaml"}
LOG = "io.kestra.plugin.core.log.Log"


def _flow(flow_id: str, message: str = "hi", namespace: str = "company.deploy") -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - {{id: t, type: {LOG}, message: {message}}}\n"


def _ids(server: Server, namespace: str) -> list[str]:
    return sorted(f["id"] for f in server.client.get(f"/flows/{namespace}").json())


def test_a_namespace_update_creates_updates_and_deletes_what_is_not_in_the_set(server: Server) -> None:
    server.deploy(_flow("old"))
    server.deploy(_flow("kept"))
    server.deploy(_flow("elsewhere", namespace="company.deploy.child"))
    body = _flow("kept", "changed") + "---\n" + _flow("new")
    r = server.client.post("/main/flows/company.deploy", content=body, headers=YAML)
    assert r.status_code == 200, r.text
    answer = {(f["id"], f["deleted"]): f for f in r.json()}
    assert set(answer) == {("old", True), ("kept", False), ("new", False)}
    assert answer[("kept", False)]["revision"] == 2 and answer[("new", False)]["revision"] == 1
    assert _ids(server, "company.deploy") == ["kept", "new"]
    assert _ids(server, "company.deploy.child") == ["elsewhere"]  # only the namespace itself

    again = server.client.post("/flows/company.deploy", content=body, headers=YAML).json()
    assert [(f["id"], f["revision"]) for f in again] == [("kept", 2), ("new", 1)]  # unchanged: no new revision

    kept = server.client.post("/flows/company.deploy", params={"delete": "false"}, content=_flow("third"),
                              headers=YAML)
    assert kept.status_code == 200 and _ids(server, "company.deploy") == ["kept", "new", "third"]


def test_one_bad_flow_refuses_the_whole_set_and_changes_nothing(server: Server) -> None:
    server.deploy(_flow("stays", namespace="company.atomic"))
    body = (_flow("fine", namespace="company.atomic") + "---\n" + _flow("stranger", namespace="company.other")
            + "---\n" + _flow("fine", namespace="company.atomic")
            + "---\nid: broken\nnamespace: company.atomic\ntasks:\n  - {id: t, type: io.kestra.Nope}\n")
    r = server.client.post("/flows/company.atomic", content=body, headers=YAML)
    assert r.status_code == 422, r.text
    problem = r.json()
    messages = " | ".join(e["message"] for e in problem["errors"])
    assert "not in namespace `company.atomic`" in messages and "given twice" in messages
    assert any(e["line"] and e["line"] > 15 for e in problem["errors"])  # the broken one, at its own line
    assert "nothing was changed" in problem["hint"]
    assert _ids(server, "company.atomic") == ["stays"]
    assert server.client.get("/flows/company.other/stranger").status_code == 404


def test_validate_task_checks_one_task_at_its_own_lines(server: Server) -> None:
    good = server.client.post("/flows/validate/task", content=f"id: hello\ntype: {LOG}\nmessage: hi\n",
                              headers=YAML)
    assert good.status_code == 200, good.text
    assert good.json()["errors"] == [] and good.json()["constraints"] is None
    bad = server.client.post("/main/flows/validate/task", content=f"id: hello\ntype: {LOG}\nmesage: hi\n",
                             headers=YAML)
    assert bad.status_code == 200
    [error] = bad.json()["errors"]
    assert error["line"] == 3 and "mesage" in error["message"]
    trigger = server.client.post("/flows/validate/task", params={"section": "TRIGGERS"}, headers=YAML,
                                 content="id: daily\ntype: io.kestra.plugin.core.trigger.Schedule\ncron: 'nope'\n")
    assert trigger.status_code == 200 and trigger.json()["errors"][0]["line"] == 3
    assert server.client.post("/flows/validate/task", params={"section": "INPUTS"}, content="id: x\n",
                              headers=YAML).status_code == 400
