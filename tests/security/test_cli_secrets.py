"""SECRET inputs and secret() values never appear in clear in what the CLI prints: the terminal
summary, `lanner run --json`, and `lanner execution show` (table and --json) afterwards."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

PASSWORD = "hunter2-correct-horse"
API_KEY = "sk-live-9f8e7d6c5b"
FLOW = """id: secrets
namespace: security
inputs:
  - id: password
    type: SECRET
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "pw={{ inputs.password }} key={{ secret('LANNER_TEST_KEY') }}"
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["{{ inputs.password }}"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
outputs:
  - id: leaked
    type: STRING
    value: "{{ outputs.show.value }} / {{ inputs.password }}"
"""


@pytest.fixture
def secret_cli(cli: Cli, tmp_path: Path) -> tuple[Cli, Path]:
    cli.env["SECRET_LANNER_TEST_KEY"] = base64.b64encode(API_KEY.encode()).decode()
    path = tmp_path / "secrets.yaml"
    path.write_text(FLOW)
    return cli, path


def assert_masked(text: str) -> None:
    assert PASSWORD not in text
    assert API_KEY not in text
    assert "******" in text


def test_run_json_and_summary_mask_secret_inputs_and_secret_values(secret_cli: tuple[Cli, Path]) -> None:
    cli, path = secret_cli
    proc = cli("run", str(path), "--input", f"password={PASSWORD}", "--json")
    assert proc.returncode == 0, proc.stderr
    assert_masked(proc.stdout)
    assert_masked(proc.stderr)  # the live lines and the summary table
    exe = json.loads(proc.stdout)
    assert exe["inputs"]["password"] == "******"
    assert exe["outputs"]["leaked"] == "pw=****** key=****** / ******"
    assert "outputs: " in proc.stderr


def test_execution_show_masks_them_afterwards(secret_cli: tuple[Cli, Path]) -> None:
    cli, path = secret_cli
    proc = cli("run", "-q", str(path), "--input", f"password={PASSWORD}", "--json")
    exe_id = json.loads(proc.stdout)["id"]
    table = cli("execution", "show", exe_id)
    assert table.returncode == 0, table.stderr
    assert_masked(table.stdout)
    shown = cli("execution", "show", exe_id, "--json")
    assert_masked(shown.stdout)
    assert json.loads(shown.stdout)["inputs"]["password"] == "******"


def test_a_failed_iteration_over_a_secret_is_listed_with_its_value_masked(secret_cli: tuple[Cli, Path]) -> None:
    cli, path = secret_cli
    path.write_text(FLOW.split("outputs:")[0].replace(
        'message: "{{ taskrun.value }}"',
        'message: "{{ taskrun.value }}"\n      - id: boom\n        type: io.kestra.plugin.core.execution.Fail'))
    proc = cli("run", str(path), "--input", f"password={PASSWORD}")
    assert proc.returncode == 1, proc.stderr
    assert "boom[******]" in proc.stderr  # listed one by one, while running and in the summary
    assert PASSWORD not in proc.stderr
