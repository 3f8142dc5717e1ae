"""Input constraints hold wherever an execution's inputs come from: `lanner run --input`, a Subflow's
`inputs` (the API's execution creation is in tests/integration/server/test_api_executions.py).

A value breaking its input's constraint stops the execution before it is created, as in Kestra; the
message names the input, the constraint and the value received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lanner.loading.flows import load_flow
from lanner.model.state import StateType
from lanner.runtime.catalog import FlowCatalog
from tests.conftest import logs_of, repository_of, run_flow

CHILD = """
id: child
namespace: company.team
inputs:
  - id: code
    type: STRING
    validator: "^[A-Z]{3}$"
  - id: day
    type: DATE
    after: "2024-01-01"
    required: false
tasks:
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.code }}"}
"""


def _lanner(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANNER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "lanner", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_run_refuses_a_value_not_fully_matching_the_validator_and_runs_one_that_does(tmp_path: Path) -> None:
    flow = tmp_path / "child.yaml"
    flow.write_text(CHILD)
    refused = _lanner(tmp_path, "run", str(flow), "--input", "code=ABCD")
    assert refused.returncode == 2
    assert "input `code`: it must match the pattern `^[A-Z]{3}$`, but received `ABCD`" in refused.stderr
    assert "Traceback" not in refused.stderr
    early = _lanner(tmp_path, "run", str(flow), "-i", "code=ABC", "-i", "day=2023-06-01")
    assert early.returncode == 2 and "input `day`: it must be after `2024-01-01`" in early.stderr
    assert repository_of(tmp_path).search(None, "child", None, 10) == []  # nothing was created
    ran = _lanner(tmp_path, "run", str(flow), "-i", "code=ABC", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["taskRunList"][0]["outputs"] == {"value": "ABC"}


def test_run_refuses_a_file_whose_extension_is_not_allowed(tmp_path: Path) -> None:
    flow = tmp_path / "upload.yaml"
    flow.write_text("id: upload\nnamespace: company.team\ninputs:\n"
                    "  - {id: data, type: FILE, allowedFileExtensions: [.csv]}\n"
                    "tasks:\n  - id: show\n    type: io.kestra.plugin.core.debug.Return\n"
                    "    format: \"{{ read(inputs.data) }}\"\n")
    (tmp_path / "rows.CSV").write_text("a,b\n")
    (tmp_path / "notes.txt").write_text("no\n")
    refused = _lanner(tmp_path, "run", str(flow), "-i", f"data={tmp_path / 'notes.txt'}")
    assert refused.returncode == 2
    assert "input `data`: File type not allowed. Accepted extensions: .csv (received `notes.txt`)" in refused.stderr
    ran = _lanner(tmp_path, "run", str(flow), "-i", f"data={tmp_path / 'rows.CSV'}", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["taskRunList"][0]["outputs"] == {"value": "a,b\n"}


def test_validate_warns_about_an_input_written_with_name_and_still_passes(tmp_path: Path) -> None:
    flow = tmp_path / "old.yaml"
    flow.write_text("id: old\nnamespace: company.team\ninputs:\n  - name: who\n    type: STRING\n"
                    "tasks:\n  - {id: hi, type: io.kestra.plugin.core.log.Log, message: \"{{ inputs.who }}\"}\n")
    proc = _lanner(tmp_path, "validate", str(flow))
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {flow}:4:5: inputs[0] (who): `name` is deprecated; write `id: who`" in proc.stderr


def test_a_subflow_given_an_input_its_validator_refuses_fails_and_starts_no_child(tmp_path: Path) -> None:
    exe = run_flow("""
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs: {code: abc}
""", tmp_path, catalog=FlowCatalog(flows=[load_flow(CHILD)]))
    assert exe.state.current is StateType.FAILED
    assert exe.task_runs[0].state.current is StateType.FAILED
    assert any("it must match the pattern `^[A-Z]{3}$`, but received `abc`" in line["message"]
               for line in logs_of(tmp_path, exe.id, "call"))
    assert repository_of(tmp_path).search(None, "child", None, 10) == []
