"""A cluster worker SIGKILLed after its task's command exited: the next worker on the same host adopts the command's
note (same home and storage) instead of running it again.

Real roles on PostgreSQL. The task's command writes its side effect, SIGSTOPs its worker (whose pid
the test writes to a file) and exits; the test SIGKILLs the stopped worker and starts another one.
Judged from the side-effect file and the API, as a user would see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.forkserver import ForkServer
from tests.integration.cluster.processes import RoleProcess, role_env, serving, wait_for
from tests.integration.test_command_keeper import exited, window_flow

FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}


@pytest.fixture
def roles(postgres_url: str, tmp_path: Path, forks: ForkServer) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    env = role_env(postgres_url, tmp_path / "home", **FAST)
    with serving(env, tmp_path, "executor", forks=forks) as client:  # workers are the test's to start and kill
        yield client, env


def test_a_job_handed_back_after_its_command_finished_is_adopted_by_the_next_worker(
        roles: tuple[httpx.Client, dict[str, str]], tmp_path: Path, forks: ForkServer) -> None:
    api, env = roles
    effects, pidfile = tmp_path / "effects", tmp_path / "worker.pid"
    response = api.post("/flows", content=window_flow(effects, pidfile, "tasks"),
                        headers={"Content-Type": "application/x-yaml"})
    assert response.status_code == 200, response.text
    first = RoleProcess("worker", env, tmp_path, forks=forks).start()
    pidfile.write_text(str(first.pid))
    second = RoleProcess("worker", env, tmp_path, forks=forks)
    try:
        started = api.post("/executions/lanner.keeper/window").json()
        wait_for(lambda: effects.exists() and effects.read_text().strip(), 60, "the side effect")
        line = effects.read_text().splitlines()[0]
        wait_for(lambda: exited(int(line.split()[2])), 30, "the command to stop its worker and exit")
        first.kill()
        second.start()

        wait_for(lambda: api.get(f"/executions/{started['id']}").json()["state"]["current"] == "SUCCESS", 60,
                 "the execution to succeed")

        lines = effects.read_text().splitlines()
        assert [x for x in lines if x.startswith("work")] == [line], "the finished command ran again"
        assert "after hello" in lines
        logs = [r["message"] for r in api.get(f"/logs/{started['id']}").json()]
        assert any(m.startswith("Attempt 1's command had finished (exit code 0)") for m in logs), logs
    finally:
        first.kill()
        second.stop()
