"""A real `lanner server local` process for tests: temp LANNER_HOME, free port, httpx client.

Started as `python -m lanner server local`, or, given a `tests.forkserver.ForkServer`, forked from
its pre-imported parent: the same command in a process of its own (SIGTERM and SIGKILL hit it for
real), ready in about a quarter of a second instead of a second and a quarter. The API and
security tests start dozens of servers, the UI tests one per module; the e2e CLI tests and
tests/integration/crash/test_server_signals.py keep fresh interpreters, so the installed command
line stays covered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from lanner.model.state import TERMINATED_NAMES
from tests.forkserver import ForkedProcess, ForkServer

ROOT = Path(__file__).resolve().parents[3]
TERMINAL = set(TERMINATED_NAMES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """Starts, stops (gracefully or with SIGKILL) and restarts one server on one LANNER_HOME."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, port: int | None = None,
                 forks: ForkServer | None = None) -> None:
        self.home = home
        self.forks = forks
        self.port = port or free_port()
        # A short graceful-stop grace keeps `stop()` quick; tests of the stop itself set their own.
        self.env = {**os.environ, "LANNER_HOME": str(home), "LANNER_STOP_GRACE": "2", **(env or {})}
        self.env.pop("LANNER_DATABASE_URL", None)
        self.proc: subprocess.Popen[str] | ForkedProcess | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url + "/api/v1", timeout=30)

    def start(self, *extra: str, wait: bool = True) -> Server:
        self.log = open(self.home.parent / f"server-{self.port}-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
        argv = ["server", "local", "--port", str(self.port), *extra]
        if self.forks is not None:
            self.proc = self.forks.popen(argv, self.env, cwd=ROOT, stdout=self.log.fileno(), stderr=subprocess.STDOUT)
        else:
            self.proc = subprocess.Popen([sys.executable, "-m", "lanner", *argv], env=self.env, cwd=ROOT,
                                         stdout=self.log, stderr=subprocess.STDOUT, text=True)
        if wait:
            try:
                self.wait_ready()
            except AssertionError:  # a server that did not come up must not outlive the test that started it
                self.stop(kill=True)
                raise
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
        raise AssertionError(f"server not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    # -- helpers -----------------------------------------------------------------------------

    def deploy(self, yaml_text: str) -> dict[str, Any]:
        r = self.client.post("/flows", content=yaml_text, headers={"Content-Type": "application/x-yaml"})
        assert r.status_code == 200, r.text
        return r.json()

    def run(self, namespace: str, flow_id: str, inputs: dict[str, Any] | None = None,
            wait: bool = True) -> dict[str, Any]:
        form = {k: (None, str(v)) for k, v in (inputs or {}).items()}  # multipart, as Kestra's UI sends
        r = self.client.post(f"/executions/{namespace}/{flow_id}", params={"wait": str(wait).lower()},
                             files=form or None)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_state(self, execution_id: str, states: set[str] | None = None, timeout: float = 20) -> dict[str, Any]:
        states = states or TERMINAL
        deadline = time.monotonic() + timeout
        exe: dict[str, Any] = {}
        while time.monotonic() < deadline:
            exe = self.client.get(f"/executions/{execution_id}").json()
            if exe["state"]["current"] in states and (
                    states is not TERMINAL or all(r["state"]["current"] in TERMINAL for r in exe["taskRunList"])):
                return exe
            time.sleep(0.1)  # poll interval of a deadline-bounded wait on a positive signal
        raise AssertionError(f"execution {execution_id} did not reach {states}: {exe.get('state')}")

    def wait_task_running(self, execution_id: str, task_id: str, timeout: float = 20) -> dict[str, Any]:
        """Wait until `task_id` runs: the moment a kill or a crash is meant to hit, named, not guessed."""
        deadline = time.monotonic() + timeout
        exe: dict[str, Any] = {}
        while time.monotonic() < deadline:
            exe = self.client.get(f"/executions/{execution_id}").json()
            if by_task(exe).get(task_id, {}).get("state", {}).get("current") == "RUNNING":
                return exe
            time.sleep(0.1)  # poll interval of a deadline-bounded wait on a positive signal
        raise AssertionError(f"task {task_id} of {execution_id} never ran: {exe.get('taskRunList')}")

    def executions(self, **params: Any) -> list[dict[str, Any]]:
        r = self.client.get("/executions/search", params={"size": 100, **params})
        assert r.status_code == 200, r.text
        return r.json()["results"]


def by_task(exe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["taskId"]: r for r in exe["taskRunList"]}


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    """The first truthy answer of `check`, polled until `timeout`; fails the test past it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError("condition not met in time")
