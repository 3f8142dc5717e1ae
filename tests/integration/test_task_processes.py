"""Task processes and containers never outlive their owner unobserved, never overlap their replacement.

Real `lanner run` processes are SIGKILLed (or hard-stopped with a second Ctrl-C) in the middle
of a shell or Docker task, and the test looks from the outside: is the task's process group or
container still there, and did the side effect it would have had after the kill (a line in a
marker file) happen? An execution left behind is continued the way the CLI does it
(`LocalRuntime.resume_stored`), whose attempt 2 must first end what attempt 1 left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner.worker import process_groups
from lanner.worker.leftovers import Record, record, terminate_leftovers
from tests.integration.plugins.conftest import BUSYBOX, docker_engine  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: str, check: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError(f"timed out waiting for {what}")


class Home:
    """A private LANNER_HOME, the `lanner run` processes started on it, and what they recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {**os.environ, "LANNER_HOME": str(path), "COLUMNS": "200"}
        self.env.pop("LANNER_DATABASE_URL", None)
        self.procs: list[subprocess.Popen[str]] = []

    def run(self, flow: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", str(flow), "-q"], cwd=ROOT, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def records(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for path in (self.path / "run" / "attempts").glob(f"*/*-{kind}-*.json"):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):  # being written (atomically replaced) right now
                continue
        return out

    def continue_left_behind(self, execution_id: str) -> Any:
        """Continue an execution whose process died, in this process (what the CLI does)."""
        from lanner.runtime.catalog import FlowCatalog
        from lanner.runtime.local import LocalRuntime
        from lanner.storage import db
        from lanner.storage.files import LocalFiles
        from lanner.storage.repository import Repository

        repo = Repository(db.connect(f"sqlite:///{self.path / 'lanner.db'}"))
        runtime = LocalRuntime(repo, LocalFiles(self.path / "storage"), catalog=FlowCatalog(repo))
        try:
            return runtime.resume_stored(execution_id), repo
        finally:
            runtime.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    monkeypatch.setenv("LANNER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LANNER_DATABASE_URL", raising=False)
    h = Home(tmp_path / "home")
    yield h
    for proc in h.procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def write_flow(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def group_gone(group: int) -> bool:
    return not process_groups.alive(group)


def kill_group(group: int) -> None:
    process_groups.signal_group(group, signal.SIGKILL)


def test_sigkilled_lanner_run_takes_its_task_command_with_it(home: Home, tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    flow = write_flow(tmp_path, "sleepy", f"""id: sleepy
namespace: procs
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 3; echo done >> {marker}
""")
    proc = home.run(flow)
    (rec,) = wait_for("the task's process group to be recorded", lambda: home.records("process"))
    group = rec["pgid"]
    assert process_groups.start_time(rec["pid"]) == rec["start_time"]
    proc.kill()
    proc.wait(timeout=10)
    # PDEATHSIG: the shell dies with `lanner run` (its `sleep 3` child may finish, but nothing after it runs)
    wait_for("the task's shell to die with lanner", lambda: process_groups.start_time(rec["pid"]) is None, 5)
    wait_for("the task's process group to be gone", lambda: group_gone(group), 10)
    assert not marker.exists()


def test_next_attempt_ends_the_group_a_killed_attempt_left_behind(home: Home, tmp_path: Path) -> None:
    marker = tmp_path / "M"
    flow = write_flow(tmp_path, "leaver", f"""id: leaver
namespace: procs
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sh -c '(sleep 30; echo x >> {marker}) &'
      - sleep "{{{{ 60 - 60 * taskrun.attemptsCount }}}}"
      - echo attempt "{{{{ taskrun.attemptsCount + 1 }}}}" finished
""")
    proc = home.run(flow)
    (rec,) = wait_for("the task's process group to be recorded", lambda: home.records("process"))
    group = rec["pgid"]
    wait_for("the background grandchild to start", lambda: len(process_groups.members(group)) >= 4)
    # The keeper would end the whole group when lanner dies; killed first (as the OOM killer might),
    # it takes only the command with it (PDEATHSIG), not the grandchild: only the record can end that.
    os.kill(rec["pid"], signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)
    wait_for("the keeper to be gone with lanner", lambda: process_groups.start_time(rec["pid"]) is None, 5)
    assert not group_gone(group), "the grandchild ignores PDEATHSIG: only the record can end it"
    try:
        exe, repo = home.continue_left_behind(rec["execution_id"])
        assert group_gone(group), "attempt 2 started while attempt 1's group was still running"
        run = next(r for r in exe.task_runs if r.task_id == "work")
        assert (exe.state.current.value, len(run.attempts)) == ("SUCCESS", 2)
        warnings = [r["message"] for r in repo.logs(exe.id, "WARN", "work")]
        assert f"Attempt 1's process group {group} was still running; terminated it before attempt 2" in warnings
        assert not marker.exists()
        assert [r for r in home.records("process") if r["attempt"] == 1] == []
    finally:
        for left in home.records("process"):  # attempt 2's own background job keeps its record
            kill_group(left["pgid"])
        kill_group(group)


def run_stubborn(home: Home, tmp_path: Path, cleanup: str = "") -> tuple[Any, dict[str, Any], Path]:
    """`lanner run` of a shell task that ignores SIGTERM and leaves a background grandchild that would
    write a marker in 30 s; returns (process, its attempt record, marker) once the grandchild runs."""
    marker = tmp_path / "M"
    flow = write_flow(tmp_path, "stubborn", f"""id: stubborn
namespace: procs
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - trap '' TERM
      - sh -c '(sleep 30; echo x >> {marker}) &'
      - sleep 30
{cleanup}""")
    proc = home.run(flow)
    (rec,) = wait_for("the task's process group to be recorded", lambda: home.records("process"))
    # the keeper, the shell, the grandchild's shell and the two sleeps
    wait_for("the background grandchild to start", lambda: len(process_groups.members(rec["pgid"])) >= 4)
    return proc, rec, marker


def test_second_ctrl_c_leaves_no_process_group_behind(home: Home, tmp_path: Path) -> None:
    proc, rec, marker = run_stubborn(home, tmp_path, cleanup="""finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleaning up
""")
    group = rec["pgid"]
    try:
        proc.send_signal(signal.SIGINT)  # graceful: SIGTERM, which this group ignores for 3 s
        assert proc.stderr is not None
        seen = ""
        while "Killing" not in seen:  # two signals sent at once may arrive as one
            line = proc.stderr.readline()
            assert line, f"lanner exited ({proc.wait()}) before it said it was killing"
            seen += line
        proc.send_signal(signal.SIGINT)  # hard: stop at once
        _, err = proc.communicate(timeout=20)
        err = seen + err
        assert group_gone(group), f"lanner exited ({proc.returncode}) leaving process group {group} running"
        assert f"Hard stop: killed process group {group}" in err
        assert not marker.exists()
        assert home.records("process") == []
    finally:
        kill_group(group)


def test_execution_kill_hard_leaves_no_process_group_behind(home: Home, tmp_path: Path) -> None:
    proc, rec, marker = run_stubborn(home, tmp_path)
    group = rec["pgid"]
    try:
        kill = subprocess.run([sys.executable, "-m", "lanner", "execution", "kill", "--hard", rec["execution_id"]],
                              cwd=ROOT, env=home.env, capture_output=True, text=True, timeout=60)
        assert kill.returncode == 0, kill.stderr
        _, err = proc.communicate(timeout=30)
        assert group_gone(group), f"lanner exited ({proc.returncode}) leaving process group {group} running"
        assert f"Hard stop: killed process group {group}" in err
        assert not marker.exists()
    finally:
        kill_group(group)


def test_hard_kill_of_a_left_behind_execution_ends_what_its_dead_process_left(home: Home, tmp_path: Path) -> None:
    marker = tmp_path / "M"
    flow = write_flow(tmp_path, "orphaned", f"""id: orphaned
namespace: procs
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sh -c '(sleep 30; echo x >> {marker}) &'
      - sleep 30
""")
    proc = home.run(flow)
    (rec,) = wait_for("the task's process group to be recorded", lambda: home.records("process"))
    group = rec["pgid"]
    wait_for("the background grandchild to start", lambda: len(process_groups.members(group)) >= 4)
    os.kill(rec["pid"], signal.SIGKILL)  # the keeper first, as above: else it would end the group itself
    proc.kill()
    proc.wait(timeout=10)
    wait_for("the keeper to be gone with lanner", lambda: process_groups.start_time(rec["pid"]) is None, 5)
    try:
        assert not group_gone(group)
        kill = subprocess.run([sys.executable, "-m", "lanner", "execution", "kill", "--hard", rec["execution_id"]],
                              cwd=ROOT, env=home.env, capture_output=True, text=True, timeout=90)
        assert group_gone(group), f"`execution kill --hard` exited ({kill.returncode}) leaving group {group}:\n" \
                                  f"{kill.stderr}"
        # Ended by the hard stop, or by attempt 2 if the continuation started it before the kill arrived
        # (then the process may exit before that WARN line is printed: the line is not asserted).
        assert not marker.exists()
        assert home.records("process") == []
    finally:
        kill_group(group)


def test_docker_container_of_a_killed_run_is_removed_before_the_next_attempt(
        home: Home, tmp_path: Path, docker_engine: Any) -> None:  # noqa: F811 - the imported fixture
    import docker

    flow = write_flow(tmp_path, "boxed", f"""id: boxed
namespace: procs
tasks:
  - id: box
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    pullPolicy: NEVER
    commands: ["sleep", "{{{{ 60 - 60 * taskrun.attemptsCount }}}}"]
""")
    proc = home.run(flow)
    (rec,) = wait_for("the task's container to be recorded", lambda: home.records("container"), 60)
    container_id = rec["container_id"]
    try:
        container = docker_engine.containers.get(container_id)
        assert container.labels["lanner.taskrun"] == rec["task_run_id"]
        assert container.labels["lanner.attempt"] == "1"
        wait_for("the container to run", lambda: docker_engine.containers.get(container_id).status == "running")
        proc.kill()
        proc.wait(timeout=10)
        assert docker_engine.containers.get(container_id).status == "running", "containers do not die with us"
        exe, repo = home.continue_left_behind(rec["execution_id"])
        with pytest.raises(docker.errors.NotFound):
            docker_engine.containers.get(container_id)
        warnings = [r["message"] for r in repo.logs(exe.id, "WARN", "box")]
        assert f"Attempt 1's container {container_id[:12]} was still there; killed and removed it before " \
               "attempt 2" in warnings
        assert exe.state.current.value == "SUCCESS"
        assert home.records("container") == []
    finally:
        for c in docker_engine.containers.list(all=True, filters={"label": f"lanner.execution={rec['execution_id']}"}):
            c.remove(force=True)


def test_a_retry_first_ends_what_the_failed_attempt_left_in_the_background(tmp_path: Path) -> None:
    from tests.conftest import logs_of, run_flow

    marker = tmp_path / "M"
    pids = tmp_path / "pids"
    exe = run_flow(f"""id: retried
namespace: procs
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 2
    commands:
      - echo $PPID >> {pids}  # the shell's keeper, which leads its process group
      - sh -c '(sleep 30; echo x >> {marker}) &'
      - exit "{{{{ 1 - taskrun.attemptsCount }}}}"
""", tmp_path / "run")
    first, second = (int(line) for line in pids.read_text().split())
    try:
        run = next(r for r in exe.task_runs if r.task_id == "work")
        assert (exe.state.current.value, len(run.attempts)) == ("SUCCESS", 2)
        warnings = [r["message"] for r in logs_of(tmp_path / "run", exe.id, "work") if r["level"] == "WARN"]
        assert f"Attempt 1's process group {first} was still running; terminated it before attempt 2" in warnings
        assert group_gone(first)
        assert not marker.exists()
    finally:
        kill_group(first)
        kill_group(second)


def _own_group(tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", f"sleep 30; echo x >> {tmp_path / 'M'}"], start_new_session=True)


def test_a_record_of_another_host_is_reported_and_not_touched(tmp_path: Path) -> None:
    proc = _own_group(tmp_path)
    try:
        root = tmp_path / "attempts"
        record(root, Record("process", "elsewhere", process_groups.boot_id(), "e1", "r1", 1, pgid=proc.pid,
                            pid=proc.pid, start_time=process_groups.start_time(proc.pid)))
        said = terminate_leftovers(root, "e1", "r1")
        assert said == [f"attempt 1's process group {proc.pid} was started on host elsewhere; it is not touched "
                        "from here (stop it there if it still runs)"]
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_a_reused_pid_is_not_mistaken_for_the_recorded_group(tmp_path: Path) -> None:
    proc = _own_group(tmp_path)
    try:
        root = tmp_path / "attempts"
        started = process_groups.start_time(proc.pid)
        assert started is not None
        record(root, Record("process", socket.gethostname(), process_groups.boot_id(), "e1", "r1", 1,
                            pgid=proc.pid, pid=proc.pid, start_time=started - 1))
        assert terminate_leftovers(root, "e1", "r1") == []
        assert proc.poll() is None
        assert not (root / "r1").exists(), "the record of a group that is gone is dropped"
    finally:
        proc.kill()
        proc.wait()


def test_no_records_costs_one_directory_check(tmp_path: Path) -> None:
    assert terminate_leftovers(tmp_path / "attempts", "e1", "r1") == []
    assert not (tmp_path / "attempts").exists()
