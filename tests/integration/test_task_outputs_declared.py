"""Each built-in task type declares (`outputs_doc`, shown on its plugin page) every output its runs
record: real tasks run on the embedded runtime (a shell, a Python process, an HTTP server on
127.0.0.1, the KV store, child executions), and any output key a run records that its type does
not declare fails the test, so a declaration that falls behind its `run()` is caught."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner.loading.flows import load_flow
from lanner.model.state import StateType
from lanner.plugins import registry
from lanner.runtime.catalog import FlowCatalog
from tests.conftest import run_flow

CHILD = load_flow("""
id: child
namespace: company.team
tasks:
  - {id: hello, type: io.kestra.plugin.core.debug.Return, format: hi}
outputs:
  - {id: said, type: STRING, value: "{{ outputs.hello.value }}"}
""")


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _flow(base: str) -> str:
    return f"""
id: declared
namespace: company.team
tasks:
  - {{id: ret, type: io.kestra.plugin.core.debug.Return, format: "{{{{ 1 + 1 }}}}"}}
  - {{id: log, type: io.kestra.plugin.core.log.Log, message: hello}}
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    outputFiles: [out.txt]
    commands:
      - echo '::{{"outputs":{{"n":1}}}}::'
      - echo hi > out.txt
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    script: print('::{{"outputs":{{"m":2}}}}::')
  - {{id: get_http, type: io.kestra.plugin.core.http.Request, uri: "{base}/answer"}}
  - {{id: kv_set, type: io.kestra.plugin.core.kv.Set, key: k, value: v}}
  - {{id: kv_get, type: io.kestra.plugin.core.kv.Get, key: k}}
  - {{id: write, type: io.kestra.plugin.core.storage.Write, content: "a\\nb\\n"}}
  - {{id: size, type: io.kestra.plugin.core.storage.Size, uri: "{{{{ outputs.write.uri }}}}"}}
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
  - id: items
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ outputs.write.uri }}}}"
    namespace: company.team
    flowId: child
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - {{id: inner, type: io.kestra.plugin.core.debug.Return, format: "{{{{ taskrun.value }}}}"}}
  - id: when
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ true }}}}"
    then:
      - {{id: yes, type: io.kestra.plugin.core.log.Log, message: yes}}
  - id: pick
    type: io.kestra.plugin.core.flow.Switch
    value: b
    cases:
      b:
        - {{id: picked, type: io.kestra.plugin.core.log.Log, message: b}}
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [1, 2]
    outputs:
      - {{id: seen, type: STRING, value: "{{{{ item.value }}}}"}}
    tasks:
      - {{id: step, type: io.kestra.plugin.core.log.Log, message: "{{{{ item.value }}}}"}}
"""


def test_every_output_a_built_in_task_records_is_declared_on_its_type(base: str, tmp_path: Path) -> None:
    text = _flow(base)
    exe = run_flow(text, tmp_path, catalog=FlowCatalog(flows=[CHILD]))
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.state.current) for r in exe.task_runs]
    tasks = {t.id: t for top in load_flow(text).tasks for t in top.all_tasks()}
    ran = {r.task_id for r in exe.task_runs}
    assert ran >= set(tasks), f"tasks that did not run: {set(tasks) - ran}"
    undeclared = {r.task_id: sorted(set(r.outputs) - set(type(tasks[r.task_id]).outputs_doc))
                  for r in exe.task_runs}
    assert {k: v for k, v in undeclared.items() if v} == {}
    # the runs above did record outputs, so the comparison compared something
    outputs = {r.task_id: r.outputs for r in exe.task_runs}
    assert outputs["ret"]["value"] == "2"
    assert {"vars", "exitCode", "outputFiles"} <= set(outputs["shell"])
    assert {"uri", "code", "headers", "body"} <= set(outputs["get_http"])
    assert {"executionId", "state", "outputs"} <= set(outputs["call"])
    assert outputs["log"] == {}
    assert outputs["items_merge"]["subflowOutputs"].startswith("kestra://")  # ForEachItem's internal tasks


def test_every_declared_output_has_a_json_schema_type_and_a_description() -> None:
    for name in registry.known_types():
        cls = registry.load(name)
        for output, doc in cls.outputs_doc.items():
            assert doc.type in ("string", "integer", "number", "boolean", "object", "array", "any"), (name, output)
            assert doc.description.strip(), (name, output)
