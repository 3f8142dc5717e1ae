"""`logToFile: true` across a real crash: a `lanner run` SIGKILLed while the task's command runs
leaves no `logFile` naming a missing file. The cut-off attempt has none (its result was never
stored, so no file was promised); the attempt that ran it again names its own file, which holds
its lines."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from lanner.testing import files_of, repository_of
from tests.forkserver import ForkServer
from tests.integration.crash.harness import Home, continue_to_end, effect, wait_for, wait_for_line

pytestmark = pytest.mark.slow


def test_a_crash_mid_attempt_leaves_no_log_file_naming_nothing_and_the_next_attempt_has_its_own(
        tmp_path: Path, forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", None, forks), tmp_path / "effects.log"
    flow_file = tmp_path / "f.yaml"
    flow_file.write_text("id: logged\nnamespace: lanner.crash\ntasks:" + effect("work", log, 1.0)
                         + "      - echo done here\n    logToFile: true\n")
    proc = home.popen("run", str(flow_file), "-q")
    eid = next(iter(wait_for(home.execution_ids, 30, "the execution to be stored")))
    wait_for_line(log, "work", "start")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert continue_to_end(home, eid) == "SUCCESS"
    exe = repository_of(home.root).get(eid)
    assert exe is not None
    [run] = exe.task_runs
    *cut_off, last = run.attempts
    assert cut_off and all(a.log_file is None for a in cut_off)
    assert last.log_file is not None
    assert " INFO done here" in files_of(home.root).get(last.log_file).decode()
