"""The reads the execution page makes, against a real server: an ended execution answered from its
stored JSON is the same answer the model gives (the search builds it through the model), SECRET
inputs masked in both; a running one answers durations that run on; the flow an execution runs is
read from its header."""

from __future__ import annotations

from tests.integration.server.harness import Server

LOOP = """id: page_loop
namespace: company.page
inputs:
  - {id: token, type: SECRET}
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b, c]
    tasks:
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }} {{ inputs.token }}"
"""
SLOW = """id: page_slow
namespace: company.page
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
"""


def test_an_ended_execution_reads_the_same_as_through_the_model_with_secrets_masked(server: Server) -> None:
    server.deploy(LOOP)
    exe = server.run("company.page", "page_loop", {"token": "hunter2-secret"})
    assert exe["state"]["current"] == "SUCCESS"
    got = server.client.get(f"/executions/{exe['id']}")
    assert got.headers["content-type"] == "application/json"
    assert "hunter2-secret" not in got.text
    found = server.client.get("/executions/search", params={"flowId": "page_loop"}).json()["results"]
    assert got.json() == next(e for e in found if e["id"] == exe["id"])
    assert [r["outputs"]["value"] for r in got.json()["taskRunList"] if r["taskId"] == "echo"] == \
        ["a ******", "b ******", "c ******"]


def test_a_running_execution_answers_a_duration_that_grows(server: Server) -> None:
    import time

    server.deploy(SLOW)
    exe = server.run("company.page", "page_slow", wait=False)
    server.wait_state(exe["id"], {"RUNNING"})
    first = server.client.get(f"/executions/{exe['id']}").json()
    time.sleep(0.5)  # the interval whose passing the answer must show
    second = server.client.get(f"/executions/{exe['id']}").json()
    assert second["state"]["current"] == "RUNNING"
    assert second["state"]["duration"] != first["state"]["duration"]
    server.client.delete(f"/executions/{exe['id']}/kill")
    server.wait_state(exe["id"])


def test_the_flow_of_an_execution_and_an_unknown_execution(server: Server) -> None:
    server.deploy(LOOP.replace("id: page_loop", "id: page_flow"))
    exe = server.run("company.page", "page_flow", {"token": "long-enough-secret"})
    answer = server.client.get(f"/executions/{exe['id']}/flow")
    assert answer.status_code == 200, answer.text
    flow = answer.json()
    assert (flow["id"], flow["revision"], flow["tasks"][0]["id"]) == ("page_flow", exe["flowRevision"], "each")
    for path in ("/executions/NoSuchExecution1234567", "/executions/NoSuchExecution1234567/flow"):
        r = server.client.get(path)
        assert r.status_code == 404 and "NoSuchExecution1234567" in r.json()["message"], r.text
