"""OBJECT and TABLE inputs at the doors that start executions: `lanner run --input` (JSON text) and a
Subflow's `inputs` (maps and lists, or a template rendering them); the API is in
tests/integration/server/test_api_executions.py.

The typed value reaches templates typed (`{{ inputs.disk.size_gb + 1 }}`, `{{ inputs.disks[1].mountpoint }}`);
a bad value stops the execution before it is created, naming the key and the row.
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
id: disks
namespace: company.team
inputs:
  - id: disk
    type: OBJECT
    properties:
      - {id: size_gb, type: INT, min: 10}
      - {id: mountpoint, type: STRING, validator: "^/.*", required: false}
  - id: disks
    type: TABLE
    required: false
    rows: {max: 2}
    columns:
      - {id: size_gb, type: INT, min: 10}
      - {id: mountpoint, type: STRING, validator: "^/.*", required: false}
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.disk.size_gb + 1 }} {{ inputs.disk.mountpoint }} {{ inputs.disks[1].mountpoint ?? '-' }}"
"""


def _lanner(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANNER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "lanner", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_run_types_an_object_and_a_table_given_as_json_and_refuses_bad_ones(tmp_path: Path) -> None:
    flow = tmp_path / "disks.yaml"
    flow.write_text(CHILD)
    ran = _lanner(tmp_path, "run", str(flow), "-i", 'disk={"size_gb": "20", "mountpoint": "/data"}',
                  "-i", 'disks=[{"size_gb": 10}, {"size_gb": 30, "mountpoint": "/b"}]', "--json")
    assert ran.returncode == 0, ran.stderr
    exe = json.loads(ran.stdout)
    assert exe["inputs"]["disk"] == {"size_gb": 20, "mountpoint": "/data"}
    assert exe["inputs"]["disks"] == [{"size_gb": 10, "mountpoint": None}, {"size_gb": 30, "mountpoint": "/b"}]
    assert exe["taskRunList"][0]["outputs"] == {"value": "21 /data /b"}
    refused = _lanner(tmp_path, "run", str(flow), "-i", 'disk={"size_gb": 5}', "-i", "disks=[{}, {}, {}]")
    assert refused.returncode == 2
    assert "input `disk`: property `size_gb`: 5 is below the minimum 10" in refused.stderr
    assert "input `disks`: it must have at most `2` rows, but received 3" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(repository_of(tmp_path).search(None, "disks", None, 10)) == 1  # the refused run created nothing


def test_validate_refuses_a_bad_definition_at_its_line(tmp_path: Path) -> None:
    flow = tmp_path / "bad.yaml"
    flow.write_text(CHILD.replace("{id: size_gb, type: INT, min: 10}", "{id: size_gb, type: FILE}", 1))
    proc = _lanner(tmp_path, "validate", str(flow))
    assert proc.returncode == 2
    assert f"{flow}:8:29: inputs[0].properties[0] (size_gb): a field cannot be of type FILE" in proc.stderr


def test_a_subflow_passes_records_typed_and_a_bad_row_fails_it_without_a_child(tmp_path: Path) -> None:
    catalog = FlowCatalog(flows=[load_flow(CHILD)])
    exe = run_flow("""
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: disks
    wait: true
    inputs:
      disk: {size_gb: 12}
      disks: "{{ [{'size_gb': 10}, {'size_gb': 11, 'mountpoint': '/m'}] | json }}"
""", tmp_path, catalog=catalog)
    assert exe.state.current is StateType.SUCCESS, logs_of(tmp_path, exe.id, "call")
    [row] = repository_of(tmp_path).search(None, "disks", None, 10)
    child = repository_of(tmp_path).get(row["id"])
    assert child is not None and child.inputs == {"disk": {"size_gb": 12, "mountpoint": None},
                            "disks": [{"size_gb": 10, "mountpoint": None}, {"size_gb": 11, "mountpoint": "/m"}]}
    bad = run_flow("""
id: parent2
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: disks
    inputs:
      disk: {size_gb: 12}
      disks: [{size_gb: 10}, {size_gb: 11, mountpoint: m}]
""", tmp_path / "bad", catalog=catalog)
    assert bad.state.current is StateType.FAILED
    assert any("row [1]: column `mountpoint`: it must match the pattern `^/.*`, but received `m`" in line["message"]
               for line in logs_of(tmp_path / "bad", bad.id, "call"))
    assert repository_of(tmp_path / "bad").search(None, "disks", None, 10) == []
