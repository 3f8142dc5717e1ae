"""`io.kestra.plugin.docker.Run` and `io.kestra.plugin.docker.Stop`.

`Run` with `wait: false` is how a flow starts a service (a Redis for its tasks) and `Stop` in
`finally` is how it cleans up, so `Stop` must never be the step that fails a cleanup: a container
that is already gone is a success with a warning. `Run`'s outputs have Kestra's shape
(`exitCode`, `vars`, `outputFiles`, `taskRunner.containerId`) so that
`{{ outputs.start.taskRunner.containerId }}` works unchanged.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from pydantic import Field

from lanner.model.property import Bool
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.docker import engine
from lanner.plugins.docker.engine import ContainerOptions, Credentials
from lanner.plugins.properties import render_bool, render_list, render_str
from lanner.plugins.scripts.support import (
    LineSink,
    NamespaceFilesOptions,
    StringList,
    add_variables,
    collect_output_files,
    load_namespace_files,
    names_storage_uri,
    render_env,
    storage_uris_as_files,
    write_input_files,
)


class Run(RunnableTask, ContainerOptions):
    """Run a container: wait for it (logs streamed, exit code checked) or start it and return."""

    outputs_doc = output_docs(
        vars=("object", "The values the container printed as `::{\"outputs\": {…}}::` lines"),
        exitCode=("integer", "The exit code of the container (0 when it succeeded)"),
        taskRunner=("object", "The `containerId` of the container that ran"),
        outputFiles=("object", "Each file matched by `outputFiles`, by name, as a `kestra://` URI (with `wait: true`)"),
    )

    containerImage: str
    commands: StringList | None = None
    env: dict[str, Any] | str | None = None
    portBindings: list[str] | str | None = None
    wait: Bool = True
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] | str | None = None
    namespaceFiles: NamespaceFilesOptions | None = None
    warningOnStdErr: Bool | None = Field(default=None, description="deprecated in Kestra and ignored")

    def run(self, ctx: RunContext) -> Output:
        image = render_str(ctx, self.containerImage) or ""
        if self.credentials is not None and self.credentials.registry:
            registry = str(ctx.render(self.credentials.registry)).split("://")[-1].split("/")[0]
            if (registry not in ("docker.io", "index.docker.io", "registry-1.docker.io")
                    and not image.startswith(registry)):
                image = f"{registry}/{image}"
        wait = render_bool(ctx, self.wait, "wait")
        create = engine.container_options(ctx, self)
        commands = render_list(ctx, self.commands, "commands")
        create["environment"] = render_env(ctx, self.env)
        if self.portBindings is not None:
            create["ports"] = engine.parse_ports(render_list(ctx, self.portBindings, "portBindings"))
        output_globs = render_list(ctx, self.outputFiles, "outputFiles")
        workdir: Path | None = None
        if (self.inputFiles is not None or output_globs or self.namespaceFiles is not None
                or names_storage_uri(commands)):
            workdir = self._prepare_files(ctx, create, wait, output_globs)
            # as in Kestra's script tasks: a `kestra://` file a command names is a file in the folder
            commands = storage_uris_as_files(ctx, workdir, commands, in_docker=True)
        if commands:
            create["command"] = commands
        sink = LineSink(ctx)
        host = render_str(ctx, self.host)
        client = engine.connect(host)
        try:
            engine.ensure_image(ctx, client, image, self.pullPolicy,
                                engine.registry_auth(ctx, image, self.credentials, self.config))
            before_start = None
            if workdir is not None and not wait:
                before_start = _archive(workdir)
            container_id, code = engine.run_container(ctx, client, image, create, wait=wait, delete=True,
                                                      on_line=sink.line, before_start=before_start, host=host)
        finally:
            client.close()
        outputs: dict[str, Any] = {"vars": sink.vars, "exitCode": code or 0,
                                   "taskRunner": {"containerId": container_id}}
        if workdir is not None and wait and output_globs:
            outputs["outputFiles"] = collect_output_files(ctx, workdir, output_globs, None)
        if code:
            raise TaskFailure(f"Command failed with exit code {code}", outputs)
        return Output(outputs)

    def _prepare_files(self, ctx: RunContext, create: dict[str, Any], wait: bool, globs: list[str]) -> Path:
        """Files need a working directory: bind-mounted when waiting, copied in when not.

        A started-and-left container outlives the task's working directory (it is removed when the
        task ends), so without `wait` the input files are copied into the container instead.
        """
        workdir = ctx.working_dir()
        add_variables(ctx, {"workingDir": str(workdir)})
        if getattr(ctx, "adopted", None) is None:  # an adopted attempt's container already ran with them
            load_namespace_files(ctx, workdir, self.namespaceFiles)
            write_input_files(ctx, workdir, self.inputFiles)
        create["working_dir"] = str(workdir)
        create["environment"]["WORKING_DIR"] = str(workdir)
        if wait:
            create.setdefault("volumes", []).append(f"{workdir}:{workdir}:rw")
        elif globs:
            ctx.logger.warn("outputFiles are only collected when `wait` is true; ignored")
        return workdir


def _archive(workdir: Path) -> bytes:
    """A tar of the working directory at its own absolute path, to copy into a container at `/`."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        tar.add(str(workdir), arcname=str(workdir).lstrip("/"))
    return data.getvalue()


class Stop(RunnableTask):
    """Stop (or kill) a container, then remove it; idempotent so `finally` cleanup never fails on it."""

    containerId: str
    kill: Bool = False
    delete: Bool = True
    host: str | None = None
    config: str | dict[str, Any] | None = None
    credentials: Credentials | None = None

    def run(self, ctx: RunContext) -> None:
        import docker

        container_id = (render_str(ctx, self.containerId) or "").strip()
        kill = render_bool(ctx, self.kill, "kill")
        delete = render_bool(ctx, self.delete, "delete")
        if not container_id:
            ctx.logger.warn("No container id given (did the task that starts it run?); nothing to stop")
            return None
        client = engine.connect(render_str(ctx, self.host))
        try:
            try:
                container = client.containers.get(container_id)
            except docker.errors.NotFound:
                ctx.logger.warn(f"Container `{container_id}` does not exist (already stopped and removed?); "
                                "nothing to stop")
                return None
            except docker.errors.APIError as exc:
                raise TaskFailure(f"Cannot find container `{container_id}`: {engine.explain(exc)}") from None
            try:
                if container.status in ("running", "restarting", "paused"):
                    if kill:
                        container.kill()
                    else:
                        container.stop(timeout=10)
                    ctx.logger.info(f"Container {container.short_id} {'killed' if kill else 'stopped'}")
                else:
                    ctx.logger.info(f"Container {container.short_id} was not running ({container.status})")
                if delete:
                    container.remove(force=True)
                    ctx.logger.debug(f"Container {container.short_id} removed")
            except docker.errors.NotFound:
                ctx.logger.warn(f"Container `{container_id}` disappeared while being stopped; nothing left to do")
            except docker.errors.APIError as exc:
                message = engine.explain(exc)
                if "is not running" in message or "already in progress" in message:
                    ctx.logger.warn(f"Container `{container_id}`: {message}")
                else:
                    raise TaskFailure(f"Cannot stop container `{container_id}`: {message}") from None
        finally:
            client.close()
        return None
