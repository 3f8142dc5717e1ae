"""`lanner logs` for a task with `logToFile: true`: its lines are not in the log store, so they are
printed from the attempt's file, under a line saying where that file is."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli

FLOW = """id: log-to-file
namespace: company.team
tasks:
  - {id: hello, type: io.kestra.plugin.core.log.Log, message: Hello World!, logToFile: true}
  - {id: shout, type: io.kestra.plugin.core.log.Log, message: Careful!, level: WARN, logToFile: true}
"""


def test_lanner_logs_prints_a_tasks_lines_from_its_log_file_and_says_where_it_is(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    code, exe = cli.run_json(str(flow))
    assert code == 0 and exe["state"]["current"] == "SUCCESS"
    log_file = exe["taskRunList"][0]["attempts"][0]["logFile"]
    shown = cli("run", str(flow)).stderr  # the end-of-run summary
    assert "the logs of 2 attempts are kept in files (logToFile): `lanner logs " in shown
    out = cli("logs", exe["id"], "--task", "hello").stdout
    assert f"-- hello attempt 1: logs kept in a file (logToFile), {log_file}" in out
    assert [line.split(" ", 1)[1] for line in out.splitlines()[1:]] == ["INFO  hello Hello World!"]
    warned = cli("logs", exe["id"], "--level", "WARN").stdout
    assert "shout Careful!" in warned and "Hello World!" not in warned
