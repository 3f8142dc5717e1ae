"""Script tasks (`scripts.shell|python.Commands|Script`, the old `scripts.Bash`) through whole flows.

The Process runner (Lanner's default) runs real host processes; the tests look at them from
the outside: states, outputs (`vars` from the `::{...}::` stdout protocol, `exitCode`,
`outputFiles` in internal storage), the stored log lines, and, for kills and timeouts, whether
the script's own children are still alive (`sleep 100 & wait` must not leave a `sleep` behind).
The Docker runner is exercised with the local `lanner-busybox` image only.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import files_of, logs_of, run_flow
from tests.integration.plugins.conftest import BUSYBOX, Containers


def run_tracked(containers: Containers, yaml_text: str, tmp_path: Path, inputs: dict[str, Any] | None = None,
                **kwargs: Any) -> Any:
    """`run_flow`, then register the execution so the `containers` fixture removes what it left running."""
    exe = run_flow(yaml_text, tmp_path, inputs, **kwargs)
    containers.of(exe.id)
    return exe


def states(exe: Any) -> dict[str, str]:
    return {r.task_id: r.current.value for r in exe.task_runs}


def outputs(exe: Any, task_id: str) -> dict[str, Any]:
    return next(r.outputs for r in exe.task_runs if r.task_id == task_id)


def lines(tmp_path: Path, exe: Any, task_id: str, level: str | None = None) -> list[str]:
    return [row["message"] for row in logs_of(tmp_path, exe.id, task_id) if level is None or row["level"] == level]


def alive(pid: int) -> bool:
    """Is `pid` a live process? A zombie counts as dead: here PID 1 does not always reap orphans."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_dead(pid: int, seconds: float = 2.0) -> bool:
    end = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
    return True


# -- shell, host process ----------------------------------------------------------------------


def test_shell_commands_protocol_env_files_and_logs(tmp_path: Path) -> None:
    exe = run_flow("""
id: shell_full
namespace: lanner.test
tasks:
  - id: produce
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      GREETING: "hello {{ flow.id }}"
    beforeCommands:
      - echo before
    inputFiles:
      data/in.txt: "line from inputFiles"
    outputFiles:
      - "*.csv"
    commands:
      - echo "$GREETING"
      - echo "read $(cat data/in.txt)"
      - echo "to stderr" >&2
      - |
        echo '::{"outputs": {"count": 3, "name": "abc", "nested": {"ok": true}}}::'
        echo '::{"logs": [{"level": "ERROR", "message": "reported by the script"}]}::'
        echo '::{"metrics": [{"name": "rows", "type": "counter", "value": 3}]}::'
        printf 'a,b\\n1,2\\n' > result.csv
      - echo "in the output dir" > "$OUTPUT_DIR/extra.txt"
      - echo "workdir {{ workingDir }}" | grep -q "$PWD" && echo "workingDir is the cwd"
  - id: consume
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      copy.csv: "{{ outputs.produce.outputFiles['result.csv'] }}"
    commands:
      - echo "count={{ outputs.produce.vars.count }} first=$(head -n1 copy.csv)"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    out = outputs(exe, "produce")
    assert out["exitCode"] == 0
    assert out["vars"] == {"count": 3, "name": "abc", "nested": {"ok": True}}
    assert sorted(out["outputFiles"]) == ["extra.txt", "result.csv"]
    storage = files_of(tmp_path)
    assert storage.get(out["outputFiles"]["result.csv"]) == b"a,b\n1,2\n"
    assert storage.get(out["outputFiles"]["extra.txt"]) == b"in the output dir\n"
    assert out["outputFiles"]["result.csv"].startswith("kestra:///lanner/test/shell_full/executions/")

    assert lines(tmp_path, exe, "produce", "INFO") == [
        "before", "hello shell_full", "read line from inputFiles", "workingDir is the cwd"]
    assert lines(tmp_path, exe, "produce", "WARN") == ["to stderr"]
    assert lines(tmp_path, exe, "produce", "ERROR") == ["reported by the script"]
    assert not any("::" in m for m in lines(tmp_path, exe, "produce"))  # protocol lines are not logs
    assert lines(tmp_path, exe, "consume", "INFO") == ["count=3 first=a,b"]


def test_read_function_on_an_output_file(tmp_path: Path) -> None:
    exe = run_flow("""
id: shell_read
namespace: lanner.test
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [out.txt]
    commands:
      - echo "stored content" > out.txt
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.write.outputFiles['out.txt']) | trim }}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    assert lines(tmp_path, exe, "show", "INFO") == ["stored content"]


def test_nonzero_exit_fails_and_fail_fast_stops_the_script(tmp_path: Path) -> None:
    exe = run_flow("""
id: shell_fail
namespace: lanner.test
tasks:
  - id: fails
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - |
        echo '::{"outputs": {"before": true}}::'
      - sh -c 'exit 7'
      - echo "must not run"
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: not reached
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    assert states(exe) == {"fails": "FAILED"}
    out = outputs(exe, "fails")
    assert out["exitCode"] == 7
    assert out["vars"] == {"before": True}
    assert "must not run" not in lines(tmp_path, exe, "fails")
    assert any("exit code 7" in m for m in lines(tmp_path, exe, "fails", "ERROR"))


def test_fail_fast_false_runs_every_command(tmp_path: Path) -> None:
    exe = run_flow("""
id: shell_no_fail_fast
namespace: lanner.test
tasks:
  - id: keeps_going
    type: io.kestra.plugin.scripts.shell.Commands
    failFast: false
    commands:
      - "false"
      - echo "ran after false"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS"
    assert lines(tmp_path, exe, "keeps_going", "INFO") == ["ran after false"]


def test_warning_on_stderr_and_interpreter(tmp_path: Path) -> None:
    exe = run_flow("""
id: shell_warning
namespace: lanner.test
tasks:
  - id: warns
    type: io.kestra.plugin.scripts.shell.Commands
    warningOnStdErr: true
    interpreter: [/bin/bash, -c]
    commands:
      - "[[ -n $BASH_VERSION ]] && echo bash"
      - echo careful >&2
  - id: quiet
    type: io.kestra.plugin.scripts.shell.Commands
    warningOnStdErr: true
    commands:
      - echo fine
""", tmp_path)
    assert exe.state.current.value == "WARNING", states(exe)
    assert states(exe) == {"warns": "WARNING", "quiet": "SUCCESS"}
    assert lines(tmp_path, exe, "warns", "INFO") == ["bash"]


# -- python ------------------------------------------------------------------------------------


def test_python_script_and_commands(tmp_path: Path) -> None:
    exe = run_flow("""
id: python_tasks
namespace: lanner.test
tasks:
  - id: script
    type: io.kestra.plugin.scripts.python.Script
    inputFiles:
      numbers.txt: "1\\n2\\n3\\n"
    outputFiles: [total.txt]
    env:
      FACTOR: "10"
    script: |
      import json, os
      numbers = [int(x) for x in open("numbers.txt")]
      total = sum(numbers) * int(os.environ["FACTOR"])
      open("total.txt", "w").write(str(total))
      print("computed in {{ flow.id }}")
      print("::" + json.dumps({"outputs": {"total": total, "count": len(numbers)}}) + "::")
  - id: commands
    type: io.kestra.plugin.scripts.python.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    inputFiles:
      main.py: |
        import sys
        print("::{\\"outputs\\": {\\"arg\\": \\"%s\\"}}::" % sys.argv[1])
    commands:
      - python main.py "{{ outputs.script.vars.total }}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", [lines(tmp_path, exe, t) for t in ("script", "commands")]
    out = outputs(exe, "script")
    assert out["vars"] == {"total": 60, "count": 3}
    assert files_of(tmp_path).get(out["outputFiles"]["total.txt"]) == b"60"
    assert lines(tmp_path, exe, "script", "INFO") == ["computed in python_tasks"]
    assert outputs(exe, "commands")["vars"] == {"arg": "60"}


def test_python_exception_fails_with_traceback_in_logs(tmp_path: Path) -> None:
    exe = run_flow("""
id: python_raises
namespace: lanner.test
tasks:
  - id: script
    type: io.kestra.plugin.scripts.python.Script
    script: |
      raise ValueError("bad input")
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    assert outputs(exe, "script")["exitCode"] == 1
    assert any("ValueError: bad input" in m for m in lines(tmp_path, exe, "script", "WARN"))


def test_legacy_bash_output_files(tmp_path: Path) -> None:
    exe = run_flow("""
id: legacy_bash
namespace: lanner.test
tasks:
  - id: bash
    type: io.kestra.core.tasks.scripts.Bash
    outputFiles: [first]
    commands:
      - echo "legacy" > {{ outputFiles.first }}
      - echo line
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", lines(tmp_path, exe, "bash")
    out = outputs(exe, "bash")
    assert files_of(tmp_path).get(out["outputFiles"]["first"]) == b"legacy\n"
    assert out["stdOutLineCount"] == 1 and out["stdErrLineCount"] == 0


# -- timeout and kill end the whole process group ----------------------------------------------

BACKGROUND_CHILD = """
id: shell_group
namespace: lanner.test
inputs:
  - id: dir
    type: STRING
tasks:
  - id: long
    type: io.kestra.plugin.scripts.shell.Commands
    {timeout}
    commands:
      - {trap}
      - sleep 100 &
      - echo $! > "{{{{ inputs.dir }}}}/child.pid"
      - echo $$ > "{{{{ inputs.dir }}}}/shell.pid"
      - echo "child started"
      - wait
"""


def _group_flow(timeout: str = "", trap: str = "true") -> str:
    return BACKGROUND_CHILD.format(timeout=timeout, trap=trap)


def _pids(tmp_path: Path) -> tuple[int, int]:
    return int((tmp_path / "shell.pid").read_text()), int((tmp_path / "child.pid").read_text())


def test_timeout_terminates_the_whole_process_group(tmp_path: Path) -> None:
    t0 = time.monotonic()
    exe = run_flow(_group_flow(timeout="timeout: PT1S"), tmp_path, {"dir": str(tmp_path)})
    assert time.monotonic() - t0 < 6
    assert exe.state.current.value == "FAILED"
    assert "child started" in lines(tmp_path, exe, "long", "INFO")
    assert any("Timeout" in m for m in lines(tmp_path, exe, "long", "ERROR"))
    shell, child = _pids(tmp_path)
    assert wait_dead(shell) and wait_dead(child), "the background `sleep 100` outlived the task"
    assert _group_members(shell) == []


def _group_members(group: int) -> list[str]:
    """`ps` rows of the live (non-zombie) members of a process group."""
    rows = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(group)],
                          capture_output=True, text=True, check=False).stdout
    return [row for row in rows.splitlines() if row.split() and not row.split()[1].startswith("Z")]


def test_graceful_kill_terminates_the_whole_process_group(tmp_path: Path) -> None:
    exe = run_flow(_group_flow(), tmp_path, {"dir": str(tmp_path)},
                   kill_when=lambda kind, item: kind == "log" and item.message == "child started")
    assert exe.state.current.value == "KILLED"
    assert states(exe) == {"long": "KILLED"}
    shell, child = _pids(tmp_path)
    assert wait_dead(shell) and wait_dead(child), "the background `sleep 100` outlived the task"


def test_a_group_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    t0 = time.monotonic()
    exe = run_flow(_group_flow(timeout="timeout: PT1S", trap="trap '' TERM"), tmp_path, {"dir": str(tmp_path)})
    assert time.monotonic() - t0 < 9  # 1 s timeout + the SIGTERM grace, well before the worker gives up
    assert exe.state.current.value == "FAILED"
    assert any("SIGKILL" in m for m in lines(tmp_path, exe, "long", "WARN"))
    shell, child = _pids(tmp_path)
    assert wait_dead(shell) and wait_dead(child)


# -- Docker task runner --------------------------------------------------------------------------


def test_docker_task_runner_runs_shell_commands_in_a_container(tmp_path: Path, docker_engine: Any,
                                                               containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: shell_in_docker
namespace: lanner.test
tasks:
  - id: in_container
    type: io.kestra.plugin.scripts.shell.Commands
    containerImage: {BUSYBOX}
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      pullPolicy: NEVER
    env:
      GREETING: hi
    inputFiles:
      in.txt: "input text"
    outputFiles: ["*.out"]
    commands:
      - echo "$GREETING from $(hostname) reading $(cat in.txt)"
      - echo result > answer.out
      - |
        echo '::{{"outputs": {{"inside": true}}}}::'
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", lines(tmp_path, exe, "in_container")
    out = outputs(exe, "in_container")
    container_id = out["taskRunner"]["containerId"]
    assert out["exitCode"] == 0 and out["vars"] == {"inside": True}
    assert lines(tmp_path, exe, "in_container", "INFO") == [f"hi from {container_id[:12]} reading input text"]
    assert files_of(tmp_path).get(out["outputFiles"]["answer.out"]) == b"result\n"
    assert containers.of(exe.id) == []  # the runner removes its container (delete defaults to true)


def test_docker_task_runner_failure_and_timeout(tmp_path: Path, docker_engine: Any,
                                                containers: Containers) -> None:
    t0 = time.monotonic()
    exe = run_tracked(containers, f"""
id: shell_in_docker_fail
namespace: lanner.test
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: exits
        type: io.kestra.plugin.scripts.shell.Commands
        containerImage: {BUSYBOX}
        taskRunner: {{type: io.kestra.plugin.scripts.runner.docker.Docker}}
        commands: ["exit 4"]
      - id: hangs
        type: io.kestra.plugin.scripts.shell.Commands
        containerImage: {BUSYBOX}
        timeout: PT1S
        taskRunner: {{type: io.kestra.plugin.scripts.runner.docker.Docker}}
        commands: ["sleep 100"]
""", tmp_path)
    assert time.monotonic() - t0 < 8
    assert exe.state.current.value == "FAILED"
    assert states(exe)["exits"] == "FAILED" and states(exe)["hangs"] == "FAILED"
    assert outputs(exe, "exits")["exitCode"] == 4
    assert "containerId" in outputs(exe, "hangs")["taskRunner"]
    assert containers.of(exe.id) == []


def test_a_storage_uri_in_commands_is_read_as_a_local_file(tmp_path: Path) -> None:
    """Kestra copies each `kestra://` file a command line names into the working directory and
    puts its path in the line: `cat {{ outputs.x.outputFiles[...] }}` prints the file."""
    exe = run_flow("""
id: uri_in_commands
namespace: lanner.test
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["out/**"]
    commands:
      - mkdir -p out && printf 'one' > out/a.txt && printf 'two' > out/b.txt
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ outputs.write.outputFiles | jq('.[]') }}"
    tasks:
      - id: cat
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - echo "read $(cat '{{ taskrun.value }}')"
  - id: python
    type: io.kestra.plugin.scripts.python.Commands
    beforeCommands:
      - test -f {{ outputs.write.outputFiles | jq('.[]') | first }}
    commands:
      - >-
        python -c "import sys; print(open(sys.argv[1]).read() + open(sys.argv[2]).read())"
        {{ outputs.write.outputFiles | jq('.[]') | first }} {{ outputs.write.outputFiles | jq('.[]') | first }}
  - id: script_body_kept
    type: io.kestra.plugin.scripts.shell.Script
    script: echo "{{ outputs.write.outputFiles | jq('.[]') | first }}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", {r.task_id: lines(tmp_path, exe, r.task_id) for r in exe.task_runs}
    assert sorted(lines(tmp_path, exe, "cat", "INFO")) == ["read one", "read two"]
    assert lines(tmp_path, exe, "python", "INFO") == ["oneone"]
    assert lines(tmp_path, exe, "script_body_kept", "INFO")[0].startswith("kestra:///lanner/test/")


def test_a_storage_uri_in_a_line_that_names_no_stored_file_fails_the_task(tmp_path: Path) -> None:
    exe = run_flow("""
id: missing_uri
namespace: lanner.test
tasks:
  - id: cat
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - cat kestra:///lanner/test/missing_uri/nothing.txt
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    assert any("`kestra:///lanner/test/missing_uri/nothing.txt` in the commands could not be read" in line
               for line in lines(tmp_path, exe, "cat", "ERROR"))


def test_a_storage_uri_in_commands_is_a_file_in_the_container_too(tmp_path: Path, docker_engine: Any,
                                                                 containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: uri_in_docker
namespace: lanner.test
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["note.txt"]
    commands: ["printf 'stored note' > note.txt"]
  - id: in_container
    type: io.kestra.plugin.scripts.shell.Commands
    containerImage: {BUSYBOX}
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      pullPolicy: NEVER
    commands:
      - cat {{{{ outputs.write.outputFiles['note.txt'] }}}}
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", lines(tmp_path, exe, "in_container")
    assert lines(tmp_path, exe, "in_container", "INFO") == ["stored note"]
