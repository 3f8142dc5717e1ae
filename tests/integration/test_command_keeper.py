"""A host command's end survives its Lanner process: a finished command is never run again, a cut-off one is.

Real `lanner run` processes, real shells, real SIGKILLs. The exit window is hit deterministically:
the task's command appends its side-effect line, prints an output var, SIGSTOPs the `lanner run`
that runs it (its pid comes from a file the test writes) and exits; the test waits until the
command has exited, SIGKILLs the stopped Lanner and continues the execution the documented way.
Everything is judged from the side-effect file and the CLI, as a user would see it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner import process_identity
from lanner.worker import process_groups
from tests.integration.crash.harness import Home, wait_for
from tests.integration.plugins.conftest import BUSYBOX, docker_engine  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

SHELL = "type: io.kestra.plugin.scripts.shell.Commands\n    taskRunner: {type: io.kestra.plugin.core.runner.Process}"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    yield Home(tmp_path / "home")


def window_flow(effects: Path, pidfile: Path, block: str) -> str:
    """`work` (in `block`) ends by stopping its Lanner; `after`, the next task of that block, records the var."""
    work = f"""  - id: work
    {SHELL}
    commands:
      - echo "work {{{{ taskrun.attemptsCount }}}} $$" >> {effects}
      - echo '::{{"outputs":{{"greeting":"hello"}}}}::'
      - while [ ! -s {pidfile} ]; do sleep 0.01; done
      - kill -STOP "$(cat {pidfile})" || true
  - id: after
    {SHELL}
    commands:
      - echo "after {{{{ outputs.work.vars.greeting }}}}" >> {effects}
"""
    head = "id: window\nnamespace: lanner.keeper\n"
    if block == "tasks":
        return f"{head}tasks:\n{work}"
    return f"{head}tasks:\n  - id: first\n    type: io.kestra.plugin.core.log.Log\n    message: hi\nfinally:\n{work}"


def exited(pid: int) -> bool:
    """The process is gone or a zombie: it has done everything it will ever do."""
    fields = process_identity.stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def stopped(pid: int) -> bool:
    fields = process_identity.stat_fields(pid)
    return fields is not None and fields[0] == "T"


def start(home: Home, flow: str) -> tuple[subprocess.Popen[str], str]:
    flow_file = home.root / "flow.yaml"
    flow_file.write_text(flow)
    proc = home.popen("run", str(flow_file), "-q")
    new = wait_for(lambda: home.execution_ids(), 60, "the execution to be stored")
    return proc, next(iter(new))


def first_group(home: Home, ready: Path) -> tuple[Path, int]:
    """Attempt 1's process record and group, once the command's background grandchild wrote `ready`."""
    record = wait_for(lambda: list((home.root / "run" / "attempts").glob("*/1-process-*.json")), 60,
                      "the attempt's record")[0]
    wait_for(ready.exists, 30, "the background grandchild to start")
    return record, int(record.name.split("-")[-1].removesuffix(".json"))


@pytest.mark.parametrize("block", ["tasks", "finally"])
def test_a_command_that_finished_before_its_lanner_was_killed_is_not_run_again(
        home: Home, tmp_path: Path, block: str) -> None:
    effects, pidfile = tmp_path / "effects", tmp_path / "lanner.pid"
    proc, eid = start(home, window_flow(effects, pidfile, block))
    pidfile.write_text(str(proc.pid))
    line = wait_for(lambda: effects.exists() and effects.read_text().split("\n")[0], 60, "the side effect")
    shell = int(line.split()[2])
    wait_for(lambda: stopped(proc.pid) and exited(shell), 30, "the command to stop its lanner and exit")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()

    continued = home.run("execution", "continue", eid)

    lines = effects.read_text().splitlines()
    assert [x for x in lines if x.startswith("work")] == [line], "the finished command ran again"
    assert "after hello" in lines, lines
    assert home.state(eid) == "SUCCESS", continued.stdout + continued.stderr
    logs = home.run("logs", eid, "--task", "work").stdout
    assert ("Attempt 1's command had finished (exit code 0) before its Lanner process stopped; its recorded "
            "output is used and the command is not run again") in logs
    assert not list((home.root / "run" / "attempts").glob("*/*")), "the attempt's files outlived its result"


def test_a_command_cut_off_with_its_lanner_takes_its_whole_group_along_and_runs_again_once(
        home: Home, tmp_path: Path) -> None:
    effects, ready = tmp_path / "effects", tmp_path / "grandchild-started"
    flow = f"""id: cut
namespace: lanner.keeper
tasks:
  - id: work
    {SHELL}
    commands:
      - echo "start {{{{ taskrun.attemptsCount }}}}" >> {effects}
      - sh -c 'echo > {ready}; sleep 1; echo late >> {effects}' &
      - sleep "{{{{ 30 - 30 * taskrun.attemptsCount }}}}"
      - echo "end {{{{ taskrun.attemptsCount }}}}" >> {effects}
"""
    proc, eid = start(home, flow)
    record, group = first_group(home, ready)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()

    wait_for(lambda: not process_groups.alive(group), 10, "the group to die with its lanner")
    assert not (record.parent / "1.exit").exists(), "a cut-off command must leave no note to adopt"

    continued = home.run("execution", "continue", eid)

    assert home.state(eid) == "SUCCESS", continued.stdout + continued.stderr
    assert effects.read_text().splitlines() == ["start 0", "start 1", "end 1"]
    logs = home.run("logs", eid, "--task", "work").stdout
    assert "Attempt 1 was cut off" in logs and "recorded output is used" not in logs


def test_a_keeper_killed_on_its_own_takes_its_command_group_along(home: Home, tmp_path: Path) -> None:
    effects, ready = tmp_path / "effects", tmp_path / "grandchild-started"
    flow = f"""id: lonely
namespace: lanner.keeper
tasks:
  - id: work
    {SHELL}
    commands:
      - sh -c 'echo > {ready}; sleep 1; echo late >> {effects}' &
      - sleep 30
      - echo "end" >> {effects}
"""
    proc, eid = start(home, flow)
    _, group = first_group(home, ready)
    os.kill(group, signal.SIGKILL)  # the keeper (it leads the group), as the OOM killer might

    out, err = proc.communicate(timeout=60)

    assert not process_groups.alive(group), "the command ran on without its keeper"
    assert home.state(eid) == "FAILED", out + err
    logs = home.run("logs", eid, "--task", "work").stdout
    assert f"The keeper of process group {group} was killed; killed the group too" in logs
    assert "Command failed with exit code -9" in logs
    assert not effects.exists()


def test_a_container_that_finished_before_its_lanner_was_killed_is_not_run_again(
        home: Home, tmp_path: Path, docker_engine: Any) -> None:  # noqa: F811 - the imported fixture
    effects, go = tmp_path / "effects", tmp_path / "go"
    flow = f"""id: boxed
namespace: lanner.keeper
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    containerImage: {BUSYBOX}
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      pullPolicy: NEVER
      volumes: ["{tmp_path}:{tmp_path}"]
    commands:
      - while [ ! -e {go} ]; do sleep 0.05; done
      - echo "work {{{{ taskrun.attemptsCount }}}}" >> {effects}
      - echo '::{{"outputs":{{"greeting":"boxed"}}}}::'
  - id: after
    {SHELL}
    commands:
      - echo "after {{{{ outputs.work.vars.greeting }}}}" >> {effects}
"""
    proc, eid = start(home, flow)
    record = wait_for(lambda: list((home.root / "run" / "attempts").glob("*/1-container-*.json")), 60,
                      "the container's record")[0]
    container_id = json.loads(record.read_text())["container_id"]
    try:
        wait_for(lambda: docker_engine.containers.get(container_id).status == "running", 60, "the container to run")
        os.kill(proc.pid, signal.SIGSTOP)
        go.touch()  # the container does its work and exits while its Lanner is stopped
        wait_for(lambda: docker_engine.containers.get(container_id).status == "exited", 60,
                 "the container to exit")
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()

        continued = home.run("execution", "continue", eid)

        assert effects.read_text().splitlines() == ["work 0", "after boxed"], "the finished container ran again"
        assert home.state(eid) == "SUCCESS", continued.stdout + continued.stderr
        logs = home.run("logs", eid, "--task", "work").stdout
        assert "Attempt 1's command had finished (exit code 0) before its Lanner process stopped" in logs
        assert not docker_engine.containers.list(all=True, filters={"label": f"lanner.execution={eid}"})
    finally:
        for c in docker_engine.containers.list(all=True, filters={"label": f"lanner.execution={eid}"}):
            c.remove(force=True)
