"""Files of an execution through the API: download, size and preview of what tasks wrote and
of FILE inputs uploaded on create (Kestra's `/executions/{id}/file…`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.server.harness import Server, by_task

FLOW = """id: files
namespace: company.files
inputs:
  - {id: data, type: FILE}
tasks:
  - id: text
    type: io.kestra.plugin.core.storage.Write
    content: "line 1\\nline 2\\nline 3\\n"
    extension: .txt
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    content: "{name:\\"a\\",n:1}\\n{name:\\"b\\",n:2}\\n"
    extension: .ion
  - id: latin
    type: io.kestra.plugin.core.storage.Write
    content: "café"
    extension: .txt
"""


@pytest.fixture(scope="module")
def exe(server: Server) -> dict[str, Any]:
    server.deploy(FLOW)
    r = server.client.post("/executions/company.files/files", params={"wait": "true"},
                           files={"data": ("report.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 200, r.text
    exe = r.json()
    assert exe["state"]["current"] == "SUCCESS", exe["state"]
    return exe


def test_a_task_output_file_downloads_with_its_name_and_size(server: Server, exe: dict[str, Any]) -> None:
    uri = by_task(exe)["text"]["outputs"]["uri"]
    r = server.client.get(f"/executions/{exe['id']}/file", params={"path": uri})
    assert r.status_code == 200, r.text
    assert r.content == b"line 1\nline 2\nline 3\n"
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert uri.rsplit("/", 1)[1] in r.headers["content-disposition"]
    metas = server.client.get(f"/main/executions/{exe['id']}/file/metas", params={"path": uri})
    assert metas.status_code == 200 and metas.json() == {"size": 21}


def test_an_uploaded_file_input_is_a_file_of_its_execution(server: Server, exe: dict[str, Any]) -> None:
    r = server.client.get(f"/executions/{exe['id']}/file", params={"path": exe["inputs"]["data"]})
    assert r.status_code == 200 and r.content == b"a,b\n1,2\n"
    assert "report.csv" in r.headers["content-disposition"]


def test_preview_shows_the_first_lines_or_rows_and_says_when_it_cut(server: Server, exe: dict[str, Any]) -> None:
    runs = by_task(exe)
    text = server.client.get(f"/executions/{exe['id']}/file/preview",
                             params={"path": runs["text"]["outputs"]["uri"], "maxRows": 2}).json()
    assert text == {"extension": "txt", "type": "TEXT", "content": "line 1\nline 2", "truncated": True}
    rows = server.client.get(f"/executions/{exe['id']}/file/preview",
                             params={"path": runs["rows"]["outputs"]["uri"]}).json()
    assert rows == {"extension": "ion", "type": "LIST", "truncated": False,
                    "content": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}
    latin = server.client.get(f"/executions/{exe['id']}/file/preview",
                              params={"path": runs["latin"]["outputs"]["uri"], "encoding": "ISO-8859-1"}).json()
    assert latin["content"] == "cafÃ©"  # the UTF-8 bytes read as Latin-1: the encoding was applied
    bad = server.client.get(f"/executions/{exe['id']}/file/preview",
                            params={"path": runs["latin"]["outputs"]["uri"], "encoding": "klingon"})
    assert bad.status_code == 422 and "UTF-8" in bad.json()["hint"]


def test_an_attempts_log_file_is_shown_as_its_log_file_and_downloads_its_lines(server: Server) -> None:
    """`logToFile: true`: the task run's attempt names the file, as Kestra's `TaskRunAttempt.logFile`,
    and the download route of the execution's files gives its lines (the UI's Logs tab links it)."""
    server.deploy("id: logged\nnamespace: company.files\ntasks:\n"
                  "  - {id: hello, type: io.kestra.plugin.core.log.Log, message: Hello World!, logToFile: true}\n")
    r = server.client.post("/executions/company.files/logged", params={"wait": "true"})
    assert r.status_code == 200 and r.json()["state"]["current"] == "SUCCESS", r.text
    exe = server.client.get(f"/executions/{r.json()['id']}").json()
    [attempt] = by_task(exe)["hello"]["attempts"]
    assert attempt["logFile"].startswith("kestra:///company/files/logged/executions/")
    file = server.client.get(f"/executions/{exe['id']}/file", params={"path": attempt["logFile"]})
    assert file.status_code == 200 and file.text.rstrip("\n").endswith(" INFO Hello World!")
