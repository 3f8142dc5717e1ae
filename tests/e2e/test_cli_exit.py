"""How `lanner` starts and ends. It loads with the collector off (`lanner.cli.entry`), which must
be on again for the run itself; it skips the interpreter's teardown of every object
(`lanner.cli.ending`), but nothing a user can see of an exit may go with it — the workers' last
clean-ups, atexit functions, buffered output, the store's write-ahead log, the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT, Cli

MANY_FILES = """id: many_files
namespace: tests
tasks:
  - id: first
    type: io.kestra.plugin.scripts.python.Script
    script: print("first")
  - id: last
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - mkdir -p a/b/c
      - for i in $(seq 1 400); do echo $i > a/b/c/file$i.txt; done
      - echo done
"""


def test_the_last_tasks_working_folder_and_records_are_removed_before_the_process_ends(cli: Cli,
                                                                                         tmp_path: Path) -> None:
    """The last task's folder (400 files) is removed by its worker thread after its result is
    reported, that is while the command is ending: the exit waits for it."""
    flow = tmp_path / "many_files.yaml"
    flow.write_text(MANY_FILES)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cli.env["TMPDIR"] = str(tmp)
    code, exe = cli.run_json(str(flow))
    assert code == 0, exe
    assert exe["state"]["current"] == "SUCCESS"
    assert list(tmp.iterdir()) == []
    attempts = cli.home / "run" / "attempts"
    assert not attempts.exists() or list(attempts.iterdir()) == []


def test_the_store_is_checkpointed_and_its_write_ahead_log_removed_at_exit(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "many_files.yaml"
    flow.write_text(MANY_FILES)
    assert cli("run", str(flow), "-q").returncode == 0
    assert sorted(p.name for p in cli.home.iterdir() if p.name.startswith("lanner.db")) == ["lanner.db",
                                                                                          "lanner.db.lock"]
    shown = cli("executions")
    assert shown.returncode == 0 and "many_files" in shown.stdout


PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("ATEXIT RAN\\n"))
from lanner.cli.main import main
sys.argv = ["lanner", *sys.argv[1:]]
main()
sys.stderr.write("NOT REACHED\\n")
"""


def test_atexit_functions_run_buffered_output_is_written_and_the_exit_code_is_kept(tmp_path: Path) -> None:
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    for flow, code, state in (("finally_example_success.yaml", 0, "SUCCESS"),
                              ("finally_example_failure.yaml", 1, "FAILED")):
        proc = subprocess.run([sys.executable, "-c", PROBE, "run", str(ROOT / "examples" / flow), "--json"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == code, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["state"]["current"] == state  # all of it, through a pipe
        assert "ATEXIT RAN" in proc.stderr and "NOT REACHED" not in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Lg\n")
    proc = subprocess.run([sys.executable, "-c", PROBE, "validate", str(bad)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and "bad.yaml:5" in proc.stdout + proc.stderr
    assert "ATEXIT RAN" in proc.stderr


COLLECTOR_PROBE = """
import atexit, gc, sys
import lanner.runtime.local as local
seen = []
run = local.LocalRuntime.run
def noted(*args, **kwargs):
    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
    return run(*args, **kwargs)
local.LocalRuntime.run = noted
atexit.register(lambda: sys.stderr.write(f"RUN {seen} END {gc.isenabled()}\\n"))
from lanner.cli.entry import main
sys.argv = ["lanner", *sys.argv[1:]]
main()
"""


def test_the_collector_is_on_while_a_flow_runs_and_for_every_other_command(tmp_path: Path) -> None:
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    flow = str(ROOT / "examples" / "finally_example_success.yaml")
    proc = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, "run", flow, "-q"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RUN [(True, True)] END True" in proc.stderr  # on, with start-up's objects frozen
    proc = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, "validate", flow], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RUN [] END True" in proc.stderr
