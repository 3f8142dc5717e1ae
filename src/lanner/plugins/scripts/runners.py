"""Where a script task's command runs: a host process group (`Process`) or a container (`Docker`).

Both stream output lines into the task's logs as they come and stop everything they started
when the task is killed or times out. A host command runs under a keeper, in a session (process
group) the keeper leads: `sh -c "sleep 60 & wait"` leaves nothing behind, because the whole
group gets SIGTERM and, after a short grace, SIGKILL. Its output goes to files, and its exit
is noted by the keeper, so both outlive a crash of Lanner (`lanner.worker.attempt_notes`).
"""

from __future__ import annotations

import dataclasses
import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lanner.model.property import Bool
from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.docker.engine import ContainerOptions
from lanner.plugins.properties import render_bool, render_str
from lanner.plugins.scripts.support import LineBuffer, LineSink, replay
from lanner.worker import attempt_notes, keeper, process_groups, warm_python

TERM_GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL of a cancelled process group
TAIL_SECONDS = 0.03  # how often new output of a running command reaches the logs


class ProcessRunner(BaseModel):
    """Run on the host, in the task's working directory (Lanner's default: there is no registry)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["io.kestra.plugin.core.runner.Process",
                  "io.kestra.core.models.tasks.runners.types.ProcessTaskRunner"]
    version: str | None = None


class DockerRunner(ContainerOptions):
    """Run in a container with the working directory bind-mounted at the same path."""

    type: Literal["io.kestra.plugin.scripts.runner.docker.Docker",
                  "io.kestra.plugin.scripts.runner.docker.DockerTaskRunner"]
    image: str | None = None  # legacy spelling of the task's `containerImage`
    delete: Bool = True
    wait: Bool = True
    fileHandlingStrategy: Literal["MOUNT", "VOLUME"] | None = None  # Lanner always mounts
    version: str | None = None


TaskRunner = Annotated[ProcessRunner | DockerRunner, Field(discriminator="type")]


@dataclasses.dataclass(slots=True)
class Command:
    """One command to run: argv (interpreter + script), extra environment, working directory.

    `python` is set when the command is exactly `python script.py [args]` with Lanner's own
    interpreter (`warm_route`): it then runs as a fork of the warm interpreter
    (`lanner.worker.warm_python`) unless that is switched off or unavailable.
    """

    argv: list[str]
    env: dict[str, str]
    workdir: Path
    python: list[str] | None = None


# -- host processes -------------------------------------------------------------------------


def run_process(ctx: RunContext, cmd: Command, sink: LineSink) -> int:
    """Run on the host; returns the exit code. Raises TaskFailure when cancelled (group terminated).

    The command runs under a keeper (`lanner.worker.keeper`) that leads its process group, notes
    its exit where a later attempt finds it, and kills the group if this process dies. Output goes
    to files (they survive this process) that are tailed into the task's logs. The group is
    recorded with the attempt until it is gone, so that a later attempt ends whatever it left
    behind before starting (`lanner.worker.leftovers`). When the worker found that an earlier,
    cut-off attempt's command had already finished, nothing is started: its recorded output and
    exit code are used (`_replay`).
    """
    adopted = getattr(ctx, "adopted", None)  # only the worker's context adopts attempts
    if adopted is not None:
        return _replay(adopted, sink)
    command_files = getattr(ctx, "command_files", None)
    return _run_kept(ctx, cmd, sink, command_files() if command_files is not None else None)


def run_host_step(ctx: RunContext, cmd: Command, sink: LineSink) -> int:
    """Run a preparatory host command (an install) the way `run_process` runs the task's command,
    under a keeper and cancellable, but with its output and note in a private folder.

    The attempt's note files belong to the task's own command: were an install to write there, a
    crash after it would make the next attempt adopt the install's exit code as the script's.
    """
    return _run_kept(ctx, cmd, sink, None)


def _run_kept(ctx: RunContext, cmd: Command, sink: LineSink, files: keeper.Paths | None) -> int:
    """Start `cmd` under a keeper and follow it; without `files`, in a private folder removed after."""
    private: Path | None = None
    if files is None:
        private = Path(tempfile.mkdtemp(prefix="lanner-attempt-"))
        files = attempt_notes.paths(private, 1)
    try:
        try:
            kept = _start(cmd, files, attempt_notes.note_head(getattr(ctx, "attempt", 1), cmd.workdir))
        except OSError as exc:
            raise TaskFailure(f"Cannot start `{cmd.argv[0]}`: {exc.strerror or exc}") from None
        started = getattr(ctx, "process_started", None)  # only the worker's context records attempts
        forget = started(kept.pid) if started is not None else None
        try:
            return _follow(ctx, kept, files, sink)
        finally:
            # The attempt is over: its group was terminated, or the command ended. What it left in
            # the background may go on (as in Kestra), but keeps its record until it is gone, so
            # that a retry of this task run or a hard stop ends it first.
            if forget is not None:
                forget()
            if isinstance(kept, warm_python.Warm):
                kept.close()
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)


def _start(cmd: Command, files: keeper.Paths, note_head: bytes) -> keeper.Kept | warm_python.Warm:
    """Start the command under a keeper: a fork of the warm interpreter when it may, else a fresh process."""
    env = {**process_environment(), **cmd.env}
    if cmd.python is not None and warm_python.enabled():
        try:
            return warm_python.start(cmd.python, env, cmd.workdir, files, note_head)
        except warm_python.Unavailable:  # the fresh route does the same, slower
            pass
    return keeper.start(cmd.argv, env, cmd.workdir, files, note_head)


def process_environment() -> dict[str, str]:
    """A copy of `os.environ`, which every command starts from.

    Copying `os.environ` decodes each of its variables, a few dozen microseconds per command: the
    decoded copy is kept, and made again only when the variables themselves (the bytes the process
    holds, compared in one step) have changed since.
    """
    global _environ
    raw = getattr(os.environ, "_data", None)
    if not isinstance(raw, dict):  # not CPython's POSIX `os.environ`: nothing to compare
        return dict(os.environ)
    seen = _environ
    if seen is None or seen[0] != raw:
        seen = _environ = (dict(raw), dict(os.environ))
    return dict(seen[1])


_environ: tuple[dict[bytes, bytes], dict[str, str]] | None = None


def _follow(ctx: RunContext, kept: keeper.Kept | warm_python.Warm, files: keeper.Paths, sink: LineSink) -> int:
    """Tail the command's output files into the sink until it exits (or the task is cancelled).

    The keeper's exit is noticed at once (a pidfd is readable when it exits): the command's exit
    is on record in its note by then, so this no longer decides whether a crash re-runs it, but a
    chain of short tasks still moves as fast as its commands.
    """
    streams = [_Tail(files.stdout, stderr=False), _Tail(files.stderr, stderr=True)]
    exited = _ExitWatch(kept.fileno()) if isinstance(kept, warm_python.Warm) else _ExitWatch.of_child(kept.pid)
    try:
        while kept.poll() is None:
            if ctx.cancelled.is_set():
                _terminate(ctx, kept)
                for stream in streams:  # what it said while it was being stopped
                    stream.read(sink, final=True)
                raise TaskFailure("cancelled; the process group was terminated")
            exited(TAIL_SECONDS)
            for stream in streams:
                stream.read(sink)
        for stream in streams:
            stream.read(sink, final=True)
        if kept.returncode == -signal.SIGKILL and not files.note.exists() and process_groups.alive(kept.pid):
            # The keeper itself was SIGKILLed (it mirrors a command's own death only after noting
            # it), and not with its group (a hard stop): its command, which has no PDEATHSIG of
            # its own, would run on unwatched.
            process_groups.signal_group(kept.pid, signal.SIGKILL)
            ctx.logger.warn(f"The keeper of process group {kept.pid} was killed; killed the group too")
        assert kept.returncode is not None
        return kept.returncode
    finally:
        exited.close()
        for stream in streams:
            stream.close()


def _replay(note: attempt_notes.Note, sink: LineSink) -> int:
    """Feed an earlier attempt's recorded output to the sink (so its `::{"outputs":…}::` lines
    count) and return its recorded exit code."""
    replay(note.stdout, note.stderr, sink.line)
    return note.exit_code


class _Tail:
    """New bytes of one output file, cut into lines for the sink; reads nothing if the file is missing."""

    def __init__(self, path: Path, stderr: bool) -> None:
        self.stderr = stderr
        self.buffer = LineBuffer()
        try:
            self.fd: int | None = os.open(path, os.O_RDONLY)
        except OSError:
            self.fd = None

    def read(self, sink: LineSink, final: bool = False) -> None:
        while self.fd is not None:
            data = os.read(self.fd, 65536)
            if not data:
                break
            for line in self.buffer.feed(data):
                sink.line(line, self.stderr)
        if final:
            for line in self.buffer.flush():
                sink.line(line, self.stderr)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _ExitWatch:
    """Sleep until a command ends or a timeout passes: on a descriptor readable at its end (a child's
    pidfd, a warm task's socket), or by short sleeps where there is none. (`poll`, not a
    `selectors` object: one watch per task, and an epoll set costs three system calls to make and
    drop for one descriptor.)"""

    def __init__(self, readable: int | None, owned: bool = False) -> None:
        self.poller: select.poll | None = None
        self.fd = readable if owned else None  # closed with the watch
        if readable is not None:
            self.poller = select.poll()
            self.poller.register(readable, select.POLLIN)

    @classmethod
    def of_child(cls, pid: int) -> _ExitWatch:
        try:
            return cls(os.pidfd_open(pid), owned=True)
        except (AttributeError, OSError):  # not Linux ≥ 5.3: short sleeps bound the delay instead
            return cls(None)

    def __call__(self, seconds: float) -> None:
        if self.poller is None:
            time.sleep(seconds / 10)
        else:
            self.poller.poll(seconds * 1000)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _terminate(ctx: RunContext, kept: keeper.Kept | warm_python.Warm) -> None:
    """SIGTERM the whole group, SIGKILL what is left after a grace period, wait until it is gone."""
    group = kept.pid  # the keeper (or the warm task itself) leads the command's session
    if isinstance(kept, warm_python.Warm):
        kept.terminating()
    ctx.logger.warn(f"Terminating process group {group}: the task was cancelled")
    killed, gone = process_groups.terminate(group, TERM_GRACE_SECONDS, reap=kept.poll)
    if killed:
        ctx.logger.warn(f"Process group {group} ignored SIGTERM for {TERM_GRACE_SECONDS:g}s; sent SIGKILL")
    if not gone:  # pragma: no cover - unkillable (D state)
        ctx.logger.warn(f"Process group {group} is still there after SIGKILL")
    deadline = time.monotonic() + 5
    while kept.poll() is None and time.monotonic() < deadline:  # pragma: no cover - gone means reaped
        time.sleep(0.01)


# -- containers -----------------------------------------------------------------------------


def run_docker(ctx: RunContext, runner: DockerRunner, image: str, cmd: Command, sink: LineSink) -> tuple[int, str]:
    """Run in a container (working directory mounted at the same path); returns (exit code, container id)."""
    from lanner.plugins.docker import engine

    create = engine.container_options(ctx, runner)
    create.setdefault("entrypoint", [""])  # the interpreter runs the script, not the image's entrypoint
    create.setdefault("volumes", []).append(f"{cmd.workdir}:{cmd.workdir}:rw")
    create.update(command=cmd.argv, working_dir=str(cmd.workdir), environment=cmd.env)
    delete = render_bool(ctx, runner.delete, "taskRunner.delete")
    wait = render_bool(ctx, runner.wait, "taskRunner.wait")
    host = render_str(ctx, runner.host)
    client = engine.connect(host)
    try:
        engine.ensure_image(ctx, client, image, runner.pullPolicy,
                            engine.registry_auth(ctx, image, runner.credentials, runner.config))
        container_id, code = engine.run_container(ctx, client, image, create, wait=wait, delete=delete,
                                                  on_line=sink.line, host=host)
    finally:
        client.close()
    return code or 0, container_id

