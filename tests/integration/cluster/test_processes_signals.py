"""Signals to real worker processes on PostgreSQL, judged by what the tasks did (a ledger file).

- SIGTERM: the worker takes no new work and lets its running attempt finish, then exits 0.
- SIGTERM with an attempt running past the grace period: the attempt is stopped, and only once
  its process is gone handed back to another worker, which runs it again (never two at once).
- SIGSTOP: a stopped worker is silent, but on this machine its process is seen alive, so its
  attempt is not handed to anyone; continued, it finishes the attempt, which ran once.
- `standalone` and `webserver` (uvicorn inside): the same words and stops as the other roles —
  Lanner's handlers, not uvicorn's, decide what a first and a second signal mean.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.forkserver import alive
from tests.integration.cluster import ledger
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for

FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}


def flow(book: Path, seconds: float) -> str:
    return "id: signals\nnamespace: lanner.signals\ntasks:\n" + ledger.shell_task("work", book, seconds)


class Setup:
    def __init__(self, url: str, tmp: Path, **env: str) -> None:
        from lanner.runtime.cluster_client import ClusterClient
        from lanner.runtime.queues.database import QueueDatabase

        self.env = role_env(url, tmp / "home", **FAST, **env)
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.book = tmp / "ledger.txt"
        self.db = QueueDatabase(url)
        self.client = ClusterClient(self.db)
        self.procs: list[RoleProcess] = []

    def role(self, name: str, *args: str) -> RoleProcess:
        proc = RoleProcess(name, self.env, self.logs, *args).start()
        self.procs.append(proc)
        return proc

    def workers_registered(self, n: int) -> None:
        import sqlalchemy as sa

        def enough() -> bool:
            with self.db.reader.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM workers")).scalar() or 0) >= n

        wait_for(enough, 30, f"{n} worker(s) to register")

    def attempts(self, execution_id: str) -> list[ledger.Attempt]:
        return ledger.read(self.book).get((execution_id, "work"), [])

    def close(self) -> None:
        for p in self.procs:
            p.stop()
        self.db.close()


@pytest.fixture
def setup(postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    extra: dict[str, str] = getattr(request, "param", {})
    s = Setup(postgres_url, tmp_path, **extra)
    try:
        yield s
    except BaseException:
        for p in s.procs:
            print(p.output())
        raise
    finally:
        s.close()


def _start(setup: Setup, seconds: float) -> str:
    from lanner.loading.flows import load_flow

    eid = setup.client.start(load_flow(flow(setup.book, seconds))).id
    wait_for(lambda: setup.attempts(eid), 30, "the attempt to start")
    return eid


def _ended(setup: Setup, eid: str) -> Any:
    wait_for(lambda: (e := setup.client.get(eid)) is not None and e.state.current.terminated, 30,
             "the execution to end")
    return setup.client.get(eid)


@pytest.mark.slow
def test_sigterm_lets_the_running_attempt_finish_then_the_worker_exits(setup: Setup) -> None:
    setup.role("executor")
    worker = setup.role("worker")
    setup.workers_registered(1)
    eid = _start(setup, 1.5)
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=30) == 0
    [attempt] = setup.attempts(eid)
    assert attempt.end is not None  # it finished before the worker left
    exe = _ended(setup, eid)
    assert exe.state.current.value == "SUCCESS"
    assert [a.state.current.value for a in exe.task_runs[0].attempts] == ["SUCCESS"]


@pytest.mark.slow
@pytest.mark.parametrize("setup", [{"LANNER_STOP_GRACE": "0.5"}], indirect=True)
def test_an_attempt_running_past_the_grace_period_is_handed_back_once_its_process_is_gone(setup: Setup) -> None:
    setup.role("executor")
    first = setup.role("worker")
    setup.workers_registered(1)
    eid = _start(setup, 4)
    second = setup.role("worker")
    setup.workers_registered(2)
    assert first.proc is not None
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=30) == 0
    wait_for(lambda: len(setup.attempts(eid)) == 2, 30, "a second attempt")
    cut, again = setup.attempts(eid)
    assert cut.end is None and not alive(cut.pid)  # stopped, and gone before the next attempt started
    assert again.worker == second.pid
    exe = _ended(setup, eid)
    assert exe.state.current.value == "SUCCESS"
    assert [a.state.current.value for a in exe.task_runs[0].attempts] == ["FAILED", "SUCCESS"]
    assert [a.index for a in setup.attempts(eid) if a.end is not None] == [again.index]


@pytest.mark.slow
def test_a_stopped_worker_keeps_its_attempt_and_finishes_it_once_continued(setup: Setup) -> None:
    executor = setup.role("executor")
    stopped = setup.role("worker")
    setup.workers_registered(1)
    eid = _start(setup, 0.5)
    bystander = setup.role("worker")
    setup.workers_registered(2)
    assert stopped.pid is not None
    os.kill(stopped.pid, signal.SIGSTOP)
    try:  # the reaper saw it silent past deadAfter, and alive
        wait_for(lambda: "is alive (stopped or busy)" in executor.output(), 30, "the reaper to pass over it")
        assert len(setup.attempts(eid)) == 1
        assert bystander.running
    finally:
        os.kill(stopped.pid, signal.SIGCONT)
    exe = _ended(setup, eid)
    assert exe.state.current.value == "SUCCESS"
    assert [a.state.current.value for a in exe.task_runs[0].attempts] == ["SUCCESS"]
    [attempt] = setup.attempts(eid)
    assert attempt.worker == stopped.pid and attempt.end is not None


def _web(setup: Setup, name: str) -> RoleProcess:
    """A `standalone` or `webserver` process, once it answers HTTP."""
    import httpx

    from tests.integration.server.harness import free_port

    port = free_port()
    proc = setup.role(name, "--port", str(port))

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, 30, f"{name} to answer")
    return proc


def _standalone_working(setup: Setup, seconds: float) -> tuple[RoleProcess, str]:
    """A standalone process running the attempt of a new execution (`seconds` long); SIGTERM sent."""
    server = _web(setup, "standalone")
    setup.workers_registered(1)
    eid = _start(setup, seconds)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return server, eid


@pytest.mark.slow
@pytest.mark.parametrize("setup", [{"LANNER_STOP_GRACE": "20"}], indirect=True)
def test_standalone_on_sigterm_lets_the_running_attempt_finish_then_exits(setup: Setup) -> None:
    server, eid = _standalone_working(setup, 1.5)
    assert server.proc is not None
    assert server.proc.wait(timeout=40) == 0  # uvicorn's handler would have re-raised SIGTERM (-15)
    [attempt] = setup.attempts(eid)
    assert attempt.end is not None  # it finished before the process left
    assert "stopping: running tasks get 20s to finish, then go back to other workers" in server.output()


@pytest.mark.slow
@pytest.mark.parametrize("setup", [{"LANNER_STOP_GRACE": "60"}], indirect=True)
def test_standalone_on_a_second_signal_stops_the_attempt_at_once_and_hands_it_back(setup: Setup) -> None:
    server, eid = _standalone_working(setup, 2)
    assert server.proc is not None
    wait_for(lambda: "stopping: running tasks get" in server.output(), 30, "the graceful stop to begin")
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0  # well before the 60 s grace period
    assert "stopping now: running tasks are stopped and handed back" in server.output()
    [cut] = setup.attempts(eid)
    assert cut.end is None and not alive(cut.pid)  # stopped, and its process gone before the server exited
    again = _web(setup, "standalone")  # the attempt was handed back: it runs again, once
    exe = _ended(setup, eid)
    assert exe.state.current.value == "SUCCESS"
    assert [a.state.current.value for a in exe.task_runs[0].attempts] == ["FAILED", "SUCCESS"]
    assert [a.worker for a in setup.attempts(eid)] == [server.proc.pid, again.pid]


@pytest.mark.slow
def test_a_webserver_stops_on_sigterm_with_lanners_words_and_exit_status(setup: Setup) -> None:
    server = _web(setup, "webserver")
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    assert "stopping: no new work is taken (signal again to stop at once)" in server.output()
