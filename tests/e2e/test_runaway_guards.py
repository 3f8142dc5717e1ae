"""Runaway guards through the CLI: a self-calling flow is refused before it runs; a task run limit fails a loop."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli

SELF_CALL = """id: forever
namespace: company.team
tasks:
  - id: again
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: forever
"""


def test_run_refuses_a_flow_whose_subflow_starts_itself_and_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "forever.yaml"
    path.write_text(SELF_CALL)
    proc = cli("run", str(path), timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (f"error: {path}:4:5: tasks[0] (again): Subflow starts flow `company.team.forever` again "
            "(company.team.forever → company.team.forever); a flow cannot call itself") in proc.stderr
    assert cli("executions").stdout.splitlines()[1:] == []  # nothing was started


def test_run_refuses_a_loop_through_the_flows_folder(cli: Cli, tmp_path: Path) -> None:
    main = tmp_path / "main.yaml"
    main.write_text(SELF_CALL.replace("forever", "main").replace("flowId: main", "flowId: helper"))
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "helper.yaml").write_text(SELF_CALL.replace("forever", "helper").replace("flowId: helper",
                                                                                       "flowId: main"))
    proc = cli("run", str(main), "--flows", str(folder), timeout=60)
    assert proc.returncode == 2
    assert (f"error: {folder / 'helper.yaml'}:4:5: tasks[0] (again): Subflow starts flow `company.team.main` again "
            "(company.team.main → company.team.helper → company.team.main)") in proc.stderr
    assert cli("executions").stdout.splitlines()[1:] == []


def test_a_loop_past_the_task_run_limit_fails_and_its_finally_still_runs(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("""id: loop
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 50) }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.value }}"
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaned up
""")
    cli.env["LANNER_MAX_TASK_RUNS"] = "10"
    code, exe = cli.run_json(str(path))
    assert code == 1
    assert exe["state"]["current"] == "FAILED"
    runs = [r["taskId"] for r in exe["taskRunList"]]
    assert runs.count("log") == 9 and runs.count("cleanup") == 1
    assert next(r for r in exe["taskRunList"] if r["taskId"] == "cleanup")["state"]["current"] == "SUCCESS"
    assert any("maximum of 10 task runs per execution" in note for note in exe.get("notes", []))


def test_a_bad_task_run_limit_is_one_clear_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("id: ok\nnamespace: a\ntasks:\n"
                    "  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    cli.env["LANNER_MAX_TASK_RUNS"] = "lots"
    proc = cli("run", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: LANNER_MAX_TASK_RUNS must be a positive whole number, not `lots`; "
                                   "e.g. 200000 (the default), or unset it")
