"""`dependencies` of the Python script tasks, installed from the real package index into cached environments.

The packages are small and pure Python (`six`, `tabulate`). Reuse is read from the task's logs and
from the environment folder itself (its mtime and its marker's stay what the first run left), never
from timing. The tests skip, saying why, when the package index cannot be reached (it is not one of
the services CI starts, so LANNER_REQUIRE_SERVICES does not turn that into a failure).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.plugins.scripts import python_envs
from tests.conftest import logs_of, run_flow
from tests.integration.plugins.conftest import BUSYBOX, Containers

ENV_MESSAGE = re.compile(r"^(Installing \d+ packages? into a new environment|Using the cached environment) ")


@pytest.fixture(scope="session")
def package_index() -> None:
    """Skip when pip cannot reach the package index (asked once, about a package the tests install)."""
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "six"], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.skip("the package index did not answer pip within 60 s")
    if done.returncode != 0:
        pytest.skip(f"pip cannot reach the package index: {done.stderr.strip().splitlines()[-1:]}")


def _script_flow(dependencies: str, extra: str = "", script: str = "import six, tabulate") -> str:
    return f"""
id: deps
namespace: lanner.test
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies: {dependencies}
{extra}    script: |
      {script}
      import sys
      print("prefix", sys.prefix)
"""


def _env_logs(tmp_path: Path, exe: Any, task_id: str | None = None) -> list[str]:
    return [row["message"] for row in logs_of(tmp_path, exe.id, task_id) if ENV_MESSAGE.match(row["message"])]


def _folders(root: Path) -> list[str]:
    """What the cache holds besides lock files (which stay, empty, by design)."""
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock")) if root.exists() else []


def test_first_run_installs_and_the_second_reuses_the_environment(tmp_path: Path, lanner_home: Path,
                                                                   package_index: None) -> None:
    flow = _script_flow("[tabulate, six]")
    started = time.monotonic()
    first = run_flow(flow, tmp_path)
    first_seconds = time.monotonic() - started
    assert first.state.current.value == "SUCCESS"
    [installing] = _env_logs(tmp_path, first)
    assert installing.startswith("Installing 2 packages into a new environment ")
    root = lanner_home / "cache" / "python-envs"
    [key] = _folders(root)
    env = root / key
    assert any(row["message"] == f"prefix {env}" for row in logs_of(tmp_path, first.id, "py"))
    before = (env.stat().st_mtime_ns, (env / python_envs.MARKER).stat().st_mtime_ns)

    started = time.monotonic()
    second = run_flow(_script_flow("[six, ' tabulate ', six]"), tmp_path)  # the same set, written otherwise
    second_seconds = time.monotonic() - started
    assert second.state.current.value == "SUCCESS"
    assert _env_logs(tmp_path, second) == [f"Using the cached environment {env} (2 packages: six, tabulate)"]
    assert _folders(root) == [key]
    assert (env.stat().st_mtime_ns, (env / python_envs.MARKER).stat().st_mtime_ns) == before
    print(f"\nfirst run (install) {first_seconds:.2f}s, second run (cached) {second_seconds:.2f}s")


def test_commands_run_with_the_environment_active(tmp_path: Path, lanner_home: Path, package_index: None) -> None:
    exe = run_flow("""
id: cmds
namespace: lanner.test
tasks:
  - id: cmd
    type: io.kestra.plugin.scripts.python.Commands
    dependencies: [tabulate]
    commands:
      - python -c 'import sys, tabulate; print("prefix", sys.prefix)'
      - echo "venv $VIRTUAL_ENV"
      - tabulate --help > help.txt && head -1 help.txt
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    root = lanner_home / "cache" / "python-envs"
    [key] = _folders(root)
    messages = [row["message"] for row in logs_of(tmp_path, exe.id, "cmd")]
    assert f"prefix {root / key}" in messages and f"venv {root / key}" in messages
    assert "Usage: tabulate [options] [FILE ...]" in messages  # its console script runs from the renamed folder


def test_two_parallel_tasks_with_the_same_set_install_once(tmp_path: Path, lanner_home: Path,
                                                           package_index: None) -> None:
    exe = run_flow("""
id: parallel_deps
namespace: lanner.test
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: a
        type: io.kestra.plugin.scripts.python.Script
        dependencies: [six, tabulate]
        script: import six, tabulate
      - id: b
        type: io.kestra.plugin.scripts.python.Script
        dependencies: [tabulate, six]
        script: import six, tabulate
""", tmp_path)
    assert {r.task_id: r.current.value for r in exe.task_runs} == {"both": "SUCCESS", "a": "SUCCESS", "b": "SUCCESS"}
    messages = _env_logs(tmp_path, exe)
    assert len(messages) == 2
    assert sum(m.startswith("Installing 2 packages") for m in messages) == 1
    assert sum(m.startswith("Using the cached environment") for m in messages) == 1
    assert len(_folders(lanner_home / "cache" / "python-envs")) == 1


def test_a_requirement_pip_cannot_satisfy_fails_the_task_with_pips_last_lines(tmp_path: Path, lanner_home: Path,
                                                                                package_index: None) -> None:
    exe = run_flow(_script_flow('["six==0.0.0.1"]', script="import six"), tmp_path)
    assert exe.state.current.value == "FAILED"
    errors = [row["message"] for row in logs_of(tmp_path, exe.id, "py") if row["level"] == "ERROR"]
    assert any(e.startswith("Installing the dependencies failed (`-m pip --python` exited with 1); its last lines:")
               and "No matching distribution found for six==0.0.0.1" in e for e in errors), errors
    assert _folders(lanner_home / "cache" / "python-envs") == []  # no half environment is left


SLOW_BACKEND = '''
import os, pathlib, time

def get_requires_for_build_wheel(config_settings=None):
    pathlib.Path({mark!r}).write_text(str(os.getpid()))
    time.sleep(120)
    return []
'''


def test_killing_the_task_during_the_install_stops_pip(tmp_path: Path, lanner_home: Path) -> None:
    """A local package whose build backend sleeps: pip is really running (in the backend's hook, a
    grandchild of the keeper) when the kill comes, which is sent when pip says it calls that hook.
    No package index is needed."""
    package, mark = tmp_path / "slowpkg", tmp_path / "backend.pid"
    package.mkdir()
    (package / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "slow_backend"\n'
                                            'backend-path = ["."]\n\n[project]\nname = "slowpkg"\nversion = "0.1"\n')
    (package / "slow_backend.py").write_text(SLOW_BACKEND.format(mark=str(mark)))

    def in_the_hook(kind: str, item: Any) -> bool:
        return kind == "log" and "Getting requirements to build wheel: started" in item.message

    exe = run_flow(_script_flow(f"[{package}]", script="pass"), tmp_path, kill_when=in_the_hook)
    assert exe.state.current.value == "KILLED"
    warnings = [row["message"] for row in logs_of(tmp_path, exe.id, "py") if row["level"] == "WARN"]
    assert any(w.startswith("Terminating process group") for w in warnings), warnings
    deadline = time.monotonic() + 5
    while _processes_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
    assert _processes_in(tmp_path) == []  # neither pip (its argv names the cache) nor the hook (its cwd) is left
    assert _folders(lanner_home / "cache" / "python-envs") == []


def _processes_in(folder: Path) -> list[int]:
    """Live processes whose command line names `folder` or whose working directory is inside it."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            argv = (entry / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(folder) in argv or cwd.startswith(str(folder)):
            found.append(int(entry.name))
    return found


def test_without_the_cache_each_run_installs_into_an_environment_removed_after_it(
        tmp_path: Path, lanner_home: Path, package_index: None) -> None:
    flow = _script_flow("[six]", extra="    dependencyCacheEnabled: false\n", script="import six")
    for _ in range(2):
        exe = run_flow(flow, tmp_path)
        assert exe.state.current.value == "SUCCESS"
        [message] = _env_logs(tmp_path, exe)
        assert message.startswith("Installing 1 package into a new environment ")
        assert "dependencyCacheEnabled is false" in message
        assert _folders(lanner_home / "cache" / "python-envs") == []


def test_a_python_version_this_host_cannot_provide_fails_clearly(tmp_path: Path) -> None:
    major_minor = ".".join(python_envs.host_python().split(".")[:2])
    exe = run_flow(_script_flow("[six]", extra='    pythonVersion: "2.7"\n', script="pass"), tmp_path)
    assert exe.state.current.value == "FAILED"
    errors = [row["message"] for row in logs_of(tmp_path, exe.id, "py") if row["level"] == "ERROR"]
    assert any(e.startswith("pythonVersion `2.7` is not available on this host") and f"`{major_minor}`" in e
               for e in errors), errors
    matching = run_flow(f"""
id: same
namespace: lanner.test
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    pythonVersion: "{major_minor}"
    script: print("ok")
""", tmp_path)
    assert matching.state.current.value == "SUCCESS"


def test_requirement_sets_are_normalised_before_keying() -> None:
    assert python_envs.normalise(["tabulate", "", "six  >= 1.0 # why", "tabulate"]) == ["six >= 1.0", "tabulate"]
    assert python_envs.env_key(["a"]) != python_envs.env_key(["b"])


def test_dependencies_on_a_shell_task_and_an_unknown_package_manager_are_refused() -> None:
    with pytest.raises(ValidationErrors) as info:
        load_flow("""id: f
namespace: lanner.test
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    dependencies: [six]
    commands: [echo]
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    packageManager: CONDA
    script: pass
""", file="f.yaml")
    rendered = [e.render() for e in info.value.errors]
    assert any(r.startswith("f.yaml:6:5: tasks[0] (sh): unknown property `dependencies`") for r in rendered), rendered
    assert any(r.startswith("f.yaml:10:") and "packageManager" in r for r in rendered), rendered


def test_in_a_container_the_install_runs_inside_it_and_its_failure_fails_the_task(
        tmp_path: Path, containers: Containers) -> None:
    """The local busybox image has no Python: the install line really runs in the container and
    its failure stops the script before the task's own commands, whatever `failFast` says."""
    exe = run_flow(f"""
id: in_docker
namespace: lanner.test
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Commands
    containerImage: {BUSYBOX}
    taskRunner: {{type: io.kestra.plugin.scripts.runner.docker.Docker}}
    failFast: false
    dependencies: [six]
    commands: ["echo the script ran"]
""", tmp_path)
    containers.of(exe.id)
    assert exe.state.current.value == "FAILED"
    messages = [row["message"] for row in logs_of(tmp_path, exe.id, "py")]
    assert "Installing 1 package(s) into the container (no cache is kept there)" in messages
    assert "Installing the dependencies failed: see the lines above" in messages
    assert "the script ran" not in messages


def test_two_lanner_processes_on_one_home_install_a_set_once(tmp_path: Path, lanner_home: Path,
                                                              package_index: None) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(_script_flow("[six, tabulate]"))
    runs = [subprocess.Popen([sys.executable, "-m", "lanner", "run", str(flow)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = "\n".join(outputs)
    assert said.count("Installing 2 packages into a new environment") == 1, said
    assert said.count("Using the cached environment") == 1, said
    assert len(_folders(lanner_home / "cache" / "python-envs")) == 1
