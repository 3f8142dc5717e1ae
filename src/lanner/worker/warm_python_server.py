"""The warm interpreter of Python tasks: a fork server whose children behave like `python script.py`.

Started by `lanner.worker.warm_python` as `python <this file> <control fd>` (a file, not `-m`:
importing `lanner` here would show in every task's `sys.modules`). It imports the standard
modules tasks use most (`PRELOADED`), then waits on the control socket, where Lanner sends one
end of a fresh socket pair per task. It exits when Lanner closes the control socket (Lanner
ended, or died: the kernel closes it) and no task of its own runs any more.

For each task it forks the task process, and is that process's keeper: it does for it what
`lanner.worker.keeper` does for a host command, with the task's socket as its tie to Lanner
instead of a PDEATHSIG (it is not Lanner's child). One fork per task, not a keeper and a task:
a fork of an interpreter costs milliseconds here. That fork is made ahead of time: once a
task has ended (while Lanner prepares the next one), a spare process (`Spare`) is forked to wait
for the next task, so a task's start costs a hand-over on a socket, not a fork; when there is no
spare (tasks started together) or it died, the task's process is forked on request.

- The task process leads a new session (`killpg(task pid)` reaches it and whatever it starts),
  gets PDEATHSIG=SIGKILL (it dies with the server), stdin /dev/null, stdout/stderr the
  attempt's files, no other descriptor, the task's cwd and environment, the signal handlers of a
  fresh interpreter and an empty mask, then runs the script as `__main__` and ends as the
  interpreter ends (threads, atexit, flushes).
- When it exits, the server writes the attempt's note (write + rename), then sends the exit code.
- When Lanner's end of the task's socket closes first (Lanner died), the server SIGKILLs the
  task's whole group, and writes a note only if the task had exited on its own.

Exit codes and messages are those of the fresh route, where `/bin/sh -c` runs the interpreter: a
task killed by a signal ends with 128 + the signal and the shell's message ("Segmentation
fault") on stderr — unless Lanner said it was terminating the group (the shell would have died
too, silently): then the code is the negative signal, as a keeper reports it.

Modules imported here are shared in the sense that a task finds them already in `sys.modules`
(already-run import side effects, the same hash seed); anything a task changes (monkeypatches,
`os.environ`, cwd) stays in its own forked process.
"""

import sys

del sys.path[0]  # this file's folder: the task sets its own first entry, as `python script.py` does
# What any interpreter has loaded before it runs a script (with this environment's `.pth` files):
# a module of the script's own folder cannot shadow these in `python script.py` either.
_AT_START = frozenset(name.partition(".")[0] for name in sys.modules)

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
_LIBC = ctypes.CDLL(None, use_errno=True)
# Python's locale coercion (PEP 538) added LC_CTYPE to this process's environment at start-up: a
# fresh interpreter would add it to the task's too.
_COERCED_CTYPE = os.environ.get("LC_CTYPE") if os.environ.pop("LANNER_WARM_LC_CTYPE_GIVEN", "1") == "0" else None
# The keeper of the fresh route starts a command with these at their defaults, whatever Lanner had.
_DEFAULTED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class Task:
    """A running task: its process, its socket to Lanner, where its note goes."""

    def __init__(self, pid: int, conn: int, exited: int, err: int, request: dict) -> None:
        self.pid, self.conn, self.exited, self.err, self.request = pid, conn, exited, err, request
        self.group_signalled = False  # Lanner said it is terminating the group

    def close(self) -> None:
        for fd in (self.conn, self.exited, self.err):
            os.close(fd)


def serve(control: int) -> dict:
    """Start and keep tasks until Lanner is gone; returns only in a task process (its request)."""
    for sig in _DEFAULTED:  # what the server inherited ignored, a fresh task would not have
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # nor any signal blocked
    _note_import_paths()
    gc.freeze()  # what is loaded now is never collected in a fork: its pages stay shared
    poller = select.poll()
    poller.register(control, select.POLLIN)
    by_conn: dict[int, Task] = {}
    by_exit: dict[int, Task] = {}
    open_control = True
    spare = _fork_spare()
    if isinstance(spare, dict):
        return spare
    while open_control or by_exit:
        ready = poller.poll()
        # Lanner's words before exits (see `_code`), new tasks last: no descriptor closed in this
        # round is reused before the round's events for it are done with.
        ready.sort(key=lambda event: 2 if event[0] == control else 1 if event[0] in by_exit else 0)
        for fd, _ in ready:
            if fd == control:
                conn = _receive(control)
                if conn is None:
                    open_control = False
                    poller.unregister(control)
                    continue
                request = _read_request(conn)
                if request is None:
                    os.close(conn)
                    continue
                task, spare = _start(conn, request, spare)
                if isinstance(task, dict):  # the task process (its descriptors are closed already)
                    return task
                if task is not None:
                    by_conn[task.conn], by_exit[task.exited] = task, task
                    poller.register(task.conn, select.POLLIN)
                    poller.register(task.exited, select.POLLIN)
            elif fd in by_exit:
                task = by_exit.pop(fd)
                del by_conn[task.conn]
                poller.unregister(task.conn)
                poller.unregister(task.exited)
                _, status = os.waitpid(task.pid, 0)
                code = _code(status, task)
                _write_note(task.request, code)
                _send(task.conn, b"X%d\n" % code)
                task.close()
                if spare is None and open_control:  # the next task's process, while Lanner prepares that task
                    spare = _fork_spare()
                    if isinstance(spare, dict):
                        return spare
            elif fd in by_conn:
                task = by_conn[fd]
                data = _read(task.conn)
                if data:
                    task.group_signalled = task.group_signalled or b"T" in data
                    continue
                poller.unregister(task.conn)  # Lanner is gone
                del by_conn[task.conn]
                del by_exit[task.exited]
                poller.unregister(task.exited)
                _owner_gone(task)
                task.close()
    if spare is not None:
        os.close(spare.sock)  # it reads the end of file and leaves (or dies with us: PDEATHSIG)
    os._exit(0)


def _receive(control: int) -> int | None:
    """The next task's socket, or None once Lanner closed the control socket."""
    while True:
        sock = socket.socket(fileno=control)
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 1)
        finally:
            sock.detach()
        if not message:
            return None
        if fds:
            return fds[0]


def _start(conn: int, request: dict, spare: "Spare | None") -> tuple["Task | dict | None", "Spare | None"]:
    """Give the task to the spare process (forking one if there is none or it is gone): its request
    in the task process, its `Task` here (None if it cannot start), and the spare left unused."""
    if _import_paths_changed():  # Lanner replaces this server with one that sees the change
        _send(conn, b"S\n")
        os.close(conn)
        return None, spare
    shadowing = _shadowing_module(request)
    if shadowing is not None:  # Lanner starts `python script.py` afresh instead
        _send(conn, b"F%s\n" % shadowing.encode("utf-8", "replace"))
        os.close(conn)
        return None, spare
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        out = os.open(request["stdout"], flags, 0o600)
        err = os.open(request["stderr"], flags, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        if not os.path.isdir(request["cwd"]):
            raise FileNotFoundError(2, "No such file or directory")
    except OSError as exc:
        _send(conn, b"E%d\n" % (exc.errno or 0))
        os.close(conn)
        return None, spare
    child = spare.hand_over(request, (null, out, err)) if spare is not None else None
    if child is None:  # no spare, or it died: fork the task process now, as before spares existed
        if spare is not None:
            spare.discard()
        spare = None
        server = os.getpid()
        try:
            child = os.fork()
        except OSError as exc:  # no process to spare: the task fails as a command that cannot start
            for fd in (out, err, null):
                os.close(fd)
            _send(conn, b"E%d\n" % (exc.errno or 0))
            os.close(conn)
            return None, None
        if child == 0:
            _arm(server)
            _become_task(request, (null, out, err))
            return request, None
    os.close(out)
    os.close(null)
    _send(conn, b"P%d\n" % child)
    return Task(child, conn, os.pidfd_open(child), err, request), None


_preloaded: tuple[int, frozenset] = (0, frozenset())
_import_paths: list[tuple[str, int | None]] = []  # (folder, its mtime, or None when missing) at start


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _note_import_paths() -> None:
    """Remember what `_import_paths_changed` compares: the site folders' mtimes (`site` reads their
    `.pth` files, and adds the user's one only if it exists, as the interpreter starts) and which
    other folders on `sys.path` existed. Not the standard library's folders, which installs leave
    alone."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    standard = {paths["stdlib"], paths["platstdlib"], os.path.join(paths["stdlib"], "lib-dynload")}
    sites: list[str] = []
    if not sys.flags.no_site:
        sites += site.getsitepackages()
        if site.ENABLE_USER_SITE:
            sites.append(site.getusersitepackages())
    folders = [(folder, _stamp(folder)) for folder in dict.fromkeys(sites) if folder]
    folders += [(folder, None if _stamp(folder) is None else -1) for folder in dict.fromkeys(sys.path)
                if folder and folder not in standard and folder not in sites and not folder.endswith(".zip")]
    _import_paths[:] = folders


def _import_paths_changed() -> bool:
    """Can a fresh interpreter now import what a fork of this one could not?

    A task that ran `pip install` changed a site folder (new packages, perhaps a `.pth` file that
    only start-up reads), or created the user's site folder; a folder on PYTHONPATH may have been
    created since (the import system remembered it as missing). New files in folders that existed
    are found by the import system itself (it compares their mtimes), so for those only existence
    is compared: a PYTHONPATH of /tmp, where every task makes its folder, does not restart the
    server. A few `stat` calls a task.
    """
    for folder, stamp in _import_paths:
        now = _stamp(folder)
        if (stamp == -1 and now is None) or (stamp != -1 and now != stamp):
            return True
    return False


def _shadowing_module(request: dict) -> str | None:
    """A module in the script's folder named as one this server has loaded (and a fresh interpreter
    would not have yet), or None.

    `python script.py` puts the script's folder first on `sys.path`, so `import json` beside a
    `json.py` imports that file; here `json` is loaded already and the import would return the
    standard one. Such a task must run in a fresh interpreter. Module files are those the import
    system would take (`.py`, `.pyc`, extension modules) and folders with an `__init__`; a file the
    script writes into its folder while it runs is not seen here.
    """
    global _preloaded
    if sys.flags.safe_path:  # PYTHONSAFEPATH: the folder is not on sys.path at all
        return None
    if _preloaded[0] != len(sys.modules):  # computed again only when the server imported more
        _preloaded = (len(sys.modules), frozenset(name.partition(".")[0] for name in sys.modules) - _AT_START)
    script = os.path.join(request["cwd"], request["argv"][1])
    folder = os.path.dirname(os.path.realpath(script))
    try:
        entries = os.listdir(folder)
    except OSError:
        return None  # the task itself reports what is wrong with its folder
    suffixes = importlib.machinery.all_suffixes()
    for entry in entries:
        name = entry.partition(".")[0]
        if name not in _preloaded[1]:
            continue
        if entry == name:
            init = os.path.join(folder, entry, "__init__")
            if any(os.path.isfile(init + suffix) for suffix in suffixes):
                return entry
        elif entry[len(name):] in suffixes:
            return entry
    return None


class Spare:
    """A process forked ahead of the next task, waiting for its request on a socket of its own.

    The fork (and the kernel's copy of the server's page tables) then happens while the previous
    task runs instead of between Lanner's request and the task's start: ~1 ms of a short task's
    latency here. The process is the server's child, armed (PDEATHSIG) and holding no other
    descriptor, so a task that runs in it is indistinguishable from one forked on request.
    """

    def __init__(self, pid: int, sock: int) -> None:
        self.pid, self.sock = pid, sock

    def hand_over(self, request: dict, stdio: tuple[int, int, int]) -> int | None:
        """Send the request and the task's stdio to the spare; its pid, or None if it is gone."""
        data = json.dumps(request).encode()
        data = b"%d\n" % len(data) + data
        sock = socket.socket(fileno=self.sock)
        try:
            sent = socket.send_fds(sock, [data[:65536]], list(stdio))
            if sent < len(data):  # not otherwise: a spare that has read it all may have closed its end already
                sock.sendall(data[sent:])
        except OSError:
            return None
        finally:
            sock.detach()
        os.close(self.sock)
        return self.pid

    def discard(self) -> None:
        """A spare that could not take its task: make sure it is gone, and reap it."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.sock)


def _fork_spare() -> "Spare | dict | None":
    """Fork the next task's process: a `Spare` here; in the spare, once its task came, the request
    (None where no process can be forked now: the next task then forks on request)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    server = os.getpid()
    try:
        child = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if child == 0:
        _arm(server)
        sock = theirs.detach()
        ours.close()
        os.closerange(3, sock)  # the server's sockets and other tasks' files are none of the task's business
        os.closerange(sock + 1, os.sysconf("SC_OPEN_MAX"))
        request, stdio = _await_task(sock)
        _become_task(request, stdio)
        return request
    theirs.close()
    return Spare(child, ours.detach())


def _await_task(sock: int) -> tuple[dict, tuple[int, int, int]]:
    """In a spare: block until the server hands over a task; leave quietly if it never will."""
    conn = socket.socket(fileno=sock)
    try:
        data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
        while data and b"\n" not in data:
            data += conn.recv(65536)
        size, _, data = data.partition(b"\n")
        while size.isdigit() and len(data) < int(size):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        os._exit(0)
    finally:
        conn.close()
    if len(fds) != 3 or not size.isdigit() or len(data) != int(size):
        os._exit(0)  # the server closed our socket: it is ending, and no task will come
    return json.loads(data), (fds[0], fds[1], fds[2])


def _owner_gone(task: Task) -> None:
    """Lanner died: kill the task's group; note its exit only if it had ended on its own."""
    done, status = os.waitpid(task.pid, os.WNOHANG)
    if not done:
        os.kill(task.pid, signal.SIGKILL)
        _, status = os.waitpid(task.pid, 0)
    try:
        os.killpg(task.pid, signal.SIGKILL)  # what it started in the background
    except OSError:
        pass
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        _write_note(task.request, _code(status, task))  # it had exited, or did in the race


def _read_request(conn: int) -> dict | None:
    """`<length>\\n<JSON>` from Lanner (None if it went away first)."""
    data = b""
    while b"\n" not in data:
        chunk = _read(conn)
        if not chunk:
            return None
        data += chunk
    size, _, data = data.partition(b"\n")
    if not size.isdigit():
        return None
    while len(data) < int(size):
        chunk = _read(conn)
        if not chunk:
            return None
        data += chunk
    try:
        request = json.loads(data)
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def _read(conn: int) -> bytes:
    """What Lanner sent; empty at end of file (it closed its end, or died)."""
    try:
        return os.read(conn, 65536)
    except OSError:
        return b""


def _send(conn: int, data: bytes) -> None:
    try:
        os.write(conn, data)
    except OSError:  # Lanner is gone; the note, if any, says how the task ended
        pass


def _code(status: int, task: Task) -> int:
    """The exit code `/bin/sh -c "python …"` reports, writing the shell's message for a signal.

    When Lanner terminated the group (it says so before signalling: the poll loop reads its words
    before exits), the shell would have died of the signal too, without a message: the code is
    then the negative signal, as a keeper reports it.
    """
    if not os.WIFSIGNALED(status):
        return os.waitstatus_to_exitcode(status)
    sig = os.WTERMSIG(status)
    if task.group_signalled:
        return -sig
    if sig not in (signal.SIGINT, signal.SIGPIPE):
        text = signal.strsignal(sig) or f"Signal {sig}"
        if os.WCOREDUMP(status):
            text += " (core dumped)"
        try:
            os.write(task.err, text.encode() + b"\n")
        except OSError:
            pass
    return 128 + sig


def _write_note(request: dict, code: int) -> None:
    """Write + rename, as the keeper does; a note that cannot be written only costs a re-run after a
    crash, whereas an exception here would end the server and every task it keeps."""
    tmp = request["note"] + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, request["note_head"].encode() + b"%d}" % code)
        finally:
            os.close(fd)
        os.replace(tmp, request["note"])
    except OSError:
        pass


def _arm(server: int) -> None:
    """In a fork of the server: die with it (PDEATHSIG), and at once if it died before we were armed."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server:
        os._exit(137)


def _become_task(request: dict, stdio: tuple[int, int, int]) -> None:
    """Turn this armed fork into the task's process, up to (not including) running its script."""
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(request["cwd"])
    env = dict(request["env"])
    env["PWD"] = request["cwd"]  # the shell of the fresh route exports it
    if _COERCED_CTYPE is not None and "LC_ALL" not in env and "LC_CTYPE" not in env:
        env["LC_CTYPE"] = _COERCED_CTYPE
    for name in [name for name in os.environ if name not in env]:
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def run_main(request: dict) -> int:
    """Run the script in a new `__main__`, reporting errors as the interpreter would; the exit code."""
    python, script, *args = request["argv"]
    sys.argv = [script, *args]
    sys.orig_argv = [python, script, *args]  # what the shell would have started; not the server's own
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
    """End the task process as the interpreter ends, minus the teardown of the server's own objects.

    Tearing the whole interpreter down would write to each page the server's modules live on
    (reference counts, the collector), copying them all: ~10x the cost of the script itself. So
    this does what the task can see — non-daemon threads waited for, atexit functions,
    stdout/stderr flushed (120 if that fails, as the interpreter exits), then the teardown of the
    task's own modules (`_tear_down_task_modules`: files it never closed are flushed, `__del__`
    runs) — and leaves with `os._exit`.
    """
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    import atexit

    atexit._run_exitfuncs()
    code = _flush_std_files(code)
    try:
        _tear_down_task_modules()
    except BaseException:  # noqa: BLE001 - the interpreter's teardown never changes how the script ended
        pass
    code = _flush_std_files(code)  # again, for what a `__del__` printed, as the interpreter does
    if code == -signal.SIGINT:  # an uncaught KeyboardInterrupt ends the interpreter by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    os._exit(code)


def _flush_std_files(code: int) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - reported by the exit code, as the interpreter does
            code = code or 120
    return code


def _tear_down_task_modules() -> None:
    """Release the task's modules (its `__main__` and what it imported) as the interpreter's teardown does.

    Without it a file the script wrote but never closed lost its buffered data, a module-level
    `NamedTemporaryFile` stayed on disk and `__del__` never ran, where `python script.py` flushes,
    deletes and runs them (CPython's `finalize_modules`): the standard streams are restored, the
    modules leave `sys.modules`, garbage is collected, the dicts of modules still alive are
    cleared (names with one leading underscore first) and garbage is collected again. The server's
    own modules are left as they are (see `finish`); a daemon thread still running, which the
    interpreter would stop first, may run meanwhile.

    The task's objects are found among those the collector tracks outside the frozen generation
    (`gc.freeze` in `serve`): walking `sys.modules` instead would touch every server module's
    reference count, and so copy a page of memory per module (~0.3 ms a task here).
    """
    for name in ("stdin", "stdout", "stderr"):
        original = getattr(sys, f"__{name}__", None)
        if getattr(sys, name, None) is not original:
            setattr(sys, name, original)
    alive = _flush_files_and_release_modules()
    gc.collect()
    for ref in reversed(alive):
        module = ref()
        if module is not None:
            _clear_module_dict(module.__dict__)
        del module
    gc.collect()


def _flush_files_and_release_modules() -> list:
    """Flush the file objects the task left open; take its modules out of `sys.modules`, oldest first,
    and return weak references to them (no strong one is left here).

    Flushing comes first because a module with a class or a function is a reference cycle, whose
    objects the collector finalizes in no fixed order: the raw file could close before the buffer in
    front of it had written. `python script.py` kept such data in every case tried here, and lost
    it in a few others (a file in a cycle of its own, or in globals a daemon thread still uses); here
    it is always kept. Only flushing: closing stays with the finalizers, as in the interpreter.
    """
    import _io
    import weakref

    files, modules = [], []
    for generation in (2, 1, 0):  # the oldest objects first: modules in the order they were made
        for obj in gc.get_objects(generation):
            if isinstance(obj, _io._IOBase):
                files.append(obj)
            elif isinstance(obj, types.ModuleType):
                modules.append(obj)
    for file in files:
        try:
            if not file.closed and file.writable():
                file.flush()
        except Exception:  # noqa: BLE001 - the interpreter ignores what a finalizer raises
            pass
    alive = []
    for module in modules:
        name = module.__dict__.get("__name__")
        if isinstance(name, str) and sys.modules.get(name) is module:
            del sys.modules[name]
        alive.append(weakref.ref(module))
    return alive  # the strong references in this frame go with it


def _clear_module_dict(names: dict) -> None:
    """What the interpreter does to a module dict at exit: every value None, `_private` ones first."""
    for private in (True, False):
        for key in list(names):
            if isinstance(key, str) and key != "__builtins__" and (
                    not private or (key.startswith("_") and not key.startswith("__"))):
                names[key] = None


if __name__ == "__main__":
    finish(run_main(serve(int(sys.argv[1]))))
