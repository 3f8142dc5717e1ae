"""What `lanner run` writes on stderr, read as a user reads it: piped into a file or a pager, or on
a terminal. Loops are grouped, lines keep their order and their width, text stays as written."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import EXAMPLES, ROOT, Cli
from tests.json_reading import strict_json

LOOP = """id: loop
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 30) }}"
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: "value {{ taskrun.value }}"
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
        runIf: "{{ taskrun.value == '30' }}"
"""


def _loop(tmp_path: Path) -> Path:
    flow = tmp_path / "loop.yaml"
    flow.write_text(LOOP)
    return flow


def test_piped_run_counts_a_loops_iterations_on_one_line_and_lists_only_the_failed_one(
        cli: Cli, tmp_path: Path) -> None:
    proc = cli("run", str(_loop(tmp_path)))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert sum(" INFO  say value " in line for line in lines) == 30  # task logs: the user's output, all kept
    assert not [line for line in lines if re.search(r"\bsay\[\d+\]", line)], proc.stderr
    assert "say ×30  SUCCESS 30 (" in proc.stderr
    assert "boom ×30  SKIPPED 29  FAILED 1 (" in proc.stderr
    assert re.search(r"^FAILED +boom\[30\] \(", proc.stderr, re.M)  # while running, with its value
    assert re.search(r"^    boom\[30\] +tasks +FAILED +1 ", proc.stderr, re.M)  # in the summary, under its group
    assert len(lines) < 30 + 15, proc.stderr


def test_run_json_keeps_its_stdout_and_groups_the_summary_on_stderr(cli: Cli, tmp_path: Path) -> None:
    proc = cli("run", str(_loop(tmp_path)), "--json")

    exe = json.loads(proc.stdout)
    assert len(exe["taskRunList"]) == 1 + 30 + 30
    assert json.loads(cli("execution", "show", exe["id"], "--json").stdout)["taskRunList"] == exe["taskRunList"]
    assert re.search(r"^  say ×30 +tasks +SUCCESS 30 +30 ", proc.stderr, re.M), proc.stderr


def test_flow_ended_is_said_after_the_last_task_runs_line(cli: Cli) -> None:
    lines = cli("run", str(EXAMPLES / "finally_example_success.yaml")).stderr.splitlines()
    ended = next(i for i, line in enumerate(lines) if "Flow ended SUCCESS" in line)
    cleanup = next(i for i, line in enumerate(lines) if re.match(r"SUCCESS +cleanup_task \(", line))
    assert cleanup < ended, "\n".join(lines)


def test_summary_lines_are_not_cut_at_80_columns_when_piped(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "long.yaml"
    flow.write_text("id: a_flow_whose_name_is_long_enough_to_pass_eighty_columns\n"
                    "namespace: company.team.with.a.deep.namespace\n"
                    "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    env = {k: v for k, v in cli.env.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "lanner", "run", str(flow)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^Execution \w+ of company\.team\.with\.a\.deep\.namespace\."
                     r"a_flow_whose_name_is_long_enough_to_pass_eighty_columns ended SUCCESS in \S+$",
                     proc.stderr, re.M), proc.stderr


def test_outputs_summary_prints_non_ascii_text_as_written(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "umlaut.yaml"
    flow.write_text("id: umlaut\nnamespace: company.team\n"
                    "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
                    "outputs:\n  - id: greeting\n    type: STRING\n    value: \"grüße aus München\"\n")
    proc = cli("run", str(flow))
    assert 'outputs: {"greeting": "grüße aus München"}' in proc.stderr, proc.stderr


def _on_a_terminal(cli: Cli, *args: str) -> str:
    """What `lanner run` writes when its stderr is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", *args], stdout=subprocess.DEVNULL,
                                stderr=follower, env={**cli.env, "TERM": "xterm"}, cwd=ROOT)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_live_table_is_drawn_on_a_terminal_and_no_live_prints_plain_lines_there(cli: Cli) -> None:
    seed = str(EXAMPLES / "finally_example_success.yaml")
    drawn = _on_a_terminal(cli, seed)
    assert "\x1b[?25l" in drawn  # the live table hides the cursor while it redraws
    plain = _on_a_terminal(cli, seed, "--no-live")
    assert "\x1b[?25l" not in plain
    assert re.search(r"^SUCCESS +cleanup_task \(", re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", plain), re.M), plain


def test_live_redraws_the_table_even_into_a_pipe_when_asked(cli: Cli) -> None:
    proc = cli("run", str(EXAMPLES / "finally_example_success.yaml"), "--live")
    assert proc.returncode == 0
    assert "\x1b[?25l" in proc.stderr


def test_run_json_writes_non_finite_outputs_as_null_so_that_jq_and_browsers_read_it(cli: Cli, tmp_path: Path) -> None:
    """Python's JSON reader takes `NaN` in a script's outputs line; what `--json` prints must still
    be JSON (it printed `"x": NaN`, which jq refuses)."""
    flow = tmp_path / "nonfinite.yaml"
    flow.write_text("""id: nonfinite
namespace: company.team
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    script: |
      print('::{"outputs": {"x": NaN, "y": Infinity, "z": 1.5}}::')
""")
    done = cli("run", str(flow), "--json", "-q")
    assert done.returncode == 0, done.stderr
    exe = strict_json(done.stdout)
    py = next(r for r in exe["taskRunList"] if r["taskId"] == "py")
    assert py["outputs"]["vars"] == {"x": None, "y": None, "z": 1.5}
