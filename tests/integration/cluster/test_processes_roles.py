"""Each role as its own process on PostgreSQL: `lanner db upgrade`, then a webserver, an executor,
a worker and a scheduler serving the REST API, kills, Schedule and Flow triggers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.forkserver import ForkServer
from tests.integration.cluster.databases import PostgresDatabases
from tests.integration.cluster.processes import ROOT, role_env, serving, wait_for

FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}


def test_db_upgrade_creates_then_reports_the_schema(postgres_databases: PostgresDatabases, tmp_path: Path) -> None:
    name = postgres_databases._create(f"{postgres_databases.prefix}_empty", None)
    env = role_env(postgres_databases.url_of(name), tmp_path / "home")

    def upgrade() -> str:
        out = subprocess.run([sys.executable, "-m", "lanner", "db", "upgrade"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    from lanner.storage.db import HEAD_REVISION

    assert f"upgraded from empty to revision {HEAD_REVISION}" in upgrade()
    assert f"already at revision {HEAD_REVISION}" in upgrade()


@pytest.fixture
def api(postgres_url: str, tmp_path: Path, forks: ForkServer) -> Iterator[httpx.Client]:
    with serving(role_env(postgres_url, tmp_path / "home", **FAST), tmp_path, "executor", "worker",
                 "scheduler", forks=forks) as client:
        yield client


def _deploy(api: httpx.Client, text: str) -> None:
    r = api.post("/flows", content=text, headers={"Content-Type": "application/x-yaml"})
    assert r.status_code == 200, r.text


def _wait(api: httpx.Client, execution_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    exe: dict = {}
    while time.monotonic() < deadline:
        exe = api.get(f"/executions/{execution_id}").json()
        if exe["state"]["current"] in ("SUCCESS", "WARNING", "FAILED", "KILLED") and all(
                r["state"]["current"] in ("SUCCESS", "WARNING", "FAILED", "KILLED", "SKIPPED")
                for r in exe["taskRunList"]):
            return exe
        time.sleep(0.1)
    raise AssertionError(f"execution {execution_id} did not end: {exe.get('state')}")


def test_api_executions_kill_and_triggers_across_processes(api: httpx.Client) -> None:
    _deploy(api, """
id: work
namespace: roles
tasks:
  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT20S}
finally:
  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}
""")
    _deploy(api, """
id: quick
namespace: roles
tasks:
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ execution.id }}"}
""")
    done = api.post("/executions/roles/quick", params={"wait": "true"}).json()
    assert done["state"]["current"] == "SUCCESS", done
    started = api.post("/executions/roles/work").json()
    wait_for(lambda: any(r["state"]["current"] == "RUNNING" for r in api.get(f"/executions/{started['id']}").json()
                         ["taskRunList"]), 10, "a task run RUNNING on a worker")
    assert api.delete(f"/executions/{started['id']}/kill").status_code == 202
    killed = _wait(api, started["id"])
    assert killed["state"]["current"] == "KILLED"
    assert [(r["taskId"], r["state"]["current"]) for r in killed["taskRunList"]] == [
        ("s", "KILLED"), ("fin", "SUCCESS")]
    _deploy(api, """
id: downstream
namespace: roles
tasks: [{id: t, type: io.kestra.plugin.core.log.Log, message: "after {{ trigger.executionId }}"}]
triggers:
  - id: on_quick
    type: io.kestra.plugin.core.trigger.Flow
    conditions: [{type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: roles, flowId: quick}]
""")
    _deploy(api, """
id: ticking
namespace: roles
tasks: [{id: t, type: io.kestra.plugin.core.log.Log, message: tick}]
triggers:
  - {id: every_second, type: io.kestra.plugin.core.trigger.Schedule, cron: "* * * * * *", withSeconds: true}
""")
    time.sleep(3)  # the active scheduler picks saved flows up within its refresh interval
    api.post("/executions/roles/quick", params={"wait": "true"})

    def fired(flow_id: str) -> bool:
        return bool(api.get("/executions/search", params={"namespace": "roles", "flowId": flow_id}).json()["results"])

    wait_for(lambda: fired("ticking"), 15, "the Schedule trigger to fire")
    wait_for(lambda: fired("downstream"), 15, "the Flow trigger to fire")
