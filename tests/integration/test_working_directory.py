"""WorkingDirectory: children share one folder; inputFiles before, outputFiles after, folder removed."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import files_of, logs_of, run_flow

SH = "io.kestra.plugin.scripts.shell.Commands"


def test_children_share_one_folder_that_is_removed_afterwards(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: wd
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      greeting.txt: "hello {{{{ flow.id }}}}"
    outputFiles: ["*.out"]
    tasks:
      - id: write
        type: {SH}
        commands: ["cat greeting.txt > result.out", "echo first > first.txt", "pwd"]
      - id: read
        type: {SH}
        commands: ["cat first.txt", "echo '::{{\\"outputs\\": {{\\"dir\\": \\"'$(pwd)'\\"}}}}::'"]
      - id: where
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ workingDir }}}}"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.wd.outputFiles['result.out'] }}}}"
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    shared = runs["where"].outputs["value"]
    assert runs["read"].outputs["vars"]["dir"] == shared
    assert [line["message"] for line in logs_of(tmp_path, exe.id, "read")][:1] == ["first"]
    uri = runs["after"].outputs["value"]
    assert files_of(tmp_path).get(uri) == b"hello wd"
    assert not Path(shared).exists()


def test_a_failing_child_stops_the_folder_s_later_children_and_the_folder_still_goes(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: wd
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - {{id: where, type: io.kestra.plugin.core.debug.Return, format: "{{{{ workingDir }}}}"}}
      - {{id: boom, type: {SH}, commands: ["exit 3"]}}
      - {{id: never, type: {SH}, commands: ["true"]}}
    finally:
      - {{id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}}
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.FAILED
    assert "never" not in runs and runs["fin"].current is StateType.SUCCESS
    assert not Path(runs["where"].outputs["value"]).exists()
