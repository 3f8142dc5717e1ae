"""A Schedule backfill on PostgreSQL with each role its own process: the webserver stores the
backfill, the scheduler role (another process) runs it; the scheduler is SIGKILLed in the middle
and a new one takes the lease over: every date of the range runs exactly once, oldest first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.forkserver import ForkServer
from tests.integration.cluster.processes import RoleProcess, role_env, wait_for
from tests.integration.server.harness import free_port

FAST = {"LANNER_WORKER_HEARTBEAT": "0.25", "LANNER_WORKER_DEAD_AFTER": "1.5", "LANNER_POLL": "0.5"}
FLOW = """id: nightly
namespace: roles.bf
inputs:
  - {id: region, type: STRING, defaults: none}
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: "{{ inputs.region }} {{ trigger.date }}"}
triggers:
  - {id: every_minute, type: io.kestra.plugin.core.trigger.Schedule, cron: "* * * * *"}
"""
KEY = {"namespace": "roles.bf", "flowId": "nightly", "triggerId": "every_minute"}


def _context(api: httpx.Client) -> dict[str, Any]:
    [row] = api.get("/triggers/search", params={"flowId": "nightly"}).json()["results"]
    return row["triggerContext"]


def _backfilled(api: httpx.Client) -> list[dict[str, Any]]:
    """The backfill's executions, oldest first (the live schedule fires beside it, unlabelled)."""
    exes = api.get("/executions/search", params={"flowId": "nightly", "size": 1000, "sort": "startDate:asc"}).json()
    return [e for e in exes["results"] if {"key": "backfilled", "value": "true"} in e["labels"]]


@pytest.mark.slow
def test_a_backfill_outlives_a_killed_scheduler_and_runs_each_date_once(postgres_url: str, tmp_path: Path,
                                                                         forks: ForkServer) -> None:
    env = role_env(postgres_url, tmp_path / "home", **FAST)
    port = free_port()
    web = RoleProcess("webserver", env, tmp_path, "--port", str(port), forks=forks).start()
    others = [RoleProcess(role, env, tmp_path, forks=forks).start() for role in ("executor", "worker")]
    scheduler = RoleProcess("scheduler", env, tmp_path, forks=forks).start()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
    procs = [web, *others, scheduler]
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, 30, "the webserver")
        assert api.post("/flows", content=FLOW, headers={"Content-Type": "application/x-yaml"}).status_code == 200
        start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=90)
        end = start + dt.timedelta(minutes=5)
        r = api.put("/triggers", json={**KEY, "backfill": {"start": start.isoformat(), "end": end.isoformat(),
                                                           "inputs": {"region": "eu"},
                                                           "labels": {"backfilled": "true"}}})
        assert r.status_code == 200 and r.json()["backfill"]["total"] == 6, r.text
        wait_for(lambda: (_context(api)["backfill"] or {}).get("fired", 0) >= 3, 60, "three backfilled dates")
        scheduler.kill()  # SIGKILL mid-backfill; its lease runs out, a new scheduler takes over
        scheduler.start()
        wait_for(lambda: _context(api)["lastBackfill"] is not None, 90, "the backfill to end")
        last = _context(api)["lastBackfill"]
        assert (last["outcome"], last["fired"], last["total"]) == ("done", 6, 6)
        expected = [(start + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(6)]
        exes = _backfilled(api)
        assert [e["trigger"]["variables"]["date"] for e in exes] == expected  # none twice, none skipped, in order
        assert all(e["inputs"] == {"region": "eu"} for e in exes)
    except BaseException:
        for p in procs:
            print(p.output())
        raise
    finally:
        for p in procs:
            p.stop()
