"""Shell and Python script tasks, Kestra's `AbstractExecScript` family, plus the old `scripts.Bash`.

Every variant comes down to the same thing: write the input files, build one script text
(`beforeCommands` + the task's commands, with `set -e` when `failFast`), run it with the
`interpreter` on a runner, turn output lines into logs and `vars`, store `outputFiles`, and fail
with the exit code. Lanner's default runner is `Process` (the host), not Kestra's Docker: there
is no registry to pull Kestra's default images from.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path, PurePath
from typing import Any, ClassVar, Literal

from pydantic import Field

from lanner.model.property import Bool
from lanner.model.state import StateType
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure
from lanner.plugins.docker.engine import ContainerOptions
from lanner.plugins.properties import render_bool, render_list, render_str
from lanner.plugins.scripts.runners import (
    Command,
    DockerRunner,
    ProcessRunner,
    TaskRunner,
    run_docker,
    run_process,
)
from lanner.plugins.scripts.support import (
    LineSink,
    NamespaceFilesOptions,
    StringList,
    add_variables,
    collect_output_files,
    load_namespace_files,
    render_env,
    write_input_files,
)

_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"}
PROCESS = ProcessRunner(type="io.kestra.plugin.core.runner.Process")


class LegacyDockerOptions(ContainerOptions):
    """The pre-`taskRunner` `docker:` property (`image` + the container options)."""

    image: str | None = None


class ScriptTask(RunnableTask):
    """What all script tasks share (Kestra's AbstractExecScript properties)."""

    DEFAULT_IMAGE: ClassVar[str] = "ubuntu"

    taskRunner: TaskRunner | None = None
    containerImage: str | None = None
    beforeCommands: StringList | None = None
    env: dict[str, Any] | str | None = None
    interpreter: StringList = Field(default_factory=lambda: ["/bin/sh", "-c"])
    failFast: Bool = True
    warningOnStdErr: Bool = False  # Kestra 0.1x defaulted to true, later deprecated it: off unless asked
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] | str | None = None
    namespaceFiles: NamespaceFilesOptions | None = None
    outputDirectory: Bool | None = None  # `{{ outputDir }}` always exists in Lanner
    targetOS: Literal["LINUX", "WINDOWS", "AUTO"] | None = None
    runner: Literal["PROCESS", "DOCKER"] | None = None  # legacy, before `taskRunner`
    docker: LegacyDockerOptions | None = None  # legacy, before `taskRunner`

    # -- what a subclass decides ---------------------------------------------------------------

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        """The task's own commands (after `beforeCommands`), rendered."""
        raise NotImplementedError

    def extra_env(self, in_docker: bool) -> dict[str, str]:
        return {}

    def argv_prefix(self, ctx: RunContext) -> list[str]:
        return render_list(ctx, self.interpreter, "interpreter")

    def fail_fast(self, ctx: RunContext) -> bool:
        return render_bool(ctx, self.failFast, "failFast")

    def declared_outputs(self, ctx: RunContext, workdir: Path) -> dict[str, Path]:
        """Files the task names up front (old Bash `outputFiles`); none for the modern tasks."""
        return {}

    # -- running ---------------------------------------------------------------------------------

    def _runner(self) -> ProcessRunner | DockerRunner:
        if self.taskRunner is not None:
            return self.taskRunner
        if self.runner == "DOCKER":
            opts = self.docker.model_dump(exclude_unset=True) if self.docker else {}
            return DockerRunner(type="io.kestra.plugin.scripts.runner.docker.Docker", **opts)
        return PROCESS  # also when only legacy `docker:` options are given: Lanner's default is the host

    def run(self, ctx: RunContext) -> Output:
        runner = self._runner()
        in_docker = isinstance(runner, DockerRunner)
        adopted = getattr(ctx, "adopted", None) is not None  # an earlier attempt's finished command is replayed
        workdir = ctx.working_dir()
        output_dir = workdir / f"outputs-{attempt_name(ctx)}"
        if not adopted:
            # A retry in a WorkingDirectory's shared folder must not collect its predecessor's files.
            shutil.rmtree(output_dir, ignore_errors=True)
        output_dir.mkdir(exist_ok=True)
        add_variables(ctx, {"workingDir": str(workdir), "outputDir": str(output_dir)})
        if not adopted:  # the command already ran with them, and may have changed them
            load_namespace_files(ctx, workdir, self.namespaceFiles)  # first: inputFiles win a clash, as in Kestra
            write_input_files(ctx, workdir, self.inputFiles)
        declared = self.declared_outputs(ctx, workdir)
        lines = render_list(ctx, self.beforeCommands, "beforeCommands") + self.script_lines(ctx, workdir, in_docker)
        argv = self.argv_prefix(ctx)
        if not argv:
            raise TaskFailure("`interpreter` must not be empty")
        if self.fail_fast(ctx) and PurePath(argv[0]).name in _SHELLS:
            lines.insert(0, "set -e")
        env = {**render_env(ctx, self.env), "WORKING_DIR": str(workdir), "OUTPUT_DIR": str(output_dir),
               **self.extra_env(in_docker)}
        cmd = Command(argv + ["\n".join(lines)], env, workdir)
        globs = render_list(ctx, self.outputFiles, "outputFiles") if not declared else []
        sink = LineSink(ctx)
        outputs: dict[str, Any] = {"vars": sink.vars}
        if in_docker:
            assert isinstance(runner, DockerRunner)
            image = render_str(ctx, self.containerImage or runner.image or
                               (self.docker.image if self.docker else None) or self.DEFAULT_IMAGE) or ""
            code, container_id = run_docker(ctx, runner, image, cmd, sink)
            outputs["taskRunner"] = {"containerId": container_id}
        else:
            code = run_process(ctx, cmd, sink)
        outputs["exitCode"] = code
        files = collect_output_files(ctx, workdir, globs, output_dir)
        for name, path in declared.items():
            files[name] = ctx.put_file(name, path.read_bytes() if path.is_file() else b"")
        if files or globs or declared:
            outputs["outputFiles"] = files
        outputs.update(self.extra_outputs(sink))
        if code != 0:
            raise TaskFailure(f"Command failed with exit code {code}", outputs)
        if render_bool(ctx, self.warningOnStdErr, "warningOnStdErr") and sink.stderr_lines:
            return Output(outputs, state=StateType.WARNING)
        return Output(outputs)

    def extra_outputs(self, sink: LineSink) -> dict[str, Any]:
        return {}


def attempt_name(ctx: RunContext) -> str:
    """The part of the names this task gives files in its working folder that tells tasks apart.

    Derived from the task run id, not random: an attempt that adopts a cut-off attempt's finished
    command (see `lanner.worker.attempt_notes`) must find the files that command wrote (its
    output dir, Bash's declared output files) under the same names. Unique per task run is all
    that is needed: a working folder is the attempt's own, or a WorkingDirectory's shared by
    different task runs.
    """
    return ctx.task_run_id.replace("/", "_")


def _as_lines(ctx: RunContext, value: list[str] | str, name: str) -> list[str]:
    if isinstance(value, str) and "{{" not in value and "{%" not in value:
        return [value]
    return render_list(ctx, value, name)


class ShellCommands(ScriptTask):
    """`io.kestra.plugin.scripts.shell.Commands`: shell commands, one script."""

    commands: StringList = Field(min_length=1)

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        return _as_lines(ctx, self.commands, "commands")


class ShellScript(ScriptTask):
    """`io.kestra.plugin.scripts.shell.Script`: a multi-line shell script."""

    script: str

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        return [str(ctx.render(self.script))]


class _Python(ScriptTask):
    DEFAULT_IMAGE: ClassVar[str] = "ghcr.io/kestra-io/kestrapy:latest"

    def extra_env(self, in_docker: bool) -> dict[str, str]:
        env = {"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if not in_docker:
            # On the host, `python` is the interpreter Lanner runs on: it exists, unlike a bare `python` on Debian.
            env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        return env


class PythonCommands(_Python):
    """`io.kestra.plugin.scripts.python.Commands`: commands such as `python main.py`."""

    commands: StringList = Field(min_length=1)

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        return _as_lines(ctx, self.commands, "commands")


class PythonScript(_Python):
    """`io.kestra.plugin.scripts.python.Script`: the script is written to a file and run with python."""

    script: str

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        path = workdir / f"script-{attempt_name(ctx)}.py"
        path.write_text(str(ctx.render(self.script)), encoding="utf-8")
        python = "python" if in_docker else shlex.quote(sys.executable)
        return [f"{python} {shlex.quote(str(path))}"]


class Bash(ScriptTask):
    """The old `io.kestra.core.tasks.scripts.Bash`: `interpreter` + `interpreterArgs`, `exitOnFailed`,
    and `outputFiles` as names of files the commands write to via `{{ outputFiles.NAME }}`."""

    commands: StringList = Field(min_length=1)
    interpreter: str = "/bin/bash"
    interpreterArgs: list[str] = Field(default_factory=lambda: ["-c"])
    exitOnFailed: Bool = True
    warningOnStdErr: Bool = True
    outputsFiles: list[str] | None = None  # older spelling of outputFiles
    dockerOptions: LegacyDockerOptions | None = None

    def script_lines(self, ctx: RunContext, workdir: Path, in_docker: bool) -> list[str]:
        return _as_lines(ctx, self.commands, "commands")

    def argv_prefix(self, ctx: RunContext) -> list[str]:
        return [render_str(ctx, self.interpreter) or "/bin/bash", *self.interpreterArgs]

    def fail_fast(self, ctx: RunContext) -> bool:
        return render_bool(ctx, self.exitOnFailed, "exitOnFailed")

    def _runner(self) -> ProcessRunner | DockerRunner:
        if self.runner == "DOCKER":
            opts = (self.dockerOptions or self.docker or LegacyDockerOptions()).model_dump(exclude_unset=True)
            return DockerRunner(type="io.kestra.plugin.scripts.runner.docker.Docker", **opts)
        return super()._runner()

    def declared_outputs(self, ctx: RunContext, workdir: Path) -> dict[str, Path]:
        names = render_list(ctx, self.outputFiles, "outputFiles") + list(self.outputsFiles or [])
        paths = {n: workdir / f"{n}_{attempt_name(ctx)}" for n in names}
        adopted = getattr(ctx, "adopted", None) is not None
        for p in paths.values():
            if adopted:
                p.touch()
            else:
                p.write_bytes(b"")  # a retry in a shared folder starts empty
        if paths:
            add_variables(ctx, {"outputFiles": {n: str(p) for n, p in paths.items()},
                                "temp": {n: str(p) for n, p in paths.items()}})
        return paths

    def extra_outputs(self, sink: LineSink) -> dict[str, Any]:
        return {"stdOutLineCount": sink.stdout_lines, "stdErrLineCount": sink.stderr_lines}
