"""The warm interpreter of Python tasks: a fork server whose children behave like `python script.py`.

Started by `lanner.worker.warm_python` as `python <this file> <control fd>` (a file, not `-m`:
importing `lanner` here would show in every task's `sys.modules`). It imports the standard
modules tasks use most (`PRELOADED`), then waits on the control socket. For each task Lanner
sends one end of a fresh socket pair; the server forks a *keeper* for it and goes back to
waiting, so a task never waits for another. The server exits when Lanner closes the control
socket (Lanner ended, or died: the kernel closes it).

The keeper does for its task what `lanner.worker.keeper` does for a host command, with the task's
socket as its tie to Lanner instead of a PDEATHSIG (it is not Lanner's child):

- it leads a new session, so `killpg(keeper pid)` reaches the task and whatever it starts, and it
  blocks SIGTERM/SIGINT/SIGHUP/SIGQUIT so a cancellation ends the task first;
- it forks the task process, which gets PDEATHSIG=SIGKILL (it dies with its keeper), stdin
  /dev/null, stdout/stderr the attempt's files, no other descriptor, the task's cwd and
  environment, signal handlers as a fresh interpreter sets them and an empty signal mask, then
  runs the script as `__main__` and ends as the interpreter ends (atexit, threads, flushes);
- when the task exits it writes the attempt's note (write + rename), then sends the exit code;
- when Lanner's end of the socket closes first (Lanner died), it SIGKILLs the task and its whole
  group, and writes a note only if the task had exited on its own.

Exit codes and messages are those of the fresh route, where `/bin/sh -c` runs the interpreter: a
task killed by a signal the group did not get ends with 128 + the signal and the shell's message
("Segmentation fault") on stderr.

Modules imported here are shared in the sense that a task finds them already in `sys.modules`
(already-run import side effects, the same hash seed); anything a task changes (monkeypatches,
`os.environ`, cwd) stays in its own forked process.
"""

import sys

del sys.path[0]  # this file's folder: the task sets its own first entry, as `python script.py` does

import builtins  # noqa: E402 - after the path fix above, as every import here
import ctypes  # noqa: E402
import gc  # noqa: E402
import importlib.machinery  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import types  # noqa: E402

# What tasks import most often and costs an import each time (measured with -X importtime).
PRELOADED = ("argparse", "base64", "collections", "csv", "dataclasses", "datetime", "decimal", "functools",
             "hashlib", "itertools", "json", "logging", "math", "pathlib", "random", "re", "shutil",
             "subprocess", "tempfile", "textwrap", "time", "typing", "urllib.parse", "uuid")
for _name in PRELOADED:
    try:
        __import__(_name)
    except ImportError:  # pragma: no cover - a trimmed standard library
        pass

PR_SET_PDEATHSIG = 1
_GROUP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}
_LIBC = ctypes.CDLL(None, use_errno=True)
# Python's locale coercion (PEP 538) added LC_CTYPE to this process's environment at start-up: a
# fresh interpreter would add it to the task's too.
_COERCED_CTYPE = os.environ.get("LC_CTYPE") if os.environ.pop("LANNER_WARM_LC_CTYPE_GIVEN", "1") == "0" else None


def serve(control: int) -> dict:
    """Fork a keeper per task socket received; returns only in a task process (its request)."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    gc.freeze()  # what is loaded now is never collected in a fork: its pages stay shared
    while True:
        sock = socket.socket(fileno=control)
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 1)
        except InterruptedError:  # pragma: no cover - no handler is installed
            continue
        finally:
            sock.detach()
        if not message:  # Lanner closed the socket: no more tasks
            os._exit(0)
        if not fds:
            continue
        if os.fork() == 0:
            os.close(control)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            return keep(fds[0])
        os.close(fds[0])


def keep(conn: int) -> dict:
    """The keeper of one task (see the module docstring); returns only in the task process."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _GROUP_SIGNALS)
    os.setsid()
    request = _read_request(conn)
    try:
        os.chdir(request["cwd"])
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        out = os.open(request["stdout"], flags, 0o600)
        err = os.open(request["stderr"], flags, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError as exc:
        _send(conn, b"E%d\n" % (exc.errno or 0))
        os._exit(0)
    keeper = os.getpid()
    child = os.fork()
    if child == 0:
        _become_task(request, keeper, (null, out, err))
        return request
    os.close(out)
    os.close(null)
    _send(conn, b"P%d\n" % keeper)
    exited = os.pidfd_open(child)
    poller = select.poll()
    poller.register(exited, select.POLLIN)
    poller.register(conn, select.POLLIN)
    while True:
        ready = {fd for fd, _ in poller.poll()}
        if exited in ready:
            _, status = os.waitpid(child, 0)
            code = _shell_code(status, err)
            _write_note(request, code)
            _send(conn, b"X%d\n" % code)
            os._exit(0)
        if conn in ready and not _readable_data(conn):  # Lanner is gone
            done, status = os.waitpid(child, os.WNOHANG)
            if not done:
                os.kill(child, signal.SIGKILL)
                _, status = os.waitpid(child, 0)
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                _write_note(request, _shell_code(status, err))  # it had exited, or did in the race
                os._exit(0)
            os.killpg(keeper, signal.SIGKILL)  # its background processes, and this keeper


def _read_request(conn: int) -> dict:
    """`<length>\\n<JSON>` from Lanner."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(conn, 65536)
        if not chunk:
            os._exit(0)
        data += chunk
    size, _, data = data.partition(b"\n")
    while len(data) < int(size):
        chunk = os.read(conn, 65536)
        if not chunk:
            os._exit(0)
        data += chunk
    return json.loads(data)


def _send(conn: int, data: bytes) -> None:
    try:
        os.write(conn, data)
    except OSError:  # Lanner is gone; the note, if any, says how the task ended
        pass


def _readable_data(conn: int) -> bool:
    """False at end of file (Lanner closed its end, or died)."""
    try:
        return bool(os.read(conn, 64))
    except OSError:
        return False


def _shell_code(status: int, err: int) -> int:
    """The exit code `/bin/sh -c "python …"` reports, writing the shell's message for a signal.

    When the group got a termination signal (it is pending here, blocked), the shell would have
    died of it too, without a message: the code is then the negative signal, as a keeper reports.
    """
    if not os.WIFSIGNALED(status):
        return os.waitstatus_to_exitcode(status)
    sig = os.WTERMSIG(status)
    pending = signal.sigpending() & _GROUP_SIGNALS
    if pending:
        return -min(pending)
    if sig not in (signal.SIGINT, signal.SIGPIPE):
        text = signal.strsignal(sig) or f"Signal {sig}"
        if os.WCOREDUMP(status):
            text += " (core dumped)"
        try:
            os.write(err, text.encode() + b"\n")
        except OSError:
            pass
    return 128 + sig


def _write_note(request: dict, code: int) -> None:
    tmp = request["note"] + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, request["note_head"].encode() + b"%d}" % code)
    finally:
        os.close(fd)
    os.replace(tmp, request["note"])


def _become_task(request: dict, keeper: int, stdio: tuple[int, int, int]) -> None:
    """Turn this fork into the task's process, up to (not including) running its script."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != keeper:  # the keeper died before we were armed
        os._exit(137)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):  # reserved by the C library
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)  # what a fresh interpreter installs
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    env = dict(request["env"])
    env["PWD"] = request["cwd"]  # the shell of the fresh route exports it
    if _COERCED_CTYPE is not None and "LC_ALL" not in env and "LC_CTYPE" not in env:
        env["LC_CTYPE"] = _COERCED_CTYPE
    os.environ.clear()
    os.environ.update(env)


def run_main(request: dict) -> int:
    """Run the script in a new `__main__`, reporting errors as the interpreter would; the exit code."""
    python, script, *args = request["argv"]
    sys.argv = [script, *args]
    path = os.path.abspath(script)
    if not sys.flags.safe_path:
        sys.path.insert(0, os.path.dirname(os.path.realpath(script)))
    try:
        with open(path, "rb") as source:
            code = source.read()
    except OSError as exc:
        sys.stderr.write(f"{python}: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}\n")
        return 2
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __cached__=None, __builtins__=builtins,
                         __loader__=importlib.machinery.SourceFileLoader("__main__", path))
    sys.modules["__main__"] = main
    try:
        exec(compile(code, path, "exec"), main.__dict__)
    except SystemExit as exc:
        return _exit_code(exc)
    except SyntaxError as exc:  # shown without our frames, as the interpreter shows it
        sys.excepthook(type(exc), exc.with_traceback(None), None)
        return 1
    except BaseException as exc:  # noqa: BLE001 - whatever the script raised is reported as the interpreter does
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # from the script's frame on
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return -signal.SIGINT if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _exit_code(exc: SystemExit) -> int:
    """What the interpreter makes of `sys.exit(x)`: None is 0, an int itself, anything else printed and 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    try:
        sys.stderr.write(f"{exc.code}\n")
    except Exception:  # noqa: BLE001 - an unprintable exit value still exits 1
        pass
    return 1


def finish(code: int) -> None:
    """End the task process as the interpreter ends, minus the teardown of every object.

    Tearing the interpreter down would write to each page the server's modules live on (reference
    counts, the collector), copying them all: ~10x the cost of the script itself. So this does
    what the task can see — non-daemon threads waited for, atexit functions, stdout/stderr
    flushed (120 if that fails, as the interpreter exits) — and leaves with `os._exit`.
    """
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - reported by the exit code, as the interpreter does
            code = code or 120
    if code == -signal.SIGINT:  # an uncaught KeyboardInterrupt ends the interpreter by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    os._exit(code)


if __name__ == "__main__":
    finish(run_main(serve(int(sys.argv[1]))))
