"""A keeper process per host command: it outlives Lanner just long enough to write down how the command ended.

Without it, a command that has done its work and exited, in the instant before Lanner stores the
attempt's result, takes its exit status with it when Lanner is SIGKILLed: recovery must count the
attempt as cut off and run the command again. So each command runs under a keeper, forked from
the worker thread (no new interpreter: that would cost ~19 ms per task), which:

- leads the command's session, so `killpg(keeper pid)` reaches the whole tree, as the cancel path
  and `leftovers` expect;
- gets SIGUSR1 when the worker thread that forked it dies (PDEATHSIG, tied to the thread as for
  any child), and blocks the signals it waits for — SIGTERM too, so that a cancellation's SIGTERM
  to the group ends the command first and the keeper then mirrors it;
- starts the command with default signal dispositions and mask, stdin /dev/null, stdout/stderr
  the files Lanner tails (they survive Lanner too). It uses posix_spawn (vfork-fast), not a second
  fork of this Python-sized process: that fork cost ~2 ms more per task here. posix_spawn cannot
  set the command's own PDEATHSIG, so where util-linux's `setpriv` is installed (Debian and most
  distributions have it) the keeper spawns `setpriv --pdeathsig KILL -- command …`, which sets
  it and execs the command in place (one more exec, well under a millisecond): the command then
  dies with its keeper even when both are killed at once — `pkill -9 -f 'lanner run'` matches
  the keeper too, since it is a fork of Lanner. Without `setpriv`, a keeper SIGKILLed under a
  live Lanner is seen by `run_process`, which kills the group itself; one SIGKILLed together
  with Lanner leaves the command to the group's record, which lets the next attempt end what
  runs on (`leftovers`);
- when the command exits on its own, writes a note with the exit code (write + rename: a reader
  never sees half of it; no fsync: it must survive Lanner, not the machine), then exits the way
  the command did (same code, or killed by the same signal), so Lanner sees what it always saw;
- when Lanner dies first, SIGKILLs the command's whole group (background grandchildren too) and
  writes no note: the attempt was cut off and will run again — unless the command had exited
  already, or exits on its own in that very instant, in which case its note is written.

The keeper is a fork (without exec) of a threaded process, so it uses only os/signal calls and
simple values prepared by the parent (the hazard class of `preexec_fn`).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import resource
import shutil
import signal
import subprocess
import warnings
from pathlib import Path

from lanner.worker import process_groups

# Python 3.12+ warns on every fork of a threaded process; the keeper's child side is written for
# exactly that (see the module docstring), so the warning would only be noise in task logs.
warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning)

OWNER_GONE = signal.SIGUSR1  # the keeper's PDEATHSIG: catchable, unlike the command's SIGKILL
_WAITED = {signal.SIGCHLD, OWNER_GONE}
_BLOCKED = _WAITED | {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}
# Lanner (Python) ignores SIGPIPE and SIGXFSZ and may handle others; a command gets them all back.
_DEFAULTED = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
              signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD)
KEEPER_FAILED = 125  # the keeper could not start the command (no note is written)


@dataclasses.dataclass(slots=True, frozen=True)
class Paths:
    """Where one attempt's command writes, beside the attempt's records (they survive Lanner)."""

    stdout: Path
    stderr: Path
    note: Path


@dataclasses.dataclass(slots=True)
class Kept:
    """A running keeper (pid = the command's process group); `poll` reaps it once it has exited."""

    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code the command had (negative: killed by that signal), or None while it runs."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: nothing more can be known
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def start(argv: list[str], env: dict[str, str], cwd: Path, paths: Paths, note_head: bytes) -> Kept:
    """Start `argv` under a keeper; raises OSError (with the command's errno) when it cannot run.

    `note_head` is the note's JSON up to the exit code: the keeper appends `<code>}`.
    """
    executable = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if executable is None:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
    launcher = _pdeathsig_launcher()
    if launcher is not None:  # the command's own PDEATHSIG, tied to the keeper (see the module docstring)
        executable, argv = launcher, [launcher, "--pdeathsig", "KILL", "--", executable, *argv[1:]]
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    out = os.open(paths.stdout, flags, 0o600)
    err = os.open(paths.stderr, flags, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    errors_r, errors_w = os.pipe()  # EOF once the command started (close-on-exec), else its errno
    arm = process_groups.pdeathsig_arming()
    parent, max_fd = os.getpid(), os.sysconf("SC_OPEN_MAX")
    note, tmp = str(paths.note).encode(), f"{paths.note}.tmp".encode()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child side (measured through its effects by the tests)
            code = KEEPER_FAILED
            try:
                code = _keep(executable, argv, env, str(cwd), (null, out, err), errors_w, max_fd, parent, arm,
                             note, tmp, note_head)
            finally:
                os._exit(code)
    finally:
        for fd in (out, err, null, errors_w):
            os.close(fd)
    try:
        failure = b""
        while chunk := os.read(errors_r, 64):
            failure += chunk
    finally:
        os.close(errors_r)
    kept = Kept(pid)
    if failure:
        os.waitpid(pid, 0)
        code = int(failure) if failure.isdigit() else 0
        raise OSError(code, os.strerror(code) if code else "the command could not be started")
    return kept


@functools.cache
def _pdeathsig_launcher() -> str | None:
    """util-linux's `setpriv`, if it is here and knows `--pdeathsig` (util-linux 2.33+); checked once."""
    path = shutil.which("setpriv")
    if path is None:
        return None
    try:
        done = subprocess.run([path, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):  # unusable here: the keeper starts commands directly
        return None
    return path if done.returncode == 0 else None


def _keep(executable: str, argv: list[str], env: dict[str, str], cwd: str, stdio: tuple[int, int, int],
          errors_w: int,
          max_fd: int, parent: int, arm: process_groups.Arming | None, note: bytes, tmp: bytes,
          note_head: bytes) -> int:  # pragma: no cover - runs in the forked keeper
    """The keeper's life: start the command, wait, note its exit (or kill its group). Returns an exit code."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    for sig in _DEFAULTED:
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    if arm is not None and not arm(OWNER_GONE, parent):
        return KEEPER_FAILED  # Lanner died before the keeper was armed: start nothing
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(3, errors_w)
    os.closerange(errors_w + 1, max_fd)
    keeper = os.getpid()
    os.chdir(cwd)  # the keeper's own folder does not matter; posix_spawn has no chdir of its own
    try:
        command = os.posix_spawn(executable, argv, env, setsigmask=(), setsigdef=_DEFAULTED)
    except OSError as exc:
        os.write(errors_w, str(exc.errno or 0).encode())
        return 127
    os.close(errors_w)
    while True:
        got = signal.sigwaitinfo(_WAITED)
        if got.si_signo == signal.SIGCHLD:
            done, status = os.waitpid(command, os.WNOHANG)
            if done:
                _write_note(note, tmp, note_head, status)
                return _mirror(status)
        elif os.getppid() != parent:  # the owner died (a stray SIGUSR1 from anyone else is ignored)
            done, status = os.waitpid(command, os.WNOHANG)
            if not done:
                os.kill(command, signal.SIGKILL)
                _, status = os.waitpid(command, 0)
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                _write_note(note, tmp, note_head, status)  # it had exited, or did on its own in the race
                return 0
            os.killpg(keeper, signal.SIGKILL)  # its background processes, and this keeper
            return KEEPER_FAILED


def _write_note(note: bytes, tmp: bytes, head: bytes, status: int) -> None:  # pragma: no cover - in the keeper
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, head + b"%d}" % os.waitstatus_to_exitcode(status))
    finally:
        os.close(fd)
    os.replace(tmp, note)


def _mirror(status: int) -> int:  # pragma: no cover - in the keeper
    """End the keeper as the command ended: its exit code, or death by its signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the command's crash, not the keeper's, is news
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)
