"""Start `lanner` commands in milliseconds: a pre-imported parent forks each one.

The crash benches and tests SIGKILL and restart `lanner run`, `lanner execution continue` and
`lanner server <role>` processes a few hundred times; paying Python's start-up and Lanner's
imports (~1 s of CPU) for each on a 2-core machine would take most of the run. This parent
imports Lanner once, single-threaded and without any connection open, then forks a child per
request. The child is a real, separate process — its own pid, session, database connections and
threads — that dies for real under SIGKILL and stops under SIGSTOP. It becomes the command the
way `python -m lanner ARGS` does (`runpy` runs `lanner/__main__.py` with the request's argv,
environment and working directory), with the signal dispositions of a fresh interpreter, the
caller's pipes or files as stdin/stdout/stderr, and no other descriptor of the parent. When the
request's environment differs from the parent's in a variable a module read while it was being
imported, the child `exec`s a fresh `python -m lanner` instead, so a value read at import is
never a stale one.

Protocol: the parent's stdin is a SOCK_SEQPACKET socket; each request is one JSON message
(`argv`, `env`, `cwd`, `new_session`) carrying four descriptors (stdin, stdout, stderr, and a
reply socket). On the reply socket the parent sends the child's pid, then, once it has exited,
its return code (negative for a signal, as `subprocess` says it); it reaps the child when the
caller closes the reply socket, so the pid is not reused while the caller may still signal it.

    python -m tests.forkserver      (started by `ForkServer`, never by hand)
"""

from __future__ import annotations

import gc
import importlib
import io
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
_MAX_MESSAGE = 1 << 20

# What `lanner run`, `lanner execution continue|kill` and `lanner server <role>` import (found
# with sys.modules after real runs). Missing one only costs time, never correctness.
PRELOAD = (
    "lanner.cli.main", "lanner.cli.live", "lanner.cli.roles", "lanner.loading.flows", "lanner.model.inputs",
    "lanner.model.subflow_chains", "lanner.runtime.catalog", "lanner.runtime.local", "lanner.storage.db",
    "lanner.storage.repository", "lanner.storage.files", "lanner.plugins.core.flow",
    "lanner.plugins.scripts.tasks", "alembic.command", "alembic.config", "sqlite3", "psycopg",
    "lanner.runtime.roles", "lanner.runtime.cluster_executor", "lanner.runtime.cluster_scheduler",
    "lanner.runtime.cluster_worker", "lanner.expr.template", "lanner.expr.compiler", "yaml", "rich.console",
    "rich.markup", "pydantic.type_adapter", "typer._adapters", "typer.rich_utils", "typer._click.decorators",
    "concurrent.futures.thread", "lanner.runtime.stopping", "lanner.storage.sql",
    # `lanner server local`, which the API and security tests start once per module or more:
    "lanner.cli.server", "lanner.server.app", "lanner.server.services", "lanner.server.serving", "uvicorn",
    *(f"lanner.server.routes.{name}" for name in (
        "approvals", "execution_bulk", "execution_edits", "execution_files", "executions", "flow_graph",
        "flow_transfer", "flows", "kv", "logs", "misc", "namespace_files", "namespace_flows", "namespaces",
        "plugins", "stats", "task_validation", "triggers")),
)


# ---------------------------------------------------------------- the parent (server side)


class _ReadingEnviron(MutableMapping[str, str]):
    """`os.environ` while the parent imports: notes every variable a module reads at import time."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real, self.read = real, set()  # type: ignore[var-annotated]

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        del self.real[key]

    def __iter__(self) -> Iterator[str]:
        self.read.update(self.real)  # a module that copies the whole environment depends on all of it
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def copy(self) -> dict[str, str]:
        return dict(self)


def _preload() -> dict[str, str | None]:
    """Import PRELOAD; return the variables read meanwhile, with the values they had."""
    real = os.environ
    reading = _ReadingEnviron(real)
    os.environ = reading  # type: ignore[assignment]  # noqa: B003 - replaced to watch reads, restored below
    try:
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # an optional part that is not installed: the child imports (and fails) as the CLI would
    finally:
        os.environ = real  # type: ignore[assignment]  # noqa: B003
    if threading.active_count() != 1:
        raise RuntimeError("a preloaded module started a thread: forking now would copy a half-held lock")
    # The imported objects are never freed: keep the collector off them, or each child's collections
    # and its exit (which collects everything) touch every page it shares with this parent, copying
    # them all — 0.3 s of CPU per command measured here, against 0.1 s frozen.
    gc.freeze()
    return {key: real.get(key) for key in reading.read}


def serve() -> None:
    read_at_import = _preload()
    control = socket.socket(fileno=0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _s, _f: None)  # only to wake the selector through the wakeup fd
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    running: dict[int, socket.socket] = {}  # child pid → its caller's reply socket
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                message, fds, _flags, _addr = socket.recv_fds(control, _MAX_MESSAGE, 4)
                if not message:
                    return  # the harness closed its end: no more requests
                request = json.loads(message)
                reply = socket.socket(fileno=fds[3])
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    # Closed by number in _become: an object left holding one would close a reused fd.
                    for held in (control, *running.values(), *(k.fileobj for k in selector.get_map().values())):
                        if isinstance(held, socket.socket):
                            held.detach()
                    selector.close()
                    _become(request, fds[:3], reply, read_at_import)  # never returns
                for fd in fds[:3]:
                    os.close(fd)
                _send(reply, {"pid": pid})
                running[pid] = reply
            elif key.fileobj is wake_r:
                while True:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        break
            else:  # the caller took the return code (or dropped its handle): the pid may go now
                selector.unregister(key.fileobj)
                _reap(key.data, key.fileobj)  # type: ignore[arg-type]
        _report_exits(running, selector)


def _report_exits(running: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    """Tell each caller whose child exited its return code, and leave the child a zombie until the
    caller closes its reply socket: as with `subprocess.Popen`, a pid the caller may still signal
    is never freed (and reused) before the caller has seen the exit."""
    for pid, reply in list(running.items()):
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            continue
        del running[pid]
        killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        if _send(reply, {"returncode": -info.si_status if killed else info.si_status}):
            selector.register(reply, selectors.EVENT_READ, pid)
        else:
            _reap(pid, reply)


def _reap(pid: int, reply: socket.socket) -> None:
    os.waitpid(pid, 0)
    reply.close()


def _send(reply: socket.socket, message: dict[str, int]) -> bool:
    """False when the caller no longer listens (it dropped its handle)."""
    try:
        reply.send(json.dumps(message).encode())
    except OSError:
        return False
    return True


def _become(request: dict[str, Any], fds: list[int], reply: socket.socket,
            read_at_import: Mapping[str, str | None]) -> None:
    """In the forked child: become `python -m lanner ARGV`. Raises SystemExit (or the command's
    error) up through serve() to the interpreter, which exits as `python -m lanner` would:
    non-daemon threads joined, atexit handlers run, streams flushed, a traceback for a crash."""
    reply.close()
    if request["new_session"]:
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # nothing of the parent's survives: the received fds included
    os.chdir(request["cwd"])
    env: dict[str, str] = request["env"]
    argv: list[str] = request["argv"]
    if any(env.get(key) != value for key, value in read_at_import.items()):
        os.execve(sys.executable, [sys.executable, "-m", "lanner", *argv], env)
    os.environ.clear()
    os.environ.update(env)
    _fresh_stdio()
    import runpy

    sys.argv = ["lanner", *argv]  # runpy puts lanner/__main__.py in argv[0], as `python -m` does
    sys.path[0] = os.getcwd()  # `python -m` puts its working directory first (this server's was ROOT)
    runpy.run_module("lanner", run_name="__main__", alter_sys=True)
    raise SystemExit(0)


def _fresh_stdio() -> None:
    """sys.stdin/stdout/stderr on fds 0-2 as a fresh interpreter opens them (buffering by isatty)."""
    like = sys.__stderr__ or sys.stderr  # opened by this interpreter's start-up: its encoding and error modes
    encoding, errors = like.encoding, (sys.__stdout__ or like).errors

    def stream(fd: int, mode: str, errors: str, line: bool) -> IO[str]:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, line_buffering=line)

    sys.stdin = sys.__stdin__ = stream(0, "r", errors, False)
    sys.stdout = sys.__stdout__ = stream(1, "w", errors, os.isatty(1))
    sys.stderr = sys.__stderr__ = stream(2, "w", like.errors, True)


# ---------------------------------------------------------------- the harness's side


class ForkedProcess:
    """A child of the fork server, used like `subprocess.Popen` (text mode): pid, poll, wait,
    communicate, send_signal. Its exit status comes from the server, which reaps it."""

    def __init__(self, argv: Sequence[str], reply: socket.socket, stdout: int | None, stderr: int | None) -> None:
        self.args = list(argv)
        self._reply = reply
        first = json.loads(reply.recv(_MAX_MESSAGE) or b"{}")
        if "pid" not in first:
            raise RuntimeError("the fork server did not start the command (is it still running?)")
        self.pid: int = first["pid"]
        self.returncode: int | None = None
        self.stdin = None
        self.stdout: IO[str] | None = open(stdout, encoding="utf-8", errors="replace") if stdout is not None else None  # noqa: SIM115
        self.stderr: IO[str] | None = open(stderr, encoding="utf-8", errors="replace") if stderr is not None else None  # noqa: SIM115
        self._read: dict[int, list[bytes]] = {}

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reply.setblocking(False)
            try:
                self._take(self._reply.recv(_MAX_MESSAGE))
            except BlockingIOError:
                pass
            finally:
                if self.returncode is None:
                    self._reply.setblocking(True)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._reply.settimeout(timeout)
            try:
                self._take(self._reply.recv(_MAX_MESSAGE))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            finally:
                if self.returncode is None:
                    self._reply.settimeout(None)
        assert self.returncode is not None
        return self.returncode

    def _take(self, message: bytes) -> None:
        if not message:  # the server went away without a word: treat as killed, never hang
            self.returncode = -signal.SIGKILL
        else:
            self.returncode = int(json.loads(message)["returncode"])
        self._reply.close()

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        """Read stdout and stderr to their end, then wait; `subprocess.TimeoutExpired` keeps what
        was read for the next call, as Popen does."""
        deadline = None if timeout is None else time.monotonic() + timeout
        streams = [s for s in (self.stdout, self.stderr) if s is not None and not s.closed]
        with selectors.DefaultSelector() as selector:
            for s in streams:
                self._read.setdefault(s.fileno(), [])
                selector.register(s.fileno(), selectors.EVENT_READ)
            while selector.get_map():
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                ready = selector.select(left)
                if not ready and left == 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in ready:
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        self._read[key.fd].append(chunk)
                    else:
                        selector.unregister(key.fd)
        self.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        out = [self._text(s) for s in (self.stdout, self.stderr)]
        return out[0], out[1]

    def _text(self, stream: IO[str] | None) -> str | None:
        if stream is None:
            return None
        data = b"".join(self._read.get(stream.fileno(), [])) if not stream.closed else b""
        stream.close()
        return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """The harness's side: one fork server process; `popen(argv, env, …)` starts a `lanner` command.

    Safe to share between threads (each request is one message; each child has its own reply
    socket)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = ours
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.forkserver"], env=dict(env or os.environ),
                                     cwd=ROOT, stdin=theirs, stdout=PIPE, text=True, start_new_session=True)
        theirs.close()
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the fork server did not start: {ready!r} (see its stderr above)")

    def popen(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path | str | None = None,
              stdout: int | None = PIPE, stderr: int | None = PIPE, stdin: int | None = None,
              new_session: bool = False) -> ForkedProcess:
        """Start `lanner ARGV`. stdout/stderr: PIPE (read them through the handle), STDOUT (stderr
        only), or a descriptor the child writes to; stdin: a descriptor, or /dev/null."""
        mine: list[int] = []  # our read ends of the pipes
        theirs: list[int] = []  # descriptors handed over, closed here once sent
        try:
            theirs.append(os.open(os.devnull, os.O_RDONLY) if stdin is None else os.dup(stdin))
            for wanted in (stdout, stderr):
                if wanted == PIPE:
                    r, w = os.pipe()
                    mine.append(r)
                    theirs.append(w)
                elif wanted == STDOUT:
                    theirs.append(os.dup(theirs[1]))
                    mine.append(-1)
                else:
                    theirs.append(os.open(os.devnull, os.O_WRONLY) if wanted is None else os.dup(wanted))
                    mine.append(-1)
            reply, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            theirs.append(server_end.detach())
            request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd or os.getcwd()),
                       "new_session": new_session}
            socket.send_fds(self._control, [json.dumps(request).encode()], theirs)
        except BaseException:
            for fd in mine:
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        return ForkedProcess(argv, reply, mine[0] if mine[0] >= 0 else None, mine[1] if mine[1] >= 0 else None)

    def run(self, argv: Sequence[str], env: Mapping[str, str], timeout: float | None = None,
            cwd: Path | str | None = None) -> subprocess.CompletedProcess[str]:
        """Like `subprocess.run(..., capture_output=True, text=True)`: on a timeout the command is killed."""
        proc = self.popen(argv, env, cwd)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        assert proc.returncode is not None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def close(self) -> None:
        self._control.close()  # the server's loop ends on it; its children live on in their own sessions
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


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
