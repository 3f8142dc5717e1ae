"""A parent and the child its Subflow waits for, left behind together by one SIGKILLed `lanner run`.

Both executions had the same owner, so both are left behind. `lanner execution continue PARENT`
must continue the child too (before this was fixed, the parent waited for it forever), and each
task — the child's work and the parent's `finally` — runs once, tallied from side-effect lines.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.forkserver import ForkServer
from tests.integration.crash.harness import Home, effect, read_lines, wait_for, wait_for_line

pytestmark = pytest.mark.slow


def test_continuing_a_parent_left_behind_continues_its_child_and_each_task_runs_once(
        tmp_path: Path, forks: ForkServer) -> None:
    log = tmp_path / "effects.log"
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "child.yaml").write_text(f"id: child\nnamespace: lanner.crash\ntasks:{effect('work', log, 1.5)}")
    parent = tmp_path / "parent.yaml"
    parent.write_text("id: parent\nnamespace: lanner.crash\ntasks:\n"
                      "  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n"
                      "    namespace: lanner.crash\n    flowId: child\n"
                      f"finally:{effect('cleanup', log, 0.1)}")
    home = Home(tmp_path / "home", forks=forks)
    run = home.popen("run", str(parent), "--flows", str(flows), "--quiet")
    wait_for_line(log, "work", "start")
    run.send_signal(signal.SIGKILL)  # the lanner process only: its keeper ends the child's command
    run.wait(timeout=30)
    parent_id = wait_for(lambda: next((r[0] for r in home._query(
        "SELECT id FROM executions WHERE flow_id = 'parent'")), None), 10, "the parent's execution")

    done = home.run("execution", "continue", parent_id, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert home.state(parent_id) == "SUCCESS"
    child_states = [r[0] for r in home._query("SELECT state FROM executions WHERE flow_id = 'child'")]
    assert child_states == ["SUCCESS"]
    lines = read_lines(log)
    assert sum(1 for x in lines if x.task == "work" and x.what == "end") == 1
    assert sum(1 for x in lines if x.task == "cleanup" and x.what == "end") == 1
