"""Real `lanner server <role>` processes for the cluster tests and the bench: start, SIGKILL, restart.

A role is started either as `python -m lanner server <role>` or, when a `ForkServer` is given,
forked from a pre-imported parent (milliseconds instead of a second of CPU per restart); either
way it is its own process and SIGKILL ends it for real. The tests of signals
(test_processes_signals.py) keep fresh interpreters, so the installed command stays covered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]


class RoleProcess:
    def __init__(self, role: str, env: dict[str, str], logs: Path, *args: str, forks: Any = None) -> None:
        self.role = role
        self.env = env
        self.logs = logs
        self.args = args
        self.forks = forks  # a tests.forkserver.ForkServer, or None for a fresh interpreter per start
        self.proc: subprocess.Popen[bytes] | None = None
        self.forked: int | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.forked if self.forks is not None else (self.proc.pid if self.proc is not None else None)

    def start(self) -> RoleProcess:
        self.starts += 1
        path = self.logs / f"{self.role}-{id(self)}-{self.starts}.log"
        argv = ["server", self.role, "--log-level", "warning", *self.args]
        log = open(path, "wb")  # noqa: SIM115
        if self.forks is not None:
            self.forked = self.forks.popen(argv, self.env, cwd=ROOT, stdout=log.fileno(), stderr=subprocess.STDOUT).pid
        else:
            self.proc = subprocess.Popen([sys.executable, "-m", "lanner", *argv], env=self.env, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, like a machine that vanished."""
        if self.forks is not None:
            self._signal_forked(signal.SIGKILL, 10)
            return
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.forks is not None:
            if not self._signal_forked(signal.SIGTERM, 40):
                self._signal_forked(signal.SIGKILL, 10)
            return
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def _signal_forked(self, sig: int, timeout: float) -> bool:
        """Send `sig` to the forked role; True once it is gone (within `timeout`)."""
        from tests.forkserver import alive

        pid = self.forked
        if pid is None or not alive(pid):
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.01)
        return False

    @property
    def running(self) -> bool:
        if self.forks is not None:
            from tests.forkserver import alive

            return self.forked is not None and alive(self.forked)
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        logs = sorted(self.logs.glob(f"{self.role}-{id(self)}-*.log"))
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)


def role_env(url: str, home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LANNER_HOME": str(home), "LANNER_DATABASE_URL": url, **extra}
    env.pop("LANNER_CONFIG", None)
    return env


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def serving(env: dict[str, str], logs: Path, *roles: str, forks: Any = None) -> Iterator[httpx.Client]:
    """A webserver and `roles` (executor, worker, …) as processes (forked from `forks` when given);
    yields an API client once it answers.

    On a failure inside, the roles' last output is printed; they are stopped in any case.
    """
    from tests.integration.server.harness import free_port

    port = free_port()
    procs = [RoleProcess("webserver", env, logs, "--port", str(port), forks=forks).start(),
             *(RoleProcess(role, env, logs, forks=forks).start() for role in roles)]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 30, "the webserver")
        yield client
    except BaseException:
        for p in procs:
            sys.stderr.write(p.output())
        raise
    finally:
        for p in procs:
            p.stop()
