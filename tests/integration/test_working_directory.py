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


def test_children_of_a_folder_in_a_foreach_see_the_loop_value_and_the_folder_s_run(tmp_path: Path) -> None:
    """Kestra gives a WorkingDirectory's children its run as `workerTaskrun` and its loop value as
    their own `taskrun.value`: a folder per ForEach value names its files after that value."""
    exe = run_flow(f"""
id: wd_each
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: wd
        type: io.kestra.plugin.core.flow.WorkingDirectory
        tasks:
          - id: write
            type: {SH}
            commands: ["echo '{{{{ taskrun.value }}}}' > '{{{{ taskrun.value }}}}.txt'", "cat *.txt"]
          - id: who
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ taskrun.value }}}} {{{{ workerTaskrun.value }}}} {{{{ workerTaskrun.id }}}}"
  - id: outside
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ workerTaskrun ?? 'none' }}}} {{{{ taskrun.value ?? 'none' }}}}"
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    folders = {r.value: r.id for r in exe.task_runs if r.task_id == "wd"}
    assert sorted(folders) == ["a", "b"]
    seen = sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "who")
    assert seen == sorted(f"{v} {v} {folders[v]}" for v in folders)
    assert sorted(line["message"] for line in logs_of(tmp_path, exe.id, "write")) == ["a", "b"]
    assert [r.outputs["value"] for r in exe.task_runs if r.task_id == "outside"] == ["none none"]
