"""The executions and logs API through HTTP against a real server."""

from __future__ import annotations

import json

import httpx

from tests.integration.server.harness import Server, by_task
from tests.json_reading import strict_json

LOG = "io.kestra.plugin.core.log.Log"
SLEEP = "io.kestra.plugin.core.flow.Sleep"

TYPED = f"""id: typed
namespace: company.exe
inputs:
  - id: name
    type: STRING
  - id: count
    type: INT
    defaults: 2
  - id: token
    type: SECRET
    required: false
tasks:
  - id: hello
    type: {LOG}
    message: "Hello {{{{ inputs.name }}}} x{{{{ inputs.count + 1 }}}} token={{{{ inputs.token ?? 'none' }}}}"
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.token ?? 'none' }}}}"
finally:
  - id: cleanup
    type: {LOG}
    message: cleaning up
outputs:
  - id: greeting
    type: STRING
    value: "{{{{ outputs.ret.value }}}}"
"""


def test_create_with_typed_inputs_and_wait(server: Server) -> None:
    server.deploy(TYPED)
    exe = server.run("company.exe", "typed", {"name": "World", "count": "41"})
    assert exe["state"]["current"] == "SUCCESS"
    assert exe["inputs"] == {"name": "World", "count": 41, "token": None}  # optional, given nothing: null (Kestra)
    runs = by_task(exe)
    assert runs["cleanup"]["state"]["current"] == "SUCCESS" and runs["cleanup"]["block"] == "finally"
    logs = server.client.get(f"/logs/{exe['id']}").json()
    assert any(line["message"] == "Hello World x42 token=none" and line["taskId"] == "hello" for line in logs)
    assert {line["flowId"] for line in logs} == {"typed"}

    as_json = server.client.post("/executions/company.exe/typed", params={"wait": "true", "labels": ["env:test"]},
                                 json={"name": "Json"})
    assert as_json.status_code == 200 and as_json.json()["inputs"]["name"] == "Json"
    assert {"key": "env", "value": "test"} in as_json.json()["labels"]


def test_bad_inputs_unknown_and_disabled_flows(server: Server) -> None:
    server.deploy(TYPED.replace("id: typed", "id: typed2"))
    r = server.client.post("/executions/company.exe/typed2", files={"count": (None, "many"), "zzz": (None, "1")})
    assert r.status_code == 422
    messages = [e["message"] for e in r.json()["errors"]]
    assert any("unknown input `zzz`" in m for m in messages)
    assert any("missing required input `name`" in m for m in messages)
    assert any("`many` is not an integer" in m for m in messages)
    assert server.executions(flowId="typed2") == []  # nothing stored

    assert server.client.post("/executions/company.exe/nope").status_code == 404
    server.deploy(f"id: off\nnamespace: company.exe\ndisabled: true\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n")
    off = server.client.post("/executions/company.exe/off")
    assert off.status_code == 409 and "disabled" in off.json()["message"]
    bad_json = server.client.post("/executions/company.exe/typed2", content=b"{nope",
                                  headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["message"]


def test_secret_inputs_never_appear_in_answers_or_logs(server: Server) -> None:
    server.deploy(TYPED.replace("id: typed", "id: secret"))
    exe = server.run("company.exe", "secret", {"name": "S", "token": "hunter2-xyz"})
    text = json.dumps(exe)
    assert "hunter2-xyz" not in text and exe["inputs"]["token"] == "******"
    assert by_task(exe)["ret"]["outputs"]["value"] == "******"
    logs = server.client.get(f"/logs/{exe['id']}").text
    assert "hunter2-xyz" not in logs and "token=******" in logs
    assert "hunter2-xyz" not in server.client.get(f"/logs/{exe['id']}/download").text
    assert "hunter2-xyz" not in server.client.get("/executions/search", params={"flowId": "secret"}).text


def test_a_one_letter_secret_masks_the_values_but_never_the_execution_ids(server: Server) -> None:
    server.deploy(TYPED.replace("id: typed", "id: short_secret"))
    exe = server.run("company.exe", "short_secret", {"name": "S", "token": "e"})
    assert "******" not in exe["id"] and "******" not in exe["namespace"]
    assert all("******" not in r["id"] and "******" not in r["taskId"] for r in exe["taskRunList"])
    assert exe["inputs"]["token"] == "******" and by_task(exe)["ret"]["outputs"]["value"] == "******"
    again = server.client.get(f"/executions/{exe['id']}")  # the id from the answer finds the execution
    assert again.status_code == 200 and again.json()["id"] == exe["id"]


def test_search_filters_and_paging(server: Server) -> None:
    server.deploy(f"id: many\nnamespace: company.search.exe\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n")
    ids = []
    for i in range(3):
        r = server.client.post("/executions/company.search.exe/many", params={"wait": "true",
                                                                              "labels": [f"n:{i}"]})
        ids.append(r.json()["id"])
    page = server.client.get("/executions/search", params={"namespace": "company.search", "size": 2, "page": 2,
                                                           "sort": "state.startDate:asc"}).json()
    assert page["total"] == 3 and [e["id"] for e in page["results"]] == [ids[2]]
    by_label = server.executions(labels="n:1")
    assert [e["id"] for e in by_label] == [ids[1]]
    assert len(server.executions(flowId="many", state="SUCCESS")) == 3
    assert server.executions(flowId="many", state="FAILED") == []
    assert [e["id"] for e in server.executions(q=ids[0][:10])] == [ids[0]]
    assert server.executions(flowId="many", startDate="2999-01-01T00:00:00Z") == []


def test_a_search_page_is_the_compact_text_of_the_executions_each_as_its_own_answer_gives_it(
        server: Server) -> None:
    """The page is written as it is read (an execution, then a page of its task runs, at a time):
    its text is still FastAPI's of the whole (compact, `é` as it is), each execution the same one
    `GET /executions/{id}` gives, SECRET inputs masked."""
    server.deploy(TYPED.replace("id: typed", "id: listed"))
    runs = [server.run("company.exe", "listed", {"name": name, "token": "hunter2-xyz"}) for name in ("é1", "é2")]
    answer = server.client.get("/executions/search", params={"flowId": "listed", "sort": "state.startDate:asc"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    page = answer.json()
    assert answer.text == json.dumps(page, ensure_ascii=False, separators=(",", ":"))
    assert "é1" in answer.text and "hunter2-xyz" not in answer.text
    assert page["total"] == 2 and [e["id"] for e in page["results"]] == [r["id"] for r in runs]
    for listed in page["results"]:
        assert listed == server.client.get(f"/executions/{listed['id']}").json()
        assert listed["inputs"]["token"] == "******" and len(listed["taskRunList"]) == len(runs[0]["taskRunList"])
    empty = server.client.get("/executions/search", params={"flowId": "never_deployed"})
    assert empty.text == '{"results":[],"total":0}'


def test_non_finite_numbers_in_outputs_are_answered_as_null_never_as_text_no_browser_reads(
        server: Server) -> None:
    """Python's JSON reader takes `NaN` in a script's outputs line; the execution page, the search
    page and the answer of `?wait=true` must still be JSON (they said NaN, which broke the page)."""
    server.deploy("""id: nonfinite
namespace: company.exe
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    script: |
      print('::{"outputs": {"x": NaN, "y": -Infinity, "z": 1.5}}::')
""")
    created = server.client.post("/executions/company.exe/nonfinite", params={"wait": "true"})
    assert created.status_code == 200
    outputs = by_task(strict_json(created.text))["py"]["outputs"]["vars"]
    assert outputs == {"x": None, "y": None, "z": 1.5}
    got = strict_json(server.client.get(f"/executions/{created.json()['id']}").text)
    assert by_task(got)["py"]["outputs"]["vars"] == outputs
    listed = strict_json(server.client.get("/executions/search", params={"flowId": "nonfinite"}).text)["results"]
    assert [by_task(e)["py"]["outputs"]["vars"] for e in listed] == [outputs]


def test_kill_still_runs_finally(server: Server) -> None:
    server.deploy(f"""id: long
namespace: company.exe
tasks:
  - {{id: wait, type: {SLEEP}, duration: PT30S}}
finally:
  - {{id: cleanup, type: {LOG}, message: cleaned}}
""")
    exe = server.run("company.exe", "long", wait=False)
    server.wait_task_running(exe["id"], "wait")
    assert server.client.delete(f"/executions/{exe['id']}/kill").status_code == 202
    done = server.wait_state(exe["id"])
    assert done["state"]["current"] == "KILLED"
    assert by_task(done)["cleanup"]["state"]["current"] == "SUCCESS"
    again = server.client.delete(f"/executions/{exe['id']}/kill")
    assert again.status_code == 409 and "already KILLED" in again.json()["message"]


def test_pause_then_resume(server: Server) -> None:
    server.deploy(f"""id: pause
namespace: company.exe
tasks:
  - {{id: hold, type: io.kestra.plugin.core.flow.Pause}}
  - {{id: after, type: {LOG}, message: resumed}}
""")
    exe = server.run("company.exe", "pause", wait=False)
    server.wait_state(exe["id"], {"PAUSED"})
    assert server.client.post(f"/executions/{exe['id']}/resume").status_code == 204
    done = server.wait_state(exe["id"])
    assert done["state"]["current"] == "SUCCESS" and by_task(done)["after"]["state"]["current"] == "SUCCESS"
    not_paused = server.client.post(f"/executions/{exe['id']}/resume")
    assert not_paused.status_code == 409 and "not PAUSED" in not_paused.json()["message"]


def test_restart_a_failed_execution_from_its_failure(server: Server) -> None:
    server.deploy(f"""id: flaky
namespace: company.exe
tasks:
  - {{id: first, type: {LOG}, message: once}}
  - id: fails_once
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount == 0 }}}}"
  - {{id: last, type: {LOG}, message: done}}
errors:
  - {{id: alert, type: {LOG}, message: failed}}
finally:
  - {{id: cleanup, type: {LOG}, message: cleanup}}
""")
    exe = server.run("company.exe", "flaky")
    assert exe["state"]["current"] == "FAILED"
    assert set(by_task(exe)) == {"first", "fails_once", "alert", "cleanup"}
    r = server.client.post(f"/executions/{exe['id']}/restart")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == exe["id"]
    done = server.wait_state(exe["id"])
    assert done["state"]["current"] == "SUCCESS"
    runs = by_task(done)
    assert "alert" not in runs  # the errors branch of the failed attempt was dropped
    assert len(runs["fails_once"]["attempts"]) == 2 and runs["last"]["state"]["current"] == "SUCCESS"
    assert runs["cleanup"]["state"]["current"] == "SUCCESS"
    states = [h["state"] for h in done["state"]["histories"]]
    assert "RESTARTED" in states and states[-1] == "SUCCESS"
    assert len(runs["first"]["attempts"]) == 1  # what succeeded did not run again
    refused = server.client.post(f"/executions/{exe['id']}/restart")
    assert refused.status_code == 409 and "only a FAILED or KILLED" in refused.json()["message"]


def test_follow_execution_and_logs_as_server_sent_events(server: Server) -> None:
    server.deploy(f"""id: follow
namespace: company.exe
tasks:
  - {{id: a, type: {LOG}, message: first line}}
  - {{id: s, type: {SLEEP}, duration: PT0.6S}}
  - {{id: b, type: {LOG}, message: second line, level: WARN}}
finally:
  - {{id: fin, type: {LOG}, message: in finally}}
""")
    exe = server.run("company.exe", "follow", wait=False)
    events = _sse(server, f"/executions/{exe['id']}/follow")
    assert events[0][0] == "start" and events[-1][0] == "end"
    assert json.loads(events[-1][1])["state"]["current"] == "SUCCESS"
    assert any(e[0] == "progress" and json.loads(e[1])["state"]["current"] == "RUNNING" for e in events)

    logs = _sse(server, f"/logs/{exe['id']}/follow", {"minLevel": "WARN"})
    messages = [json.loads(d)["message"] for i, d in logs if i == "progress"]
    assert messages == ["second line"]
    text = server.client.get(f"/logs/{exe['id']}/download").text
    assert "first line" in text and "in finally" in text
    only_a = server.client.get(f"/logs/{exe['id']}", params={"taskId": "a"}).json()
    assert [line["message"] for line in only_a] == ["first line"]
    assert server.client.get(f"/logs/{exe['id']}", params={"minLevel": "LOUD"}).status_code == 422


def test_delete_execution(server: Server) -> None:
    server.deploy(f"id: del\nnamespace: company.exe\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n")
    exe = server.run("company.exe", "del")
    assert server.client.delete(f"/executions/{exe['id']}").status_code == 204
    assert server.client.get(f"/executions/{exe['id']}").status_code == 404
    assert server.client.get(f"/logs/{exe['id']}").status_code == 404


def _sse(server: Server, path: str, params: dict[str, str] | None = None) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    with httpx.stream("GET", server.url + "/api/v1" + path, params=params, timeout=20) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        event_id, data = "", []
        for line in r.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "":
                events.append((event_id, "\n".join(data)))
                event_id, data = "", []
    return events


def test_file_inputs_are_uploaded_to_internal_storage(server: Server) -> None:
    server.deploy(f"""id: upload
namespace: company.exe
inputs:
  - {{id: data, type: FILE}}
tasks:
  - id: content
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(inputs.data) }}}}"
  - {{id: t, type: {LOG}, message: done}}
""")
    r = server.client.post("/executions/company.exe/upload", params={"wait": "true"},
                           files={"data": ("hello.txt", b"file content 42", "text/plain")})
    assert r.status_code == 200, r.text
    exe = r.json()
    assert exe["inputs"]["data"].startswith("kestra:///company/exe/upload/executions/" + exe["id"])
    assert by_task(exe)["content"]["outputs"]["value"] == "file content 42"


def test_creating_an_execution_enforces_input_constraints_and_stores_nothing_refused(server: Server) -> None:
    server.deploy(f"""id: strict
namespace: company.exe
inputs:
  - {{id: code, type: STRING, validator: "^[A-Z]{{3}}$"}}
  - {{id: data, type: FILE, allowedFileExtensions: [.csv], required: false}}
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ inputs.code }}}}"}}
""")
    r = server.client.post("/executions/company.exe/strict", files={"code": (None, "ABCD")})
    assert r.status_code == 422
    assert [e["message"] for e in r.json()["errors"]] == [
        "input `code`: it must match the pattern `^[A-Z]{3}$`, but received `ABCD`"]
    r = server.client.post("/executions/company.exe/strict",
                           files={"code": (None, "ABC"), "data": ("notes.txt", b"x", "text/plain")})
    assert r.status_code == 422
    assert "File type not allowed. Accepted extensions: .csv" in r.json()["errors"][0]["message"]
    assert server.executions(flowId="strict") == []
    r = server.client.post("/executions/company.exe/strict", params={"wait": "true"},
                           files={"code": (None, "ABC"), "data": ("rows.csv", b"a,b", "text/csv")})
    assert r.status_code == 200 and r.json()["state"]["current"] == "SUCCESS"


def test_validate_lists_the_deprecated_input_spellings_a_flow_uses(server: Server) -> None:
    r = server.client.post("/flows/validate", content="id: old\nnamespace: company.exe\ninputs:\n"
                           f"  - {{name: who, type: STRING}}\ntasks:\n  - {{id: t, type: {LOG}, message: x}}\n",
                           headers={"content-type": "application/x-yaml"})
    assert r.status_code == 200
    [result] = r.json()
    assert result["errors"] == [] and result["deprecationPaths"] == ["inputs[0].name"]


def test_object_and_table_inputs_from_a_json_body_or_a_form_are_typed_and_bad_ones_refused(server: Server) -> None:
    server.deploy(f"""id: records
namespace: company.exe
inputs:
  - id: disk
    type: OBJECT
    properties:
      - {{id: size_gb, type: INT, min: 10}}
  - id: disks
    type: TABLE
    required: false
    rows: {{max: 2}}
    columns:
      - {{id: size_gb, type: INT, min: 10}}
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ inputs.disk.size_gb * 2 }}}}"}}
""")
    as_json = server.client.post("/executions/company.exe/records", params={"wait": "true"},
                                 json={"disk": {"size_gb": 10}, "disks": [{"size_gb": "11"}]})
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["inputs"] == {"disk": {"size_gb": 10}, "disks": [{"size_gb": 11}]}
    as_form = server.run("company.exe", "records", {"disk": '{"size_gb": 12}'})
    assert as_form["state"]["current"] == "SUCCESS" and as_form["inputs"] == {"disk": {"size_gb": 12}, "disks": None}
    r = server.client.post("/executions/company.exe/records",
                           json={"disk": {"size_gb": 10}, "disks": [{"size_gb": 11}, {"size_gb": 9}]})
    assert r.status_code == 422
    assert [e["message"] for e in r.json()["errors"]] == [
        "input `disks`: row [1]: column `size_gb`: 9 is below the minimum 10"]
    r = server.client.post("/executions/company.exe/records", files={"disk": (None, "{nope")})
    assert r.status_code == 422 and "input `disk`: not valid JSON" in r.json()["errors"][0]["message"]
    assert len(server.executions(flowId="records")) == 2


def test_the_create_answer_is_the_execution_as_created_and_runs_add_no_flow_revision(server: Server) -> None:
    """Kestra answers a create with the CREATED execution: never a copy the executor loop is
    changing meanwhile, even for a flow of instant tasks that ends within a millisecond. Running
    the stored flow stores no new revision of it."""
    server.deploy(f"id: instant\nnamespace: company.exe\ntasks:\n  - {{id: a, type: {LOG}, message: a}}\n"
                  f"  - {{id: b, type: {LOG}, message: b}}\n")
    answers = [server.run("company.exe", "instant", wait=False) for _ in range(30)]
    assert {a["state"]["current"] for a in answers} == {"CREATED"}
    assert all(a["taskRunList"] == [] and a["flowRevision"] == 1 for a in answers)
    assert all(server.wait_state(a["id"])["state"]["current"] == "SUCCESS" for a in answers)
    revisions = server.client.get("/flows/company.exe/instant/revisions").json()
    assert [r["revision"] for r in revisions] == [1]
