"""Subflows and pauses through the CLI: flows found in files and folders, resume from another process."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.e2e.conftest import Cli, states

CHILD = """id: child
namespace: company.team
inputs:
  - {id: who, type: STRING}
tasks:
  - {id: hello, type: io.kestra.plugin.core.debug.Return, format: "hello {{ inputs.who }}"}
outputs:
  - {id: said, type: STRING, value: "{{ outputs.hello.value }}"}
"""
PARENT = """id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs: {who: parent}
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.call.outputs.said }}"}
"""


def test_a_subflow_is_found_in_the_files_and_folders_given_to_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "child.yaml").write_text(CHILD)
    parent = tmp_path / "parent.yaml"
    parent.write_text(PARENT)
    for extra in ([str(tmp_path / "flows" / "child.yaml")], ["--flows", str(tmp_path / "flows")]):
        code, exe = cli.run_json(str(parent), *extra)
        assert code == 0
        assert exe["taskRunList"][1]["outputs"] == {"value": "hello parent"}


def test_a_missing_subflow_fails_its_task_and_says_how_to_provide_it(cli: Cli, tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(PARENT.replace("flowId: child", "flowId: ghost"))
    code, exe = cli.run_json(str(parent))
    assert code == 1 and states(exe) == {"call": "FAILED"}
    assert "--flows DIR" in cli("logs", exe["id"], "--task", "call").stdout


def test_a_paused_execution_is_resumed_from_another_terminal(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "pause.yaml"
    flow.write_text("id: pauser\nnamespace: company.team\ntasks:\n"
                    "  - {id: wait, type: io.kestra.plugin.core.flow.Pause}\n"
                    "  - {id: after, type: io.kestra.plugin.core.log.Log, message: resumed}\n"
                    "finally:\n  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}\n")
    proc = cli.popen("run", str(flow), "--json")
    deadline = time.monotonic() + 20
    execution_id = None
    while time.monotonic() < deadline and execution_id is None:
        rows = json.loads(cli("executions", "--json").stdout or "[]")
        if rows and rows[0]["state"] == "PAUSED":
            execution_id = rows[0]["id"]
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    assert execution_id, "the execution never paused"
    resumed = cli("execution", "resume", execution_id)
    assert resumed.returncode == 0 and "sent to the process" in resumed.stdout + resumed.stderr
    out, _ = proc.communicate(timeout=30)
    exe = json.loads(out)
    assert proc.returncode == 0
    assert states(exe) == {"wait": "SUCCESS", "after": "SUCCESS", "fin": "SUCCESS"}
    assert cli("execution", "resume", execution_id).returncode == 2  # no longer paused


def test_an_execution_left_behind_is_continued_by_the_resume_command(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "pause.yaml"
    flow.write_text("id: pauser\nnamespace: company.team\ntasks:\n"
                    "  - {id: wait, type: io.kestra.plugin.core.flow.Pause}\n"
                    "finally:\n  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}\n")
    proc = cli.popen("run", str(flow))
    deadline = time.monotonic() + 20
    rows: list = []
    while time.monotonic() < deadline:
        rows = json.loads(cli("executions", "--json").stdout or "[]")
        if rows and rows[0]["state"] == "PAUSED":
            break
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    proc.kill()  # the process dies; the execution stays PAUSED in the store
    proc.communicate(timeout=10)
    resumed = cli("execution", "resume", rows[0]["id"], timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "continuing it here" in resumed.stdout + resumed.stderr
    shown = json.loads(cli("execution", "show", rows[0]["id"], "--json").stdout)
    assert shown["state"]["current"] == "SUCCESS" and states(shown) == {"wait": "SUCCESS", "fin": "SUCCESS"}


APPROVAL = """id: approval
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - {id: approved, type: BOOLEAN}
      - {id: reason, type: STRING, defaults: none given}
      - {id: evidence, type: FILE, required: false}
  - {id: after, type: io.kestra.plugin.core.debug.Return,
     format: "{{ outputs.wait.onResume.approved }} / {{ outputs.wait.onResume.reason }}"}
  - {id: read, type: io.kestra.plugin.core.debug.Return, format: "{{ read(outputs.wait.onResume.evidence) }}"}
"""


def test_resume_values_are_typed_and_a_bad_resume_leaves_the_execution_paused(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "approval.yaml"
    flow.write_text(APPROVAL)
    proc = cli.popen("run", str(flow), "--json")
    deadline = time.monotonic() + 20
    execution_id = None
    while time.monotonic() < deadline and execution_id is None:
        rows = json.loads(cli("executions", "--json").stdout or "[]")
        if rows and rows[0]["state"] == "PAUSED":
            execution_id = rows[0]["id"]
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    assert execution_id, "the execution never paused"
    refused = cli("execution", "resume", execution_id, "-i", "approved=maybe", "-i", "colour=red")
    said = refused.stdout + refused.stderr
    assert refused.returncode == 2, said
    assert "input `approved`" in said and "unknown resume input `colour`" in said
    assert "Traceback" not in said
    shown = json.loads(cli("execution", "show", execution_id, "--json").stdout)
    assert shown["state"]["current"] == "PAUSED"
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("signed by ana")
    resumed = cli("execution", "resume", execution_id, "-i", "approved=true", "-i", f"evidence={evidence}")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    out, _ = proc.communicate(timeout=30)
    exe = json.loads(out)
    runs = {r["taskId"]: r for r in exe["taskRunList"]}
    assert runs["after"]["outputs"] == {"value": "true / none given"}
    assert runs["read"]["outputs"] == {"value": "signed by ana"}  # the local file went to internal storage
    assert runs["wait"]["outputs"]["onResume"]["evidence"].startswith("kestra:///")
