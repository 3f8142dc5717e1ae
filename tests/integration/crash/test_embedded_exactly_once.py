"""Cleanup exactly once on the embedded runtime, against real crashes, signals and second processes.

Every count comes from the side effects the tasks leave in a file (see harness.py), never from
the store: this is what a user would see happen.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.forkserver import ForkServer
from tests.integration.crash.harness import (
    Home,
    Tally,
    continue_to_end,
    crash_once,
    effect,
    flow,
    judge,
    read_lines,
    settle,
    wait_for,
    wait_for_line,
)

pytestmark = pytest.mark.slow


def start_run(home: Home, log: Path, work: float, cleanup: float) -> tuple[subprocess.Popen[str], str]:
    flow_file = home.root / "f.yaml"
    flow_file.write_text(flow(log, work, cleanup))
    before = home.execution_ids()
    proc = home.popen("run", str(flow_file), "-q")
    new = wait_for(lambda: home.execution_ids() - before, 30, "the execution to be stored")
    return proc, next(iter(new))


def test_sigkill_during_a_finally_task_then_continue_runs_cleanup_once(tmp_path: Path, store_url: str | None,
                                                                       forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", store_url, forks), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=0.1, cleanup=1.0)
    wait_for_line(log, "cleanup", "start")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert continue_to_end(home, eid) == "SUCCESS"
    settle(log, eid, timeout=10)
    tally = Tally()
    judge(read_lines(log), tally, eid)
    assert (tally.finally_1, tally.overlapping, tally.finished_rerun) == (1, 0, 0), tally


def test_a_continued_execution_ends_success_when_its_tasks_succeed(tmp_path: Path) -> None:
    """Through fresh `python -m lanner` interpreters, the way a user runs it (no fork server)."""
    home, log = Home(tmp_path / "home"), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=1.0, cleanup=0.1)
    wait_for_line(log, "work", "start")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    listing = home.run("executions")
    assert "(left behind)" in listing.stdout and "lanner execution continue ID" in listing.stdout
    assert continue_to_end(home, eid) == "SUCCESS"


def test_a_server_started_beside_a_live_run_does_not_take_its_execution(tmp_path: Path, store_url: str | None,
                                                                         forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", store_url, forks), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=2.0, cleanup=0.2)
    wait_for_line(log, "work", "start")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = home.popen("server", "local", "--port", str(port))
    try:
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    lines = [x for x in read_lines(log) if x.execution == eid]
    assert sorted((x.task, x.what) for x in lines) == [("cleanup", "end"), ("cleanup", "start"),
                                                       ("work", "end"), ("work", "start")]


def test_kill_waits_for_a_stopped_owner_instead_of_taking_over(tmp_path: Path, store_url: str | None,
                                                                forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", store_url, forks), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=3.0, cleanup=0.2)
    wait_for_line(log, "work", "start")
    os.killpg(proc.pid, signal.SIGSTOP)  # Ctrl-Z: the owner is alive but does nothing
    killer = home.popen("execution", "kill", eid)
    try:
        wait_for(lambda: b"waiting for process" in _peek(killer), 30, "the kill to say it waits")
        assert killer.poll() is None  # it did not take the execution over
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    out, err = killer.communicate(timeout=60)
    assert killer.returncode == 0, err
    proc.communicate(timeout=60)
    assert home.state(eid) == "KILLED"
    settle(log, eid, timeout=10)
    tally = Tally()
    judge(read_lines(log), tally, eid)
    assert tally.finally_1 == 1 and tally.overlapping == 0, tally


def test_sigterm_stops_a_kill_waiting_for_its_owner_and_the_kill_stays_queued(tmp_path: Path,
                                                                              store_url: str | None) -> None:
    home, log = Home(tmp_path / "home", store_url), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=3.0, cleanup=0.2)
    wait_for_line(log, "work", "start")
    os.killpg(proc.pid, signal.SIGSTOP)
    killer = home.popen("execution", "kill", eid)
    try:
        wait_for(lambda: b"waiting for process" in _peek(killer), 30, "the kill to say it waits")
        killer.send_signal(signal.SIGTERM)
        _, err = killer.communicate(timeout=30)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    assert killer.returncode == 0
    assert "kill: still queued; it is carried out when that process takes it" in err
    proc.communicate(timeout=60)
    assert home.state(eid) == "KILLED"  # the owner took the queued kill once continued
    settle(log, eid, timeout=10)
    tally = Tally()
    judge(read_lines(log), tally, eid)
    assert tally.finally_1 == 1 and tally.overlapping == 0, tally


def _peek(proc: subprocess.Popen[str]) -> bytes:
    """What a process printed so far on stderr, without blocking."""
    import fcntl

    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    _SEEN[proc.pid] = _SEEN.get(proc.pid, b"") + chunk
    return _SEEN[proc.pid]


_SEEN: dict[int, bytes] = {}  # per process: one test's output must not satisfy the next test's wait


def test_sigterm_lets_the_running_task_finish_then_runs_finally(tmp_path: Path, forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", forks=forks), tmp_path / "effects.log"
    proc, eid = start_run(home, log, work=1.0, cleanup=0.2)
    wait_for_line(log, "work", "start")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert home.state(eid) == "KILLED"
    tally = Tally()
    judge(read_lines(log), tally, eid)
    ends = [x.task for x in read_lines(log) if x.execution == eid and x.what == "end"]
    assert ends == ["work", "cleanup"]  # the running task finished within the grace; cleanup ran once


def test_sigterm_cancels_a_task_that_outlasts_the_grace_period_and_still_cleans_up(tmp_path: Path,
                                                                                   forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", forks=forks), tmp_path / "effects.log"
    home.env["LANNER_STOP_GRACE"] = "0.5"
    proc, eid = start_run(home, log, work=30.0, cleanup=0.2)
    wait_for_line(log, "work", "start")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert home.state(eid) == "KILLED"
    ends = [x.task for x in read_lines(log) if x.execution == eid and x.what == "end"]
    assert ends == ["cleanup"]


def test_sigkills_at_random_moments_inside_tasks_never_run_cleanup_twice(tmp_path: Path, forks: ForkServer) -> None:
    home, log = Home(tmp_path / "home", forks=forks), tmp_path / "effects.log"
    rng = random.Random(int(os.environ.get("LANNER_CHAOS_SEED", "7")))
    tally = Tally()
    while tally.crash_points < 8 and tally.executions < 16:  # a process may end before its crash point
        crash_once(home, log, rng, tally, work=0.3, cleanup=0.3, mode="mid_task")
    assert tally.crash_points >= 8
    assert (tally.lost, tally.stuck, tally.finally_0, tally.finally_2, tally.overlapping,
            tally.finished_rerun) == (0, 0, 0, 0, 0, 0), tally.as_dict()
    assert tally.finally_1 == tally.executions


def test_a_result_kept_before_a_crash_is_applied_not_run_again(tmp_path: Path, forks: ForkServer) -> None:
    """The crash between a task's end and the loop's write lasts microseconds: too short to hit with
    a signal reliably, so this test stores the state such a crash leaves (a RUNNING task run whose
    attempt's result was kept) through the real runtime and store, then continues it for real."""
    from lanner.loading.flows import load_flow
    from lanner.model.results import WorkerResult
    from lanner.model.state import StateType
    from lanner.runtime.catalog import FlowCatalog
    from lanner.runtime.local import LocalRuntime
    from lanner.storage import db
    from lanner.storage.files import LocalFiles
    from lanner.storage.repository import Repository

    home, log = Home(tmp_path / "home", forks=forks), tmp_path / "effects.log"
    repo = Repository(db.open_embedded(home.root / "lanner.db"))
    files = LocalFiles(home.root / "storage")
    runtime = LocalRuntime(repo, files, catalog=FlowCatalog(repo))
    f = load_flow(flow(log, 0.1, 0.1), file="f.yaml")
    exe = runtime.create(f, {})
    from lanner.engine.executor import Executor
    from lanner.runtime.host import HOST

    executor = Executor(f, exe, surroundings=HOST)
    effects = executor.start()
    run = effects.dispatch[0]
    repo.save(exe, effects.runs.values(), fence=(runtime.me.id, 1))
    repo.save_result(WorkerResult(exe.id, run.id, 1, StateType.SUCCESS, {"exitCode": 0}))
    runtime.close()  # the process "died" here: the result is kept, the task run still RUNNING
    assert continue_to_end(home, exe.id) == "SUCCESS"
    ran = [(x.task, x.what) for x in read_lines(log) if x.execution == exe.id]
    assert ("work", "start") not in ran  # the finished attempt was not run again
    assert ran == [("cleanup", "start"), ("cleanup", "end")]


def test_sigkill_while_a_pause_waits_with_its_on_pause_running_then_continue_ends_it_by_its_timeout(
        tmp_path: Path, forks: ForkServer) -> None:
    """The process dies while a Pause waits and its `onPause` runs: the continuation runs the cut-off
    `onPause` once more, ends the Pause by its timeout although the timer died with the process,
    and runs the Pause's `finally` once."""
    home, log = Home(tmp_path / "home", None, forks), tmp_path / "effects.log"
    on_pause = effect("notify", log, 1.0).replace("\n    ", "\n      ").replace("\n  - id:", "\n      id:")
    cleanup = effect("cleanup", log, 0.1).replace("\n", "\n    ")
    flow_file = home.root / "paused.yaml"
    flow_file.write_text("id: paused\nnamespace: lanner.crash\ntasks:\n  - id: wait\n"
                         "    type: io.kestra.plugin.core.flow.Pause\n    timeout: PT2S\n"
                         f"    onPause:{on_pause}    finally:{cleanup}")
    proc = home.popen("run", str(flow_file), "-q")
    wait_for_line(log, "notify", "start")
    eid = next(iter(home.execution_ids()))
    assert home.state(eid) == "PAUSED"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert continue_to_end(home, eid) == "FAILED"
    settle(log, eid, timeout=10)
    tally = Tally()
    judge(read_lines(log), tally, eid, main_task="notify")
    assert (tally.finally_1, tally.main_twice, tally.overlapping, tally.finished_rerun) == (1, 0, 0, 0), tally
    assert [(x.task, x.what) for x in read_lines(log) if x.what == "end"] == [("notify", "end"), ("cleanup", "end")]
