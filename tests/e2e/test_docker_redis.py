"""The seed's dockerRedis flow through `lanner run`, on a real Docker engine and a real Redis.

`finally` must stop the container whether the flow succeeds, fails, or is killed mid-way; each
test checks that through the engine itself.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXAMPLES, Cli, states

FLOW = EXAMPLES / "docker_redis.yaml"


@pytest.fixture
def engine() -> Any:
    from tests.integration.plugins.conftest import _unavailable

    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.images.get("redis:latest")
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        _unavailable(f"no Docker engine with the `redis` image ({type(exc).__name__}); run `bash .ci/docker-setup.sh`")
    yield client
    client.close()


def container_state(engine: Any, container_id: str) -> str:
    """`gone` once removed, else the engine's status (running, exited, …)."""
    import docker

    try:
        return str(engine.containers.get(container_id).status)
    except docker.errors.NotFound:
        return "gone"


def started_container(exe: dict[str, Any]) -> str:
    start = next(r for r in exe["taskRunList"] if r["taskId"] == "start")
    return str(start["outputs"]["taskRunner"]["containerId"])


def test_the_seed_flow_succeeds_and_finally_stops_the_container(cli: Cli, engine: Any) -> None:
    code, exe = cli.run_json(str(FLOW))
    # The seed waits one second for Redis to listen: on a machine loaded enough that it does not
    # yet, `set` fails; the logs say so (it failed once while two test runs shared the machine).
    assert code == 0, (states(exe), cli("logs", exe["id"]).stdout[-3000:])
    assert exe["state"]["current"] == "SUCCESS"
    assert set(states(exe).values()) == {"SUCCESS"}
    assert list(states(exe)) == ["start", "sleep", "set", "get", "assert", "delete", "getAfterDelete",
                                 "assertAfterDelete", "stop"]
    assert container_state(engine, started_container(exe)) == "gone"


def test_a_failing_set_still_stops_the_container(cli: Cli, engine: Any, tmp_path: Path) -> None:
    broken = tmp_path / "docker_redis_wrong_password.yaml"
    broken.write_text(FLOW.read_text().replace("redis://:redis@{{vars.host}}:16379/0\"\n    key: \"key_string_"
                                               "{{execution.id}}\"\n    value",
                                               "redis://:wrong@{{vars.host}}:16379/0\"\n    key: \"key_string_"
                                               "{{execution.id}}\"\n    value", 1))
    assert broken.read_text() != FLOW.read_text()
    code, exe = cli.run_json(str(broken))
    assert code == 1
    assert states(exe) == {"start": "SUCCESS", "sleep": "SUCCESS", "set": "FAILED", "stop": "SUCCESS"}
    assert exe["state"]["current"] == "FAILED"
    assert container_state(engine, started_container(exe)) == "gone"
    logs = cli("logs", exe["id"], "--task", "set").stdout
    assert "password" in logs and ":wrong@" not in logs  # one clear sentence, password masked


def test_killing_the_run_mid_sleep_still_stops_the_container(cli: Cli, engine: Any, tmp_path: Path) -> None:
    slow = tmp_path / "docker_redis_slow.yaml"
    slow.write_text(FLOW.read_text().replace("duration: PT1S", "duration: PT60S"))
    proc = cli.popen("run", str(slow), "--json")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the container is up and the flow sleeps
        listed = cli("executions", "--json").stdout
        rows = json.loads(listed) if listed.strip() else []
        if rows and rows[0]["state"] == "RUNNING":
            shown = json.loads(cli("execution", "show", rows[0]["id"], "--json").stdout)
            if any(r["taskId"] == "sleep" and r["state"]["current"] == "RUNNING" for r in shown["taskRunList"]):
                break
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    exe = json.loads(out)
    assert proc.returncode == 1
    assert exe["state"]["current"] == "KILLED"
    assert states(exe)["sleep"] == "KILLED" and states(exe)["stop"] == "SUCCESS"
    assert "set" not in states(exe)
    assert container_state(engine, started_container(exe)) == "gone"


PRINTED = EXAMPLES / "docker_redis_as_printed.yaml"


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return int(probe.getsockname()[1])


def test_the_printed_seed_flow_runs_unchanged_but_for_a_taken_port(cli: Cli, engine: Any, tmp_path: Path) -> None:
    """The seed prints `host.docker.internal:6379`; on a Linux host that name does not resolve and
    means the host itself. Only the port changes, and only where 6379 is taken (a machine's own Redis)."""
    text = PRINTED.read_text()
    flow = PRINTED
    if _port_taken(6379):
        port = _free_port()
        flow = tmp_path / "docker_redis_other_port.yaml"
        flow.write_text(text.replace('"6379:6379"', f'"{port}:6379"').replace(":6379/0", f":{port}/0"))
    code, exe = cli.run_json(str(flow))
    assert code == 0, (exe["state"], cli("logs", exe["id"]).stdout)
    assert set(states(exe).values()) == {"SUCCESS"}
    assert container_state(engine, started_container(exe)) == "gone"
    said = cli("logs", exe["id"], "--task", "set", "--level", "DEBUG").stdout
    from tests.integration.plugins.conftest import resolves

    if not resolves("host.docker.internal"):
        assert "`host.docker.internal` does not resolve on this machine" in said, said
