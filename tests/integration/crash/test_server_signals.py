"""`lanner server local` and ownership: SIGTERM is a graceful stop, and at start-up it continues
only executions whose process is gone. Counted from the tasks' side effects."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from tests.integration.crash.harness import Home, Tally, flow, judge, read_lines, settle, wait_for, wait_for_line
from tests.integration.server.harness import Server


def _working(tmp_path: Path, grace: str, work: float) -> tuple[Server, dict[str, Any], Path]:
    """A server (LANNER_STOP_GRACE=`grace`) whose execution's `work` task has started; its
    `finally` task is `cleanup`. Side effects go to the returned file."""
    log = tmp_path / "effects.log"
    srv = Server(tmp_path / "home", env={"LANNER_STOP_GRACE": grace}).start()
    try:
        srv.deploy(flow(log, work=work, cleanup=0.2))
        exe = srv.run("lanner.crash", "crash", wait=False)
        wait_for_line(log, "work", "start")
    except BaseException:
        srv.stop()
        raise
    assert srv.proc is not None
    return srv, exe, log


def test_sigterm_lets_the_running_task_finish_runs_finally_and_leaves_no_process(tmp_path: Path) -> None:
    srv, exe, log = _working(tmp_path, grace="20", work=1.5)
    assert srv.proc is not None
    try:
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=60) == 0  # Lanner's handler, not uvicorn's (which died of the signal)
        output = srv.output()
    finally:
        srv.stop()
    ends = [x.task for x in read_lines(log) if x.execution == exe["id"] and x.what == "end"]
    assert ends == ["work", "cleanup"]
    assert Home(tmp_path / "home").state(exe["id"]) == "KILLED"
    assert not any(_alive(x.pid) for x in read_lines(log))
    assert "stopping: no new task starts; running tasks have 20s to finish" in output


def test_a_second_sigterm_stops_at_once_skipping_finally_and_leaves_no_process(tmp_path: Path) -> None:
    srv, exe, log = _working(tmp_path, grace="60", work=60)
    assert srv.proc is not None
    try:
        srv.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping: no new task starts" in srv.output(), 30, "the graceful stop to begin")
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=30) == 0
        output = srv.output()
    finally:
        srv.stop()
    assert "stopping now: running tasks are stopped, cleanup is skipped" in output
    lines = [x for x in read_lines(log) if x.execution == exe["id"]]
    assert [(x.task, x.what) for x in lines] == [("work", "start")]  # cut off; finally skipped
    assert not any(_alive(x.pid) for x in lines)  # its process was ended before the server exited
    home = Home(tmp_path / "home")
    assert home.state(exe["id"]) == "KILLED"
    [(data,)] = home._query("SELECT data FROM executions WHERE id = ?", exe["id"])
    assert json.loads(data)["notes"] == ["Hard kill: cleanup was skipped; these finally tasks did not run to "
                                         "completion: cleanup"]


def test_sigterm_with_a_queued_execution_still_stops_and_the_queued_one_ends_killed(tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    srv = Server(tmp_path / "home", env={"LANNER_STOP_GRACE": "0.5"}).start()
    try:
        srv.deploy(flow(log, work=30, cleanup=0.2).replace("tasks:", "concurrency: {limit: 1}\ntasks:", 1))
        running = srv.run("lanner.crash", "crash", wait=False)
        wait_for_line(log, "work", "start")
        queued = srv.run("lanner.crash", "crash", wait=False)
        assert srv.wait_state(queued["id"], {"QUEUED"})["state"]["current"] == "QUEUED"
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=30) == 0  # it used to wait for the queued execution forever
    finally:
        srv.stop()
    home = Home(tmp_path / "home")
    assert (home.state(running["id"]), home.state(queued["id"])) == ("KILLED", "KILLED")
    done = [(x.task, x.what) for x in read_lines(log) if x.execution == running["id"]]
    assert done == [("work", "start"), ("cleanup", "start"), ("cleanup", "end")]  # cut after the grace; finally ran
    assert not [x for x in read_lines(log) if x.execution == queued["id"]]  # nothing of it ran


def test_a_server_continues_at_start_up_an_execution_whose_run_was_sigkilled(tmp_path: Path) -> None:
    home, log = Home(tmp_path / "home"), tmp_path / "effects.log"
    flow_file = tmp_path / "f.yaml"
    flow_file.write_text(flow(log, work=0.2, cleanup=1.0))
    proc = home.popen("run", str(flow_file), "-q")
    wait_for_line(log, "cleanup", "start")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    eid = next(iter(home.execution_ids()))
    srv = Server(tmp_path / "home").start()
    try:
        assert eid in srv.client.get("/configs").json()["resumedExecutions"]
        assert srv.wait_state(eid, timeout=30)["state"]["current"] == "SUCCESS"
    finally:
        srv.stop()
    settle(log, eid, timeout=10)
    tally = Tally()
    judge(read_lines(log), tally, eid)
    assert (tally.finally_1, tally.overlapping, tally.finished_rerun, tally.cut_off_rerun) == (1, 0, 0, 1), tally


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

