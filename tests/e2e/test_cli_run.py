"""`lanner run` / `validate` / `executions` / `execution show` / `logs` as a user runs them."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.e2e.conftest import EXAMPLES, Cli, states


def test_seed_failure_example_runs_errors_and_finally_and_exits_1(cli: Cli) -> None:
    code, exe = cli.run_json(str(EXAMPLES / "finally_example_failure.yaml"))
    assert code == 1
    assert exe["state"]["current"] == "FAILED"
    assert states(exe) == {"fail": "FAILED", "send_alert": "SUCCESS", "cleanup_task": "SUCCESS"}
    assert [r["taskId"] for r in exe["taskRunList"]] == ["fail", "send_alert", "cleanup_task"]


def test_seed_success_example_runs_finally_without_errors_and_exits_0(cli: Cli) -> None:
    code, exe = cli.run_json(str(EXAMPLES / "finally_example_success.yaml"))
    assert code == 0
    assert exe["state"]["current"] == "SUCCESS"
    assert states(exe) == {"log": "SUCCESS", "cleanup_task": "SUCCESS"}


def test_execution_json_has_kestras_shape(cli: Cli) -> None:
    _, exe = cli.run_json(str(EXAMPLES / "finally_example_success.yaml"))
    for key in ("id", "namespace", "flowId", "flowRevision", "inputs", "state", "taskRunList", "outputs"):
        assert key in exe
    assert [h["state"] for h in exe["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
    run = exe["taskRunList"][0]
    for key in ("id", "taskId", "parentTaskRunId", "value", "state", "attempts", "outputs"):
        assert key in run
    assert run["attempts"][0]["state"]["current"] == "SUCCESS"


def test_seed_example_as_printed_is_rejected_naming_the_property_and_suggesting_message(cli: Cli) -> None:
    proc = cli("run", str(EXAMPLES / "finally_example_success_as_printed.yaml"))
    assert proc.returncode == 2
    err = proc.stderr
    assert "finally_example_success_as_printed.yaml:7:" in err
    assert "errorMessage" in err and "did you mean `message`" in err
    assert "Traceback" not in err and proc.stdout == ""


def test_validate_lists_every_problem_and_exits_2(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nnamespace: company.team\ntasks:\n"
        "  - id: a\n    type: io.kestra.plugin.core.log.Logg\n    message: x\n"
        "  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
    )
    proc = cli("validate", str(EXAMPLES / "finally_example_success.yaml"), str(bad))
    assert proc.returncode == 2
    assert f"{bad}:5:" in proc.stderr and "unknown task type" in proc.stderr
    assert "io.kestra.plugin.core.log.Log" in proc.stderr
    assert "duplicate task id `a`" in proc.stderr
    assert "missing required property `message`" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_accepts_valid_flows(cli: Cli) -> None:
    proc = cli("validate", str(EXAMPLES / "finally_example_success.yaml"),
               str(EXAMPLES / "finally_example_failure.yaml"))
    assert proc.returncode == 0, proc.stderr


def test_malformed_yaml_is_a_located_error(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nnamespace: company.team\ntasks:\n  - id: a\n    type: [unclosed\n")
    proc = cli("run", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:" in proc.stderr and "invalid YAML" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_inputs_are_typed_and_invalid_inputs_exit_2(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "inputs.yaml"
    f.write_text(
        "id: inputs\nnamespace: company.team\ninputs:\n  - id: n\n    type: INT\n"
        "tasks:\n  - id: out\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ inputs.n + 1 }}\"\n"
    )
    code, exe = cli.run_json(str(f), "--input", "n=41")
    assert code == 0
    assert exe["taskRunList"][0]["outputs"] == {"value": "42"}
    assert exe["inputs"] == {"n": 41}
    proc = cli("run", str(f), "--input", "n=abc")
    assert proc.returncode == 2 and "input `n`" in proc.stderr and "not an integer" in proc.stderr


def test_executions_show_and_logs_read_back_a_past_execution(cli: Cli) -> None:
    _, exe = cli.run_json(str(EXAMPLES / "finally_example_failure.yaml"))
    listed = cli("executions", "--flow", "finally_example", "--json")
    assert listed.returncode == 0
    assert exe["id"] in [r["id"] for r in json.loads(listed.stdout)]
    failed_only = json.loads(cli("executions", "--state", "SUCCESS", "--json").stdout)
    assert exe["id"] not in [r["id"] for r in failed_only]
    shown = cli("execution", "show", exe["id"], "--json")
    assert json.loads(shown.stdout)["taskRunList"] == exe["taskRunList"]
    logs = cli("logs", exe["id"])
    assert "cleaning up resources" in logs.stdout and "alert on failure" in logs.stdout
    assert cli("logs", "nope").returncode == 2


def _wait_for(proc_stderr_path: Path, text: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in proc_stderr_path.read_text():
            return
        time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError(f"`{text}` never appeared")


SLEEPY = """
id: sleepy
namespace: company.team
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT30S
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: never
errors:
  - id: on_error
    type: io.kestra.plugin.core.log.Log
    message: not on kill
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaned up after kill
"""


def test_ctrl_c_kills_the_execution_but_finally_still_runs(cli: Cli, tmp_path: Path) -> None:
    import subprocess
    import sys

    f = tmp_path / "sleepy.yaml"
    f.write_text(SLEEPY)
    err = tmp_path / "err.txt"
    with err.open("w") as errf:
        proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", str(f), "--json"], stdout=subprocess.PIPE,
                                stderr=errf, text=True, env=cli.env)
        _wait_for(err, "Flow started")
        cli.wait_task_running("sleepy", "nap")
        started = time.time()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert time.time() - started < 10
    exe = json.loads(out)
    assert proc.returncode == 1
    assert exe["state"]["current"] == "KILLED"
    assert states(exe) == {"nap": "KILLED", "cleanup": "SUCCESS"}
    assert "cleaned up after kill" in cli("logs", exe["id"]).stdout


def test_second_ctrl_c_stops_at_once_and_says_cleanup_was_skipped(cli: Cli, tmp_path: Path) -> None:
    import subprocess
    import sys

    f = tmp_path / "slowclean.yaml"
    f.write_text(SLEEPY.replace("""  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaned up after kill""", """  - id: cleanup
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT30S"""))
    err = tmp_path / "err.txt"
    with err.open("w") as errf:
        proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", str(f), "--json"], stdout=subprocess.PIPE,
                                stderr=errf, text=True, env=cli.env)
        _wait_for(err, "Flow started")
        cli.wait_task_running("sleepy", "nap")
        proc.send_signal(signal.SIGINT)
        _wait_for(err, "Killing")
        cli.wait_task_running("sleepy", "cleanup")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    exe = json.loads(out)
    assert proc.returncode == 1
    assert exe["state"]["current"] == "KILLED"
    assert "cleanup" in " ".join(exe.get("notes", []))
    assert "cleanup skipped" in err.read_text()


def test_a_file_input_is_stored_and_readable_by_tasks(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "file_input.yaml"
    flow.write_text("id: file_input\nnamespace: company.team\ninputs:\n  - id: data\n    type: FILE\n"
                    "tasks:\n  - id: show\n    type: io.kestra.plugin.core.debug.Return\n"
                    "    format: \"{{ read(inputs.data) | trim | upper }}\"\n")
    data = tmp_path / "data.txt"
    data.write_text("hello file\n")
    code, exe = cli.run_json(str(flow), "-i", f"data={data}")
    assert code == 0 and exe["inputs"]["data"].startswith("kestra:///")
    assert exe["taskRunList"][0]["outputs"] == {"value": "HELLO FILE"}
    proc = cli("run", str(flow), "-i", f"data={tmp_path / 'missing.txt'}")
    assert proc.returncode == 2 and "input `data`: no file at" in proc.stderr


def test_an_undefined_variable_fails_the_task_with_what_exists(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "undefined.yaml"
    flow.write_text("id: undefined\nnamespace: company.team\ntasks:\n"
                    "  - id: make\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
                    "  - id: use\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ outputs.mkae.value }}\"\n"
                    "finally:\n  - id: fin\n    type: io.kestra.plugin.core.log.Log\n    message: done\n")
    code, exe = cli.run_json(str(flow))
    assert code == 1 and states(exe) == {"make": "SUCCESS", "use": "FAILED", "fin": "SUCCESS"}
    logs = cli("logs", exe["id"], "--task", "use").stdout
    assert "`outputs.mkae` is undefined; did you mean `make`? known outputs: make" in logs
    assert "Traceback" not in logs


def test_an_unquoted_template_is_explained(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "unquoted.yaml"
    flow.write_text("id: unquoted\nnamespace: company.team\ntasks:\n"
                    "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: {{ flow.id }}\n")
    proc = cli("run", str(flow))
    assert proc.returncode == 2
    assert f"{flow}:6:14: invalid YAML: an unquoted `{{{{ … }}}}` is read by YAML as a map" in proc.stderr
    assert "Traceback" not in proc.stderr
