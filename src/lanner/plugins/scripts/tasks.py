"""Shell and Python script tasks, Kestra's `AbstractExecScript` family, plus the old `scripts.Bash`.

Every variant comes down to the same thing: write the input files, build one script text
(`beforeCommands` + the task's commands, with `set -e` when `failFast`), run it with the
`interpreter` on a runner, turn output lines into logs and `vars`, store `outputFiles`, and fail
with the exit code. Lanner's default runner is `Process` (the host), not Kestra's Docker: there
is no registry to pull Kestra's default images from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, ClassVar, Literal

from pydantic import Field

from lanner.model.property import Bool
from lanner.model.state import StateType
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.docker.engine import ContainerOptions
from lanner.plugins.properties import render_bool, render_list, render_str
from lanner.plugins.scripts import python_envs, warm_route
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
    storage_uris_as_files,
    write_input_files,
)

_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"}
PROCESS = ProcessRunner(type="io.kestra.plugin.core.runner.Process")


@dataclasses.dataclass(slots=True)
class Setup:
    """What a task prepares before its command: where it runs, the interpreter and variables of a
    Python environment, and lines that go before `beforeCommands` (installs in a container)."""

    in_docker: bool
    python: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    first_lines: list[str] = dataclasses.field(default_factory=list)


class LegacyDockerOptions(ContainerOptions):
    """The pre-`taskRunner` `docker:` property (`image` + the container options)."""

    image: str | None = None


class ScriptTask(RunnableTask):
    """What all script tasks share (Kestra's AbstractExecScript properties)."""

    outputs_doc = output_docs(
        vars=("object", "The values the script printed as `::{\"outputs\": {…}}::` lines"),
        exitCode=("integer", "The exit code of the last command (0 when it succeeded)"),
        outputFiles=("object", "Each file matched by `outputFiles` (or `{{ outputFiles.x }}`), as a URI by name"),
        taskRunner=("object", "With a Docker task runner: the `containerId` of the container that ran the script"),
    )

    DEFAULT_IMAGE: ClassVar[str] = "ubuntu"
    # Command lines (not a script's body) have their `kestra://` URIs replaced by local files.
    COMMANDS_NAME_FILES: ClassVar[bool] = False

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

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
        """The task's own commands (after `beforeCommands`), rendered."""
        raise NotImplementedError

    def extra_env(self, setup: Setup) -> dict[str, str]:
        return {}

    def warm_argv(self, interpreter: list[str], before: list[str], own: list[str], setup: Setup,
                  env: dict[str, str]) -> list[str] | None:
        """`[python, script, *args]` when the command may run in the warm interpreter (Python tasks)."""
        return None

    @contextlib.contextmanager
    def prepared(self, ctx: RunContext, in_docker: bool, adopted: bool) -> Iterator[Setup]:
        """Prepare what the command needs (a Python environment), for as long as it runs."""
        yield Setup(in_docker)

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
        try:
            output_dir.mkdir()
        except FileExistsError:
            if not adopted:
                # A retry in a WorkingDirectory's shared folder must not collect its predecessor's files.
                shutil.rmtree(output_dir, ignore_errors=True)
            output_dir.mkdir(exist_ok=True)
        add_variables(ctx, {"workingDir": str(workdir), "outputDir": str(output_dir)})
        if not adopted:  # the command already ran with them, and may have changed them
            load_namespace_files(ctx, workdir, self.namespaceFiles)  # first: inputFiles win a clash, as in Kestra
            write_input_files(ctx, workdir, self.inputFiles)
        with self.prepared(ctx, in_docker, adopted) as setup:
            return self._run_prepared(ctx, runner, workdir, output_dir, setup)

    def _run_prepared(self, ctx: RunContext, runner: ProcessRunner | DockerRunner, workdir: Path,
                      output_dir: Path, setup: Setup) -> Output:
        in_docker = setup.in_docker
        declared = self.declared_outputs(ctx, workdir)
        before = setup.first_lines + storage_uris_as_files(
            ctx, workdir, render_list(ctx, self.beforeCommands, "beforeCommands"), in_docker)
        own = self.script_lines(ctx, workdir, setup)
        if self.COMMANDS_NAME_FILES:
            own = storage_uris_as_files(ctx, workdir, own, in_docker)
        lines = before + own
        argv = self.argv_prefix(ctx)
        if not argv:
            raise TaskFailure("`interpreter` must not be empty")
        if self.fail_fast(ctx) and PurePath(argv[0]).name in _SHELLS:
            lines.insert(0, "set -e")
        env = {**render_env(ctx, self.env), "WORKING_DIR": str(workdir), "OUTPUT_DIR": str(output_dir),
               **self.extra_env(setup)}
        cmd = Command(argv + ["\n".join(lines)], env, workdir)
        if not in_docker:
            cmd.python = self.warm_argv(argv, before, own, setup, env)
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

    COMMANDS_NAME_FILES: ClassVar[bool] = True

    commands: StringList = Field(min_length=1)

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
        return _as_lines(ctx, self.commands, "commands")


class ShellScript(ScriptTask):
    """`io.kestra.plugin.scripts.shell.Script`: a multi-line shell script."""

    script: str

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
        return [str(ctx.render(self.script))]


class _Python(ScriptTask):
    """Kestra's Python-based script tasks: the script tasks' properties plus `dependencies`.

    On the host, `dependencies` are installed once per set into a cached environment
    (`python_envs`) that the command then runs in; in a container they are installed at its start
    by pip, inside it (no cache survives the container). `pythonVersion` must match the
    interpreter that runs the script: Lanner installs no other.
    """

    DEFAULT_IMAGE: ClassVar[str] = "ghcr.io/kestra-io/kestrapy:latest"

    dependencies: StringList | None = None
    dependencyCacheEnabled: Bool = True
    pythonVersion: str | None = None
    packageManager: Literal["UV", "PIP"] | None = None  # both install with pip here: the same packages result

    def extra_env(self, setup: Setup) -> dict[str, str]:
        env = {**warm_route.PYTHON_TASK_ENV, "PIP_ROOT_USER_ACTION": "ignore", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if not setup.in_docker:
            # On the host, `python` is the interpreter Lanner runs on: it exists, unlike a bare `python` on Debian.
            env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        env.update(setup.env)  # an environment's own PATH and VIRTUAL_ENV come first
        return env

    def warm_argv(self, interpreter: list[str], before: list[str], own: list[str], setup: Setup,
                  env: dict[str, str]) -> list[str] | None:
        if setup.python is not None:  # a `dependencies` environment: its own interpreter and packages
            return None
        return warm_route.python_argv(interpreter, before, own, env.get("PATH", os.environ.get("PATH")))

    @contextlib.contextmanager
    def prepared(self, ctx: RunContext, in_docker: bool, adopted: bool) -> Iterator[Setup]:
        setup = Setup(in_docker)
        requirements = python_envs.normalise(render_list(ctx, self.dependencies, "dependencies"))
        wanted = render_str(ctx, self.pythonVersion)
        if in_docker:
            setup.first_lines = _container_setup(wanted, requirements)
            yield setup
            return
        if wanted:
            python_envs.check_python_version(wanted)
        if not requirements or adopted:  # a replayed command does not run: it needs no environment
            yield setup
            return
        if render_bool(ctx, self.dependencyCacheEnabled, "dependencyCacheEnabled"):
            env = python_envs.cached_env(ctx, requirements)
            yield dataclasses.replace(setup, python=str(env.python), env=env.environment())
            return
        with python_envs.private_env(ctx, requirements) as env:
            yield dataclasses.replace(setup, python=str(env.python), env=env.environment())


def _container_setup(python_version: str | None, requirements: list[str]) -> list[str]:
    """Shell lines that check the container's Python and install the dependencies in it, each
    failing the script with a clear message (whatever `failFast` says: the script needs them)."""
    lines: list[str] = []
    if python_version:
        check = ("import sys; v = sys.version.split()[0]; w = " + repr(python_version.strip()) +
                 "; sys.exit(0 if (v + '.').startswith(w + '.') else "
                 "f'pythonVersion {w} was asked for, but this image runs Python {v}: use an image of that version')")
        lines.append(f"python -c {shlex.quote(check)} || exit 1")
    if requirements:
        quoted = " ".join(shlex.quote(r) for r in requirements)
        count = f"{len(requirements)} package(s)"
        lines.append(f"echo 'Installing {count} into the container (no cache is kept there)' >&2")
        lines.append(f"python -m pip install --no-input --disable-pip-version-check -q {quoted} "
                     "|| { echo 'Installing the dependencies failed: see the lines above' >&2; exit 1; }")
    return lines


class PythonCommands(_Python):
    """`io.kestra.plugin.scripts.python.Commands`: commands such as `python main.py`."""

    COMMANDS_NAME_FILES: ClassVar[bool] = True

    commands: StringList = Field(min_length=1)

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
        return _as_lines(ctx, self.commands, "commands")


class PythonScript(_Python):
    """`io.kestra.plugin.scripts.python.Script`: the script is written to a file and run with python."""

    script: str

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
        path = workdir / f"script-{attempt_name(ctx)}.py"
        path.write_text(str(ctx.render(self.script)), encoding="utf-8")
        python = "python" if setup.in_docker else shlex.quote(setup.python or sys.executable)
        return [f"{python} {shlex.quote(str(path))}"]


class Bash(ScriptTask):
    """The old `io.kestra.core.tasks.scripts.Bash`: `interpreter` + `interpreterArgs`, `exitOnFailed`,
    and `outputFiles` as names of files the commands write to via `{{ outputFiles.NAME }}`."""

    outputs_doc = {**ScriptTask.outputs_doc, **output_docs(
        stdOutLineCount=("integer", "How many lines the script wrote to standard output"),
        stdErrLineCount=("integer", "How many lines the script wrote to standard error"),
    )}

    commands: StringList = Field(min_length=1)
    interpreter: str = "/bin/bash"
    interpreterArgs: list[str] = Field(default_factory=lambda: ["-c"])
    exitOnFailed: Bool = True
    warningOnStdErr: Bool = True
    outputsFiles: list[str] | None = None  # older spelling of outputFiles
    dockerOptions: LegacyDockerOptions | None = None

    COMMANDS_NAME_FILES: ClassVar[bool] = True

    def script_lines(self, ctx: RunContext, workdir: Path, setup: Setup) -> list[str]:
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
