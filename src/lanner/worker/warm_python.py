"""Python tasks without interpreter start-up: a warm interpreter forks each `python script.py`.

Starting the interpreter (site-packages, encodings, the standard modules a script imports) was
almost all of a short Python task's time: ~20 ms at best, far more on a loaded host with many
`.pth` files. So the first Python task a process runs starts a fork server
(`warm_python_server.py`, beside this file) with the same interpreter, and every eligible task
after that is a fork of it: its own process, session and process group, working directory,
environment, stdio files, signal handlers and mask, exactly as `python script.py` under the
keeper (`lanner.worker.keeper`) would have them. The server is the keeper of its tasks, with the
same guarantees (the note of the exit, the group killed when Lanner dies: see the server's
docstring); it is tied to Lanner by each task's socket rather than by a PDEATHSIG, since the
task is the server's child, not ours.

Which tasks come here is the scripts plugin's decision (`plugins/scripts/warm_route.py`); this
module only runs them. One server per set of start-up variables (`PYTHON*`, locale, `HOME`, `TZ`:
what the interpreter reads as it starts), at most `MAX_SERVERS`; `Unavailable` tells the caller
to start a fresh process instead. `LANNER_PYTHON_FORKSERVER=0` turns the whole route off.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from lanner.worker.keeper import Paths

SWITCH = "LANNER_PYTHON_FORKSERVER"
SERVER_FILE = Path(__file__).with_name("warm_python_server.py")
MAX_SERVERS = 4  # distinct start-up environments served at once; more take the fresh route
_STARTUP_NAMES = frozenset({"LANG", "LANGUAGE", "HOME", "TZ"})


class Unavailable(Exception):
    """The fork server cannot take this task (not running, or gone): run a fresh process instead."""


def enabled() -> bool:
    """Is the warm route on? (`LANNER_PYTHON_FORKSERVER=0`, `false`, `no` or `off` turns it off.)"""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def startup_environment(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables an interpreter reads as it starts: tasks that differ in them need another server."""
    return tuple(sorted((k, v) for k, v in env.items()
                        if k.startswith(("PYTHON", "LC_")) or k in _STARTUP_NAMES))


@dataclasses.dataclass(slots=True)
class Warm:
    """A task running in the warm interpreter: `pid` leads its group, like `keeper.Kept`.

    It is the server's child, not ours, so its end is read from the task's socket (the exit code,
    or end of file if the server was killed) rather than from waitpid.
    """

    pid: int
    sock: socket.socket
    returncode: int | None = None
    _pending: bytes = b""

    def fileno(self) -> int:
        """Readable once the task has ended (for the runner's wait)."""
        return self.sock.fileno()

    def poll(self) -> int | None:
        """The task's exit code (as `/bin/sh -c` would report it), or None while it runs."""
        if self.returncode is None:
            ended = False
            if not self._pending.endswith(b"\n"):  # the code may have come with the pid already
                try:
                    data = self.sock.recv(64, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return None
                except OSError:
                    data = b""
                self._pending += data
                ended = not data
            if self._pending.startswith(b"X") and self._pending.endswith(b"\n"):
                self.returncode = int(self._pending[1:])
            elif ended:  # the server died without a word: it was killed, as `Kept` reports it
                self.returncode = -signal.SIGKILL
            if self.returncode is not None:
                self.sock.close()
        return self.returncode

    def terminating(self) -> None:
        """Say that the group is being terminated: the task's death by that signal is then reported
        as the shell's would be (the shell dies of it too, silently), not as the task's own crash."""
        try:
            self.sock.send(b"T")
        except OSError:  # it has ended already
            pass

    def close(self) -> None:
        self.sock.close()


@dataclasses.dataclass(slots=True)
class _Server:
    process: subprocess.Popen[bytes]
    control: socket.socket
    owner: int  # the pid that started it: a fork of Lanner must not share it
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


_servers: dict[tuple[tuple[str, str], ...], _Server] = {}
_servers_lock = threading.Lock()


def start(argv: list[str], env: dict[str, str], cwd: Path, paths: Paths, note_head: bytes) -> Warm:
    """Run `python argv[1:]` (argv[0] is the interpreter as the task named it) in a fork of the server.

    Raises `Unavailable` when the server cannot take it (or must not: a module in the script's folder
    would shadow one it has loaded), OSError (with its errno) when the task's folder or output files
    cannot be opened.
    """
    key = startup_environment(env)
    request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(paths.stdout),
                          "stderr": str(paths.stderr), "note": str(paths.note),
                          "note_head": note_head.decode()}).encode()
    request = b"%d\n" % len(request) + request  # made before the server is woken: it reads it at once
    failed: _Server | None = None  # the server that did not take the request: replaced once
    stale = False
    for _ in range(2):
        server = _server(key, env, failed=failed, stale=stale)
        failed = server  # unless it takes the request
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with server.lock:
                socket.send_fds(server.control, [b"t"], [theirs.fileno()])
        except OSError:
            ours.close()
            continue
        finally:
            theirs.close()
        try:
            ours.sendall(request)
            line, rest = reply(ours)
        except OSError:
            line, rest = b"", b""
        if line.startswith(b"P"):
            return Warm(int(line[1:]), ours, _pending=rest)
        ours.close()
        if line.startswith(b"S"):  # packages came or went since it started: a new server sees them
            stale = True
            continue
        if line.startswith(b"F"):
            raise Unavailable(f"the script's folder holds `{line[1:].decode(errors='replace')}`, which would "
                              "shadow a module the warm interpreter has loaded")
        if line.startswith(b"E"):
            code = int(line[1:])
            raise OSError(code, os.strerror(code) if code else "the task could not be started")
    raise Unavailable("the Python fork server does not answer")


def prewarm(env: Mapping[str, str]) -> bool:
    """Start the server for tasks that will run with `env`, now, without waiting for it.

    Its start (an interpreter and the preloaded modules: ~0.1 s) then overlaps what Lanner does
    before the first Python task (loading the flow, opening the store) instead of delaying that
    task. A server nobody uses costs one idle process that ends with Lanner. False where the route
    is off or no server may start (the first task then tries again, and falls back as usual).
    """
    if not enabled():
        return False
    try:
        _server(startup_environment(env), env)
    except Unavailable:
        return False
    return True


def reply(sock: socket.socket) -> tuple[bytes, bytes]:
    """The server's first line about a task, and what came after it (its exit code, for a quick one)."""
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(64)
        if not chunk:
            return b"", b""
        data += chunk
    line, _, rest = data.partition(b"\n")
    return line, rest


def _server(key: tuple[tuple[str, str], ...], env: Mapping[str, str], failed: _Server | None = None,
            stale: bool = False) -> _Server:
    """The server for this start-up environment, started on first use.

    `failed`: a server that did not take the last request, replaced unless another thread replaced
    it already (that new one may hold tasks of its own); `stale`: it said why (it cannot import
    what was installed since it started), so it is healthy and may hold running tasks: it is let
    go, not waited for, and leaves once they are done.
    """
    with _servers_lock:
        server = _servers.get(key)
        if server is not None and (server is failed or server.owner != os.getpid()
                                   or server.process.poll() is not None):
            _drop(key, wait=not stale)
            server = None
        if server is None:
            if len(_servers) >= MAX_SERVERS:
                raise Unavailable(f"{MAX_SERVERS} Python fork servers already run with other start-up variables")
            server = _servers[key] = _launch(key, env)
        return server


def _launch(key: tuple[tuple[str, str], ...], env: Mapping[str, str]) -> _Server:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server_env = {k: v for k, v in os.environ.items()
                  if not (k.startswith(("PYTHON", "LC_")) or k in _STARTUP_NAMES)}
    server_env.update(key)
    server_env["LANNER_WARM_LC_CTYPE_GIVEN"] = "1" if "LC_CTYPE" in env else "0"
    try:
        process = subprocess.Popen([sys.executable, str(SERVER_FILE), str(theirs.fileno())],
                                   pass_fds=(theirs.fileno(),), env=server_env, cwd="/", stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        ours.close()
        raise Unavailable(f"cannot start the Python fork server: {exc}") from None
    finally:
        theirs.close()
    return _Server(process, ours, os.getpid())


def _drop(key: tuple[tuple[str, str], ...], wait: bool = True) -> None:
    """Forget a server; closing its control socket ends it once its running tasks are done. With
    `wait`, wait for that (5 s at most, then kill it: a server that failed to answer, or Lanner
    ending, when no task should be running)."""
    server = _servers.pop(key)
    if server.owner == os.getpid():
        server.control.close()
        if wait and server.process.poll() is None:
            try:
                server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - stuck: it holds no task
                server.process.kill()


def stop_all() -> None:
    """End every server this process started (tests, and a worker that shuts down)."""
    with _servers_lock:
        for key in list(_servers):
            _drop(key)
