"""Where a script task's command runs: a host process group (`Process`) or a container (`Docker`).

Both stream output lines into the task's logs as they come and stop everything they started
when the task is killed or times out. A host command runs in its own session (process group):
`sh -c "sleep 60 & wait"` leaves nothing behind, because the whole group gets SIGTERM and,
after a short grace, SIGKILL.
"""

from __future__ import annotations

import dataclasses
import os
import selectors
import subprocess
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lanner.model.property import Bool
from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.docker.engine import ContainerOptions
from lanner.plugins.properties import render_bool, render_str
from lanner.plugins.scripts.support import LineBuffer, LineSink
from lanner.worker import process_groups

TERM_GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL of a cancelled process group
PIPE_GRACE_SECONDS = 2.0  # how long to keep reading after the command exits (a background child may hold the pipes)


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
    """One command to run: argv (interpreter + script), extra environment, working directory."""

    argv: list[str]
    env: dict[str, str]
    workdir: Path


# -- host processes -------------------------------------------------------------------------


def run_process(ctx: RunContext, cmd: Command, sink: LineSink) -> int:
    """Run on the host; returns the exit code. Raises TaskFailure when cancelled (group terminated).

    The command leads its own process group, gets SIGKILL if this process dies (PDEATHSIG), and
    its group is recorded with the attempt until it is gone, so that a later attempt ends
    whatever it left behind before starting (`lanner.worker.leftovers`).
    """
    try:
        proc = subprocess.Popen(cmd.argv, cwd=cmd.workdir, env={**os.environ, **cmd.env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=process_groups.die_with_parent())  # noqa: PLW1509 - only prctl, see there
    except OSError as exc:
        raise TaskFailure(f"Cannot start `{cmd.argv[0]}`: {exc.strerror or exc}") from None
    started = getattr(ctx, "process_started", None)  # only the worker's context records attempts
    forget = started(proc.pid) if started is not None else None
    assert proc.stdout is not None and proc.stderr is not None
    selector = selectors.DefaultSelector()
    buffers = {proc.stdout.fileno(): (LineBuffer(), False), proc.stderr.fileno(): (LineBuffer(), True)}
    for pipe in (proc.stdout, proc.stderr):
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe.fileno(), selectors.EVENT_READ)
    exited_at: float | None = None
    try:
        while selector.get_map():
            if ctx.cancelled.is_set():
                _terminate(ctx, proc)
                raise TaskFailure("cancelled; the process group was terminated")
            for key, _ in selector.select(timeout=0.1):
                buffer, stderr = buffers[key.fd]
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                lines = buffer.feed(data) if data else buffer.flush()
                if not data:
                    selector.unregister(key.fd)
                for line in lines:
                    sink.line(line, stderr)
            if proc.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > PIPE_GRACE_SECONDS:
                    ctx.logger.debug("A background process still holds the output open; no longer reading it")
                    break
        for buffer, stderr in buffers.values():
            for line in buffer.flush():
                sink.line(line, stderr)
        # The command closed its output; it has exited, or is about to, or goes on without output.
        # `wait` notices the exit within a millisecond or so (it polls with a growing interval),
        # which matters: until this returns, a crash of Lanner would count the attempt as cut off
        # and run it again, although the command has done its work. (A 0.1 s poll here was most
        # of that window.)
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if ctx.cancelled.is_set():
                    _terminate(ctx, proc)
                    raise TaskFailure("cancelled; the process group was terminated") from None
        return proc.returncode
    finally:
        selector.close()
        proc.stdout.close()
        proc.stderr.close()
        # The attempt is over: its group was terminated, or the command ended. What it left in the
        # background may go on (as in Kestra), but keeps its record until it is gone, so that a
        # retry of this task run or a hard stop ends it first.
        if forget is not None:
            forget()


def _terminate(ctx: RunContext, proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group, SIGKILL what is left after a grace period, wait until it is gone."""
    group = proc.pid  # start_new_session: the command leads its own process group
    ctx.logger.warn(f"Terminating process group {group}: the task was cancelled")
    killed, gone = process_groups.terminate(group, TERM_GRACE_SECONDS, reap=proc.poll)
    if killed:
        ctx.logger.warn(f"Process group {group} ignored SIGTERM for {TERM_GRACE_SECONDS:g}s; sent SIGKILL")
    if not gone:  # pragma: no cover - unkillable (D state)
        ctx.logger.warn(f"Process group {group} is still there after SIGKILL")
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
        pass


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

