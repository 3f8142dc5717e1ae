"""Start `lanner server <role>` processes in milliseconds: a pre-imported parent forks each one.

A chaos run SIGKILLs and restarts roles a few hundred times; paying Python's start-up and
Lanner's imports (~1 s of CPU) for each restart would take the whole machine. This parent imports
the roles once, single-threaded and without any connection open, then forks a child per request;
the child is a real, separate `lanner server <role>` process (its own pid, database connections
and threads) that dies for real under SIGKILL. Run it as `python -m tests.integration.cluster.forkserver`
with the roles' environment; it reads JSON lines `{"role": ..., "log": ..., "args": [...]}` on
stdin and answers each with the child's pid; it reaps children as they die.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _reap(_signum: int, _frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(role: str, log: str, args: list[str]) -> None:
    """In the forked child: become `lanner server <role>`; never return."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.argv = ["lanner", "server", role, "--log-level", "warning", *args]
        from lanner.cli.main import main

        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child must never fall back into the parent's loop
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    # Everything a role imports, imported once here (children start with it in memory).
    import psycopg  # noqa: F401

    import lanner.cli.main
    import lanner.cli.roles
    import lanner.plugins.core.flow
    import lanner.plugins.scripts.tasks
    import lanner.runtime.cluster_executor
    import lanner.runtime.cluster_scheduler
    import lanner.runtime.cluster_worker
    import lanner.runtime.roles  # noqa: F401

    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request["role"], request["log"], list(request.get("args") or []))
        out.write(f"{pid}\n")
        out.flush()


class ForkServer:
    """The harness's side: one forkserver process; `start(role, log, args)` returns a pid."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.cluster.forkserver"], env=env,
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._lock = threading.Lock()
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the forkserver did not start: {ready!r}")

    def start(self, role: str, log: Path, args: tuple[str, ...] = ()) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps({"role": role, "log": str(log), "args": list(args)}) + "\n")
            self.proc.stdin.flush()
            return int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] not in (b"Z", b"X")


if __name__ == "__main__":
    serve()
