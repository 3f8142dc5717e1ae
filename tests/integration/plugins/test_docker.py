"""`io.kestra.plugin.docker.Run` / `Stop` against the real Docker engine, through whole flows.

Every test runs a flow with `run_flow` (in-process runtime, SQLite) and then asks the engine
itself, through the docker SDK, what became of the containers: a container the flow started
must be running when the flow means it to, and gone when a Stop, a kill or a timeout ended it.
Only the local images `lanner-busybox` and `redis` are used, with the IF_NOT_PRESENT / NEVER
pull policies: nothing is ever pulled (there is no registry here). Host port 6379 belongs to
the machine's own Redis, so port bindings ask for a random port on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import files_of, logs_of, run_flow
from tests.integration.plugins.conftest import BUSYBOX, REDIS, Containers


def run_tracked(containers: Containers, yaml_text: str, tmp_path: Path, inputs: dict[str, Any] | None = None,
                **kwargs: Any) -> Any:
    """`run_flow`, then register the execution so the `containers` fixture removes what it left running."""
    exe = run_flow(yaml_text, tmp_path, inputs, **kwargs)
    containers.of(exe.id)
    return exe


def states(exe: Any) -> dict[str, str]:
    return {r.task_id: r.current.value for r in exe.task_runs}


def outputs(exe: Any, task_id: str) -> dict[str, Any]:
    return next(r.outputs for r in exe.task_runs if r.task_id == task_id)


def lines(tmp_path: Path, exe: Any, task_id: str, level: str | None = None) -> list[str]:
    return [row["message"] for row in logs_of(tmp_path, exe.id, task_id) if level is None or row["level"] == level]


def gone(client: Any, container_id: str) -> bool:
    import docker

    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return True
    return False


def redis_ping(port: int, deadline: float = 3.0) -> bytes:
    """AUTH + PING over a raw socket (no client library needed); retries while Redis starts."""
    end = time.monotonic() + deadline
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"AUTH redis\r\nPING\r\n")
                data = b""
                while data.count(b"\r\n") < 2:
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    data += chunk
                if data.count(b"\r\n") >= 2:
                    return data
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError(f"Redis on 127.0.0.1:{port} did not answer")
        time.sleep(0.1)  # poll interval of a deadline-bounded wait on a positive signal


# -- Run, waited ------------------------------------------------------------------------------


def test_waited_run_streams_logs_reports_exit_code_and_outputs(tmp_path: Path, docker_engine: Any,
                                                               containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: docker_wait
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    pullPolicy: NEVER
    env:
      GREETING: "hello from {{{{ flow.id }}}}"
    commands:
      - sh
      - -c
      - |
        echo "$GREETING"
        echo "to stderr" >&2
        sleep 1
        echo '::{{"outputs": {{"answer": 42, "word": "yes"}}}}::'
        echo second line
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "answer={{{{ outputs.run.vars.answer }}}} id={{{{ outputs.run.taskRunner.containerId }}}}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    out = outputs(exe, "run")
    assert out["exitCode"] == 0
    assert out["vars"] == {"answer": 42, "word": "yes"}
    container_id = out["taskRunner"]["containerId"]
    assert len(container_id) == 64
    assert lines(tmp_path, exe, "use") == [f"answer=42 id={container_id}"]

    rows = logs_of(tmp_path, exe.id, "run")
    info = [r for r in rows if r["level"] == "INFO"]
    assert [r["message"] for r in info] == ["hello from docker_wait", "second line"]  # the protocol line is not a log
    assert "to stderr" in lines(tmp_path, exe, "run", "WARN")
    # Streamed as they came, not collected at the end: the sleep separates the two lines.
    stamps = [dt.datetime.fromisoformat(str(r["timestamp"])) for r in info]
    assert (stamps[1] - stamps[0]).total_seconds() >= 0.5
    assert gone(docker_engine, container_id), "a waited container is removed once it has exited"


def test_nonzero_exit_fails_the_task_and_keeps_the_exit_code(tmp_path: Path, docker_engine: Any,
                                                             containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: docker_exit
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    commands: [sh, -c, "echo partial work; exit 3"]
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: not reached
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    assert states(exe) == {"run": "FAILED"}
    out = outputs(exe, "run")
    assert out["exitCode"] == 3
    assert "partial work" in lines(tmp_path, exe, "run", "INFO")
    assert any("exit code 3" in m for m in lines(tmp_path, exe, "run", "ERROR"))
    assert gone(docker_engine, out["taskRunner"]["containerId"])


def test_container_options_reach_the_engine(tmp_path: Path, docker_engine: Any, containers: Containers) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from the host\n")
    exe = run_tracked(containers, f"""
id: docker_options
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    host: unix:///var/run/docker.sock
    credentials:
      username: nobody
      password: unused-because-nothing-is-pulled
    containerImage: {BUSYBOX}
    pullPolicy: IF_NOT_PRESENT
    entryPoint: [/bin/sh, -c]
    user: "65534"
    networkMode: none
    volumes: ["{shared}:/mnt/shared:ro"]
    cpu:
      cpus: 0.5
    memory:
      memory: 64MB
    commands:
      - >-
        echo "uid=$(id -u)";
        echo "file=$(cat /mnt/shared/hello.txt)";
        echo nets=$(ls /sys/class/net);
        echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)";
        echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max)"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", lines(tmp_path, exe, "run")
    got = lines(tmp_path, exe, "run", "INFO")
    assert "uid=65534" in got
    assert "file=from the host" in got
    assert "nets=lo" in got  # networkMode none: loopback only
    assert f"mem={64 * 1024 * 1024}" in got
    assert "cpu=50000" in got  # 0.5 CPU of the default 100000 µs period


def test_missing_image_with_pull_policy_never_fails_clearly(tmp_path: Path, containers: Containers) -> None:
    exe = run_tracked(containers, """
id: docker_missing
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: lanner-no-such-image:1.0
    pullPolicy: NEVER
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    (message,) = lines(tmp_path, exe, "run", "ERROR")
    assert "lanner-no-such-image:1.0" in message and "NEVER" in message and "docker import" in message


def test_input_and_output_files_waited_and_started(tmp_path: Path, docker_engine: Any,
                                                   containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: docker_files
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    inputFiles:
      conf/app.conf: "setting={{{{ flow.id }}}}"
    outputFiles: ["*.txt"]
    commands: [/bin/sh, -c, 'echo "read $(cat conf/app.conf)"; echo produced > file.txt']
  - id: service
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    wait: false
    inputFiles:
      conf/app.conf: "copied in"
    commands: [sleep, 100]
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read(outputs.run.outputFiles['file.txt']) }}}}"
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    assert lines(tmp_path, exe, "run", "INFO") == ["read setting=docker_files"]
    assert [m.strip() for m in lines(tmp_path, exe, "show", "INFO")] == ["produced"]
    uri = outputs(exe, "run")["outputFiles"]["file.txt"]
    assert uri.startswith("kestra:///") and files_of(tmp_path).get(uri) == b"produced\n"
    # A started-and-left container outlives the task's working directory: its files are copied in.
    service = docker_engine.containers.get(outputs(exe, "service")["taskRunner"]["containerId"])
    assert service.status == "running"
    code, text = service.exec_run(["cat", "conf/app.conf"])
    assert (code, text) == (0, b"copied in")


def test_a_storage_uri_in_run_commands_is_a_file_in_the_container(tmp_path: Path, docker_engine: Any,
                                                                   containers: Containers) -> None:
    """docker.Run goes through the same command wrapper as Kestra's script tasks: a `kestra://`
    file its commands name is copied into the mounted working directory and named by its path."""
    exe = run_tracked(containers, f"""
id: docker_uri
namespace: lanner.test
tasks:
  - id: made
    type: io.kestra.plugin.core.storage.Write
    content: stored text
  - id: run
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    commands: [cat, "{{{{ outputs.made.uri }}}}"]
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    assert lines(tmp_path, exe, "run", "INFO") == ["stored text"]


def test_an_unreachable_engine_fails_with_one_clear_sentence(tmp_path: Path) -> None:
    exe = run_flow("""
id: docker_no_engine
namespace: lanner.test
tasks:
  - id: run
    type: io.kestra.plugin.docker.Run
    host: unix:///nonexistent/docker.sock
    containerImage: redis
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    (message,) = lines(tmp_path, exe, "run", "ERROR")
    assert message.startswith("Cannot reach the Docker engine at unix:///nonexistent/docker.sock "
                              "(No such file or directory)")


# -- Run without waiting, and Stop ------------------------------------------------------------


def test_run_without_wait_returns_at_once_with_a_running_container(tmp_path: Path, docker_engine: Any,
                                                                  containers: Containers) -> None:
    t0 = time.monotonic()
    exe = run_tracked(containers, f"""
id: docker_nowait
namespace: lanner.test
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: {REDIS}
    wait: false
    portBindings:
      - "127.0.0.1::6379"
  - id: id
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.start.taskRunner.containerId }}}}"
""", tmp_path)
    assert time.monotonic() - t0 < 10
    assert exe.state.current.value == "SUCCESS", states(exe)
    container_id = outputs(exe, "start")["taskRunner"]["containerId"]
    assert outputs(exe, "start")["exitCode"] == 0
    assert outputs(exe, "id")["value"] == container_id

    (container,) = containers.of(exe.id)  # found by Lanner's labels; the fixture removes it afterwards
    assert container.id == container_id
    assert container.status == "running"
    assert container.labels["lanner.task"] == "start"
    (binding,) = container.attrs["NetworkSettings"]["Ports"]["6379/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    port = int(binding["HostPort"])
    assert port != 6379
    assert redis_ping(port) == b"+OK\r\n+PONG\r\n"


FINALLY_STOP = """
id: docker_finally
namespace: lanner.test
inputs:
  - id: fail
    type: BOOLEAN
    defaults: false
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: redis  # as the seed flow writes it: no tag
    wait: false
    portBindings: ["127.0.0.1::6379"]
  - id: work
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.fail }}"
    then:
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: the work failed
    else:
      - id: ok
        type: io.kestra.plugin.core.log.Log
        message: the work succeeded
finally:
  - id: stop
    type: io.kestra.plugin.docker.Stop
    containerId: "{{ outputs.start.taskRunner.containerId }}"
"""


@pytest.mark.parametrize("fail", [False, True], ids=["success", "failure"])
def test_stop_in_finally_stops_and_removes_the_container(fail: bool, tmp_path: Path, docker_engine: Any,
                                                         containers: Containers) -> None:
    exe = run_tracked(containers, FINALLY_STOP, tmp_path, {"fail": fail})
    assert exe.state.current.value == ("FAILED" if fail else "SUCCESS"), states(exe)
    assert states(exe)["stop"] == "SUCCESS"
    container_id = outputs(exe, "start")["taskRunner"]["containerId"]
    assert f"Container {container_id[:12]} stopped" in lines(tmp_path, exe, "stop", "INFO")  # it was running
    assert gone(docker_engine, container_id)
    assert containers.of(exe.id) == []


def test_stop_of_a_container_that_is_gone_succeeds_with_a_warning(tmp_path: Path, docker_engine: Any,
                                                                   containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: docker_stop_twice
namespace: lanner.test
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    wait: false
    commands: [sleep, "100"]
  - id: stop
    type: io.kestra.plugin.docker.Stop
    containerId: "{{{{ outputs.start.taskRunner.containerId }}}}"
    kill: true
finally:
  - id: stop_again
    type: io.kestra.plugin.docker.Stop
    containerId: "{{{{ outputs.start.taskRunner.containerId }}}}"
  - id: stop_unknown
    type: io.kestra.plugin.docker.Stop
    containerId: lanner-never-existed
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    assert states(exe) == {"start": "SUCCESS", "stop": "SUCCESS", "stop_again": "SUCCESS", "stop_unknown": "SUCCESS"}
    container_id = outputs(exe, "start")["taskRunner"]["containerId"]
    assert gone(docker_engine, container_id)
    (warning,) = lines(tmp_path, exe, "stop_again", "WARN")
    assert container_id in warning and "does not exist" in warning
    assert any("lanner-never-existed" in m for m in lines(tmp_path, exe, "stop_unknown", "WARN"))


def test_stop_with_kill_and_without_delete_keeps_the_stopped_container(tmp_path: Path, docker_engine: Any,
                                                                       containers: Containers) -> None:
    t0 = time.monotonic()
    exe = run_tracked(containers, f"""
id: docker_kill_keep
namespace: lanner.test
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    wait: false
    commands: [sleep, "100"]
  - id: stop
    type: io.kestra.plugin.docker.Stop
    containerId: "{{{{ outputs.start.taskRunner.containerId }}}}"
    kill: true
    delete: false
""", tmp_path)
    assert exe.state.current.value == "SUCCESS", states(exe)
    assert time.monotonic() - t0 < 5  # SIGKILL, not a 10 s graceful stop of a shell ignoring SIGTERM
    (container,) = containers.of(exe.id)
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 137


# -- kill and timeout stop what Run started ---------------------------------------------------


def test_kill_during_a_waited_run_stops_its_container(tmp_path: Path, docker_engine: Any,
                                                      containers: Containers) -> None:
    t0 = time.monotonic()
    exe = run_tracked(containers, f"""
id: docker_kill
namespace: lanner.test
tasks:
  - id: long
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    commands: [sh, -c, "echo started; sleep 100"]
""", tmp_path, kill_when=lambda kind, item: kind == "log" and item.message == "started")
    assert time.monotonic() - t0 < 8  # stopped at once, not abandoned after the kill grace period
    assert exe.state.current.value == "KILLED"
    assert states(exe) == {"long": "KILLED"}
    assert "started" in lines(tmp_path, exe, "long", "INFO")
    container_id = outputs(exe, "long")["taskRunner"]["containerId"]
    assert gone(docker_engine, container_id)
    assert containers.of(exe.id) == []


def test_timeout_on_a_long_run_stops_its_container(tmp_path: Path, docker_engine: Any,
                                                   containers: Containers) -> None:
    t0 = time.monotonic()
    exe = run_tracked(containers, f"""
id: docker_timeout
namespace: lanner.test
tasks:
  - id: long
    type: io.kestra.plugin.docker.Run
    containerImage: {BUSYBOX}
    timeout: PT1S
    commands: [sleep, "100"]
""", tmp_path)
    assert time.monotonic() - t0 < 8
    assert exe.state.current.value == "FAILED"
    assert any("Timeout" in m for m in lines(tmp_path, exe, "long", "ERROR"))
    container_id = outputs(exe, "long")["taskRunner"]["containerId"]
    assert gone(docker_engine, container_id)


def test_kill_while_a_started_service_runs_still_stops_it_in_finally(tmp_path: Path, docker_engine: Any,
                                                                     containers: Containers) -> None:
    exe = run_tracked(containers, f"""
id: docker_kill_finally
namespace: lanner.test
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: {REDIS}
    wait: false
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT100S
finally:
  - id: stop
    type: io.kestra.plugin.docker.Stop
    containerId: "{{{{ outputs.start.taskRunner.containerId }}}}"
""", tmp_path,
                   kill_when=lambda kind, item: (kind == "run" and item.task_id == "wait"
                                                 and item.current.value == "RUNNING"))
    assert exe.state.current.value == "KILLED"
    assert states(exe)["stop"] == "SUCCESS"
    assert gone(docker_engine, outputs(exe, "start")["taskRunner"]["containerId"])


def test_a_taken_host_port_fails_with_a_clear_message(tmp_path: Path, docker_engine: Any,
                                                      containers: Containers) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        exe = run_tracked(containers, f"""
id: docker_port_taken
namespace: lanner.test
tasks:
  - id: start
    type: io.kestra.plugin.docker.Run
    containerImage: {REDIS}
    wait: false
    portBindings: ["127.0.0.1:{port}:6379"]
""", tmp_path)
    assert exe.state.current.value == "FAILED"
    (message,) = lines(tmp_path, exe, "start", "ERROR")
    assert str(port) in message and "another process holds that host port" in message
    assert containers.of(exe.id) == []  # the created container is not left behind
