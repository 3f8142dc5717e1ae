"""Each built-in task type declares (`outputs_doc`, shown on its plugin page) every output its runs
record: real tasks run on the embedded runtime (a shell, a Python process, an HTTP server on
127.0.0.1, the KV store, child executions), and any output key a run records that its type does
not declare fails the test, so a declaration that falls behind its `run()` is caught."""

from __future__ import annotations

import http.server
import threading
import uuid
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


def _outputs_checked(text: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Run `text`; fail on a task that did not run or a run output its type does not declare."""
    exe = run_flow(text, tmp_path, catalog=FlowCatalog(flows=[CHILD]))
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.state.current) for r in exe.task_runs]
    tasks = {t.id: t for top in load_flow(text).tasks for t in top.all_tasks()}
    ran = {r.task_id for r in exe.task_runs}
    assert ran >= set(tasks), f"tasks that did not run: {set(tasks) - ran}"
    undeclared = {r.task_id: sorted(set(r.outputs) - set(type(tasks[r.task_id]).outputs_doc))
                  for r in exe.task_runs}
    assert {k: v for k, v in undeclared.items() if v} == {}
    return {r.task_id: r.outputs for r in exe.task_runs}


def test_every_output_a_built_in_task_records_is_declared_on_its_type(base: str, tmp_path: Path) -> None:
    outputs = _outputs_checked(_flow(base), tmp_path)
    # the runs above did record outputs, so the comparison compared something
    assert outputs["ret"]["value"] == "2"
    assert {"vars", "exitCode", "outputFiles"} <= set(outputs["shell"])
    assert {"uri", "code", "headers", "body"} <= set(outputs["get_http"])
    assert {"executionId", "state", "outputs"} <= set(outputs["call"])
    assert outputs["log"] == {}
    assert outputs["items_merge"]["subflowOutputs"].startswith("kestra://")  # ForEachItem's internal tasks


def test_storage_state_kv_redis_and_http_download_outputs_are_declared(base: str, tmp_path: Path) -> None:
    key = f"lanner-test-{uuid.uuid4().hex}"
    redis = "url: redis://127.0.0.1:6379/0"
    outputs = _outputs_checked(f"""
id: declared_more
namespace: company.team
tasks:
  - {{id: vals, type: io.kestra.plugin.core.output.OutputValues, values: {{a: 1}}}}
  - {{id: ion, type: io.kestra.plugin.core.storage.Write, extension: .ion, content: "{{k:1}}\\n{{k:1}}\\n{{k:2}}\\n"}}
  - {{id: keep, type: io.kestra.plugin.core.storage.FilterItems, from: "{{{{ outputs.ion.uri }}}}",
     filterCondition: "{{{{ k == 1 }}}}"}}
  - {{id: dedup, type: io.kestra.plugin.core.storage.DeduplicateItems, from: "{{{{ outputs.ion.uri }}}}",
     expr: "{{{{ k }}}}"}}
  - {{id: parts, type: io.kestra.plugin.core.storage.Split, from: "{{{{ outputs.ion.uri }}}}", rows: 1}}
  - {{id: back, type: io.kestra.plugin.core.storage.Reverse, from: "{{{{ outputs.ion.uri }}}}"}}
  - {{id: joined, type: io.kestra.plugin.core.storage.Concat, files: "{{{{ outputs.parts.uris }}}}"}}
  - {{id: gone, type: io.kestra.plugin.core.storage.Delete, uri: "{{{{ outputs.joined.uri }}}}"}}
  - {{id: check, type: io.kestra.plugin.core.execution.Assert, conditions: ["{{{{ 1 == 1 }}}}"]}}
  - {{id: st_set, type: io.kestra.plugin.core.state.Set, data: {{a: 1}}}}
  - {{id: st_get, type: io.kestra.plugin.core.state.Get}}
  - {{id: st_del, type: io.kestra.plugin.core.state.Delete}}
  - {{id: kv_set, type: io.kestra.plugin.core.kv.Set, key: k2, value: v}}
  - {{id: kv_keys, type: io.kestra.plugin.core.kv.GetKeys}}
  - {{id: kv_del, type: io.kestra.plugin.core.kv.Delete, key: k2}}
  - {{id: fetch, type: io.kestra.plugin.core.log.Fetch}}
  - {{id: down, type: io.kestra.plugin.core.http.Download, uri: "{base}/file"}}
  - {{id: r_set, type: io.kestra.plugin.redis.Set, {redis}, key: {key}, value: x}}
  - {{id: r_old, type: io.kestra.plugin.redis.Set, {redis}, key: {key}, value: y, get: true}}
  - {{id: r_get, type: io.kestra.plugin.redis.Get, {redis}, key: {key}}}
  - {{id: r_del, type: io.kestra.plugin.redis.Delete, {redis}, keys: [{key}]}}
  - {{id: r_push, type: io.kestra.plugin.redis.ListPush, {redis}, key: {key}l, from: [a, b]}}
  - {{id: r_pop, type: io.kestra.plugin.redis.ListPop, {redis}, key: {key}l, count: 2, maxRecords: 2}}
""", tmp_path)
    assert outputs["dedup"]["numKeys"] == 2 and outputs["r_old"]["oldValue"] == "x"
    assert outputs["r_get"]["data"] == "y" and outputs["down"]["code"] == 200


def test_every_declared_output_has_a_json_schema_type_and_a_description() -> None:
    for name in registry.known_types():
        cls = registry.load(name)
        for output, doc in cls.outputs_doc.items():
            assert doc.type in ("string", "integer", "number", "boolean", "object", "array", "any"), (name, output)
            assert doc.description.strip(), (name, output)
