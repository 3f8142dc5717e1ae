"""`lanner run --json` and `lanner execution show --json` write the execution one task run at a
time, yet print the very text that `json.dumps(…, indent=2)` of the whole masked execution
makes: same keys in the same order, same indentation, same masking. The API answers an ended
execution a page of task runs at a time, with the text it gave when it built it whole."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lanner.cli.main import _secrets, _write_execution_json
from lanner.loading.flows import load_flow
from lanner.model.inputs import mask_execution_json
from lanner.runtime.local import LocalRuntime
from lanner.server.views import execution_json
from lanner.storage import db
from lanner.storage.files import LocalFiles
from lanner.storage.repository import Repository

PASSWORD = "hunter2-correct-horse"
API_KEY = "sk-live-9f8e7d6c5b"
FLOW = """id: streamed
namespace: company.team
inputs:
  - id: password
    type: SECRET
  - id: who
    type: STRING
    defaults: "ada"
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "pw={{ inputs.password }} key={{ secret('LANNER_TEST_KEY') }} multi\\nline \\"quoted\\" é"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["{{ inputs.password }}", "b", "{\\"nested\\": [1, 2]}"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: done
"""


def whole(exe: Any, flow: Any) -> str:
    """The text as it was made before it was streamed: the whole execution built, then dumped."""
    return json.dumps(mask_execution_json(execution_json(exe, flow), _secrets(exe, flow)), indent=2,
                      default=str) + "\n"


def running_time(text: str) -> str:
    return re.sub(r'"duration": "PT[0-9.]+S"', '"duration": "…"', text)


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalRuntime:
    monkeypatch.setenv("SECRET_LANNER_TEST_KEY", base64.b64encode(API_KEY.encode()).decode())
    repo = Repository(db.connect(f"sqlite:///{tmp_path / 't.db'}"))
    return LocalRuntime(repo, LocalFiles(tmp_path / "storage"))


def test_an_ended_execution_is_printed_as_the_whole_masked_text_would_be(
        runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    flow = load_flow(FLOW)
    exe = runtime.run(flow, runtime.create(flow, {"password": PASSWORD}))
    runtime.close()
    assert len(exe.task_runs) == 6
    _write_execution_json(exe, flow)
    printed = capsys.readouterr().out
    assert printed == whole(exe, flow)
    assert PASSWORD not in printed and API_KEY not in printed
    data = json.loads(printed)
    assert [r["taskId"] for r in data["taskRunList"]] == [r.task_id for r in exe.task_runs]
    assert list(data)[:9] == ["id", "namespace", "flowId", "flowRevision", "inputs", "outputs", "labels",
                              "variables", "state"] and list(data)[9] == "taskRunList"


def test_an_execution_without_task_runs_prints_an_empty_list(
        runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    flow = load_flow(FLOW)
    exe = runtime.create(flow, {"password": PASSWORD})
    runtime.close()
    assert exe.task_runs == []
    _write_execution_json(exe, flow)
    printed = capsys.readouterr().out
    assert running_time(printed) == running_time(whole(exe, flow))  # its duration runs to now
    assert '"taskRunList": [],' in printed


def test_printing_leaves_the_execution_s_own_inputs_unmasked(
        runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    """The inputs in the JSON are the model's own dict: masking them must copy, not write through."""
    flow = load_flow(FLOW)
    exe = runtime.run(flow, runtime.create(flow, {"password": PASSWORD}))
    runtime.close()
    _write_execution_json(exe, flow)
    execution_json(exe, flow)
    assert exe.inputs["password"] == PASSWORD
    assert PASSWORD not in capsys.readouterr().out


def test_the_api_writes_an_ended_execution_a_page_of_task_runs_at_a_time_as_it_read_built_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`GET /executions/{id}` of an ended execution: pages of two runs here (of a thousand in the
    server), joined into the text the whole execution, masked, gave."""
    from lanner.server.routes.executions import _ended_answer
    from lanner.server.views import ExecutionMask, masked_execution
    from lanner.storage.execution_queries import ExecutionQueries

    monkeypatch.setenv("SECRET_LANNER_TEST_KEY", base64.b64encode(API_KEY.encode()).decode())
    engine = db.connect(f"sqlite:///{tmp_path / 't.db'}")
    runtime = LocalRuntime(Repository(engine), LocalFiles(tmp_path / "storage"))
    flow = load_flow(FLOW)
    exe = runtime.run(flow, runtime.create(flow, {"password": PASSWORD}))
    runtime.close()
    snapshot = ExecutionQueries(engine).snapshot()
    header = snapshot.header(exe.id)
    assert header is not None and snapshot.unended([exe.id]) == {}  # ended, and every task run with it
    pages = list(snapshot.runs(exe.id, page=2))
    snapshot.close()
    assert [len(p) for p in pages] == [2, 2, 2]
    masking = ExecutionMask.of(exe, flow)
    streamed = "".join(_ended_answer(header, masking, iter(pages)))
    runs = [r for p in pages for r in p]
    assert streamed == json.dumps(masked_execution(header | {"taskRunList": runs}, exe, flow), separators=(",", ":"))
    assert PASSWORD not in streamed and API_KEY not in streamed
    assert "".join(_ended_answer(header, masking, iter([]))) == \
        json.dumps(masked_execution(header | {"taskRunList": []}, exe, flow), separators=(",", ":"))
