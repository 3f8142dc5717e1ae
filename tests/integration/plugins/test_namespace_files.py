"""Namespace files through whole flows: `read('path')` in templates and `namespaceFiles` on script
tasks (Process runner on the host, Docker runner with the local busybox image).

Files are put in place the way the API and `lanner namespace files update` do it (the storage's
namespace tree), then flows run through the real runtime and are judged by what Kestra documents:
final state, outputs, log lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import files_of, logs_of, run_flow
from tests.integration.plugins.conftest import BUSYBOX, Containers


def put(home: Path, namespace: str, files: dict[str, str]) -> None:
    tree = files_of(home).namespace(namespace)
    for path, text in files.items():
        tree.write_bytes(path, text.encode())


def outputs(exe: Any, task_id: str) -> dict[str, Any]:
    return next(r.outputs for r in exe.task_runs if r.task_id == task_id)


def messages(home: Path, exe: Any, task_id: str, level: str | None = None) -> list[str]:
    return [row["message"] for row in logs_of(home, exe.id, task_id) if level is None or row["level"] == level]


def test_read_returns_a_namespace_file_of_the_flows_namespace(tmp_path: Path) -> None:
    put(tmp_path, "company.team", {"/queries/q.sql": "select 1", "/readme.md": "hello"})
    exe = run_flow("""
id: reader
namespace: company.team
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read('queries/q.sql') }}|{{ read('/readme.md') }}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    assert outputs(exe, "show")["value"] == "select 1|hello"


def test_read_does_not_see_the_parent_namespaces_files_unless_it_names_them(tmp_path: Path) -> None:
    put(tmp_path, "company", {"shared.txt": "from the parent"})
    exe = run_flow("""
id: child_ns
namespace: company.team
tasks:
  - id: named
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read('shared.txt', namespace='company') }}"
  - id: inherited
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read('shared.txt') }}"
""", tmp_path)
    assert outputs(exe, "named")["value"] == "from the parent"
    assert exe.state.current.value == "FAILED"
    errors = " ".join(messages(tmp_path, exe, "inherited", "ERROR"))
    assert "no namespace file `/shared.txt` in namespace `company.team`" in errors


def test_read_refuses_a_path_that_climbs_out_of_the_namespace(tmp_path: Path) -> None:
    put(tmp_path, "company", {"secret.txt": "other namespace"})
    exe = run_flow("""
id: climber
namespace: company.team
tasks:
  - id: climb
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read('../../company/_files/secret.txt') }}"
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    assert "cannot climb out of the namespace" in " ".join(messages(tmp_path, exe, "climb", "ERROR"))


def test_namespace_files_are_in_the_working_directory_of_a_shell_command(tmp_path: Path) -> None:
    put(tmp_path, "company.team", {"/scripts/main.sh": "echo from-script", "/scripts/skip.txt": "no",
                                   "/data/in.csv": "a,b", "/top.sh": "echo top"})
    exe = run_flow("""
id: nsfiles
namespace: company.team
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: true
      include:
        - scripts/**
        - "*.sh"
      exclude:
        - "**/*.txt"
    commands:
      - sh scripts/main.sh
      - sh top.sh
      - ls -R . | grep -v outputs- | tr '\\n' ' '
      - test ! -e data/in.csv && test ! -e scripts/skip.txt
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", messages(tmp_path, exe, "sh")
    logged = messages(tmp_path, exe, "sh")
    assert "from-script" in logged and "top" in logged
    assert "Loaded 2 namespace files from 'company.team'" in logged


def test_later_namespaces_win_and_folder_per_namespace_keeps_both(tmp_path: Path) -> None:
    put(tmp_path, "company", {"conf.txt": "parent\n"})
    put(tmp_path, "company.team", {"conf.txt": "team\n"})
    exe = run_flow("""
id: layered
namespace: company.team
tasks:
  - id: flat
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      namespaces: [company, company.team]
    commands: ["cat conf.txt"]
  - id: folders
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      namespaces: [company, company.team]
      folderPerNamespace: true
    commands: ["cat company/conf.txt company.team/conf.txt"]
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    assert "team" in messages(tmp_path, exe, "flat") and "parent" not in messages(tmp_path, exe, "flat")
    assert {"parent", "team"} <= set(messages(tmp_path, exe, "folders"))


@pytest.mark.parametrize(("if_exists", "state", "content"), [
    ("OVERWRITE", "SUCCESS", "from-namespace"), ("IGNORE", "SUCCESS", "from-input"),
    ("WARN", "SUCCESS", "from-input"), ("FAIL", "FAILED", None)])
def test_if_exists_decides_what_happens_to_a_file_already_in_the_working_directory(
        tmp_path: Path, if_exists: str, state: str, content: str | None) -> None:
    put(tmp_path, "company.team", {"shared.txt": "from-namespace"})
    exe = run_flow(f"""
id: clash
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      shared.txt: from-input
    tasks:
      - id: sh
        type: io.kestra.plugin.scripts.shell.Commands
        namespaceFiles:
          ifExists: {if_exists}
        commands: ["cat shared.txt"]
""", tmp_path)
    assert exe.state.current.value == state
    logged = messages(tmp_path, exe, "sh")
    if content is not None:
        assert content in logged
    if if_exists == "WARN":
        assert any("already exists" in m for m in messages(tmp_path, exe, "sh", "WARN"))
    if if_exists == "FAIL":
        assert any("ifExists: FAIL" in m for m in messages(tmp_path, exe, "sh", "ERROR"))


def test_a_python_script_imports_a_module_kept_as_a_namespace_file(tmp_path: Path) -> None:
    put(tmp_path, "company.team", {"/lib/helpers.py": "def greet():\n    return 'hi from helpers'\n"})
    exe = run_flow("""
id: pylib
namespace: company.team
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    namespaceFiles:
      include: [lib/*.py]
    script: |
      import sys
      sys.path.insert(0, "lib")
      import helpers
      print(helpers.greet())
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", messages(tmp_path, exe, "py")
    assert "hi from helpers" in messages(tmp_path, exe, "py")


def test_namespace_files_reach_a_container_of_the_docker_runner(tmp_path: Path, containers: Containers) -> None:
    put(tmp_path, "company.team", {"/scripts/run.sh": "echo inside-container"})
    exe = run_flow(f"""
id: docker_ns
namespace: company.team
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    containerImage: {BUSYBOX}
    namespaceFiles:
      enabled: true
    commands: ["sh scripts/run.sh"]
""", tmp_path)
    containers.of(exe.id)
    assert exe.state.current.value == "SUCCESS", messages(tmp_path, exe, "sh")
    assert "inside-container" in messages(tmp_path, exe, "sh")


def test_disabled_namespace_files_copy_nothing(tmp_path: Path) -> None:
    put(tmp_path, "company.team", {"a.txt": "x"})
    exe = run_flow("""
id: off
namespace: company.team
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: "{{ 1 == 2 }}"
    commands: ["test ! -e a.txt"]
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"


def test_a_working_directory_gets_namespace_files_for_all_its_tasks(tmp_path: Path) -> None:
    put(tmp_path, "company.team", {"/etl/step.sh": "echo step-ran\n", "/etl/notes.md": "n"})
    exe = run_flow("""
id: wd_ns
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles:
      include: [etl/*.sh]
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["sh etl/step.sh", "test ! -e etl/notes.md"]
      - id: second
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["sh etl/step.sh"]
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    assert "step-ran" in messages(tmp_path, exe, "first") and "step-ran" in messages(tmp_path, exe, "second")


def test_docker_run_mounts_namespace_files_in_its_working_directory(tmp_path: Path, containers: Containers) -> None:
    put(tmp_path, "company.team", {"/hello.txt": "hello-from-ns\n"})
    exe = run_flow(f"""
id: docker_run_ns
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    namespaceFiles:
      enabled: true
    commands: ["cat", "hello.txt"]
""", tmp_path)
    containers.of(exe.id)
    assert exe.state.current.value == "SUCCESS", messages(tmp_path, exe, "run")
    assert "hello-from-ns" in messages(tmp_path, exe, "run")


def test_an_unknown_namespace_files_property_or_behaviour_is_refused_at_validate(tmp_path: Path) -> None:
    from lanner.errors import LannerError
    from lanner.loading.flows import load_flow

    flow = """
id: bad
namespace: company.team
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      {line}
    commands: ["ls"]
"""
    for line, expected in (("inclde: ['*.py']", "unknown property `namespaceFiles.inclde` of `ShellCommands`; "
                                                "did you mean `include`?"),
                           ("enabld: true", "did you mean `enabled`?"),
                           ("ifExists: MERGE", "must be one of OVERWRITE, FAIL, WARN, IGNORE")):
        with pytest.raises(LannerError) as caught:
            load_flow(flow.format(line=line))
        assert expected in caught.value.render()
        assert "8:7" in caught.value.render()


def test_a_misspelt_key_of_a_working_directorys_namespace_files_is_named_in_its_block_at_its_line() -> None:
    from tests.integration.refusals import refusal

    message = refusal("    type: io.kestra.plugin.core.flow.WorkingDirectory\n"
                      "    namespaceFiles:\n      enabled: true\n      namespacs: [company]\n"
                      "    tasks:\n      - id: a\n        type: io.kestra.plugin.core.log.Log\n        message: hi")
    assert "f.yaml:8:7: " in message
    assert "unknown property `namespaceFiles.namespacs` of `WorkingDirectory`; did you mean `namespaces`?" in message
