"""`logToFile: true` on the embedded runtime: a Log (run by the loop that decides) and a shell
Commands task (a host process on a worker thread) each keep their attempt's lines in a file of
internal storage named by the attempt's `logFile`, and none of them in the log store."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from lanner.testing import files_of, logs_of
from tests.conftest import run_flow

FLOW = """
id: log-to-file
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: Hello World!
    logToFile: true
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    logToFile: true
    commands:
      - echo out line
      - echo err line >&2
"""


def test_a_log_and_a_shell_command_keep_their_lines_in_their_attempts_files_not_the_log_store(
        tmp_path: Path) -> None:
    exe = run_flow(FLOW, tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert len(exe.task_runs) == 2
    files = files_of(tmp_path)
    contents = {}
    for run in exe.task_runs:
        [attempt] = run.attempts
        assert attempt.log_file is not None and attempt.log_file.startswith("kestra:///company/team/log-to-file/")
        contents[run.task_id] = files.get(attempt.log_file).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in contents["hello"]] == ["INFO Hello World!"]
    assert "INFO out line" in contents["shell"][0] and "WARN err line" in contents["shell"][1]
    stored = [r["message"] for r in logs_of(tmp_path, exe.id)]
    assert stored and not [m for m in stored if "Hello World!" in m or "line" in m]


def test_a_failed_attempts_error_is_in_its_file_and_the_next_attempt_has_a_file_of_its_own(tmp_path: Path) -> None:
    retried = ("id: retried\nnamespace: company.team\ntasks:\n"
               "  - {id: fails, type: io.kestra.plugin.scripts.shell.Commands, logToFile: true,\n"
               "     taskRunner: {type: io.kestra.plugin.core.runner.Process}, commands: [echo trying, exit 3],\n"
               "     retry: {type: constant, interval: PT0.01S, maxAttempts: 2}}\n")
    exe = run_flow(retried, tmp_path)
    assert exe.state.current is StateType.FAILED
    [run] = exe.task_runs
    uris = [a.log_file for a in run.attempts]
    assert len(uris) == 2 and len({u for u in uris if u}) == 2
    for uri in uris:
        text = files_of(tmp_path).get(str(uri)).decode()
        assert "INFO trying" in text and " ERROR " in text
