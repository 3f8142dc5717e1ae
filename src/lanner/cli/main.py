"""`lanner` — the command line. Imports stay inside commands: start-up time is a feature."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import typer

_SETTINGS: dict[str, Any] = {"add_completion": False, "no_args_is_help": True, "pretty_exceptions_enable": False,
                             "help": "Run Kestra flows locally, with cleanup (finally) that always runs."}
# The top-level commands; the groups (`lanner execution …`, `lanner server …`) join them in `command_line`.
app = typer.Typer(**_SETTINGS)
execution_app = typer.Typer(no_args_is_help=True, help="Inspect one execution.")
# Each group's module and its Typer: imported only when the command line names the group (or shows them all).
_GROUPS = {"execution": ("lanner.cli.main", "execution_app"), "server": ("lanner.cli.server", "server_app"),
           "db": ("lanner.cli.roles", "db_app"), "namespace": ("lanner.cli.namespaces", "namespace_app"),
           "trigger": ("lanner.cli.triggers", "trigger_app")}

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


UNWRAPPED = 1_000_000  # the width given to a console that is no terminal: its lines are never cut


def _console(stderr: bool = True, force_terminal: bool | None = None) -> Any:
    """A rich console; one writing to a pipe or a file does not wrap lines (rich would at 80
    columns), unless COLUMNS gives a width: the reader of a log is not a terminal."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, force_terminal=force_terminal)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = UNWRAPPED
    return console


class _ConsoleOnUse:
    """`_console(...)`, made when first used: `lanner run -q` that ends well prints nothing, and
    importing rich is about 12 ms of its start-up CPU (issue 15). Only for a console whose methods
    are called: rich itself (a live view) needs the console."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = _console(**self._options)
        return getattr(self._made, name)


def _print_errors(exc: Exception) -> None:
    """Each problem starts with `error: `; the template and caret lines under it are indented."""
    from lanner.errors import LannerError, ValidationErrors

    con = _console()
    problems = exc.errors if isinstance(exc, ValidationErrors) else [exc]
    for problem in problems:
        text = problem.render() if isinstance(problem, LannerError) else str(problem)
        first, *rest = text.splitlines() or [""]
        con.out(f"error: {first}", highlight=False)
        for line in rest:
            con.out(f"       {line}", highlight=False)


def _fail_invalid(exc: Exception) -> None:
    _print_errors(exc)
    raise typer.Exit(EXIT_INVALID)


def _store() -> tuple[Any, Any]:
    from lanner.storage import db
    from lanner.storage.files import LocalFiles
    from lanner.storage.repository import Repository

    return Repository(db.open_store()), LocalFiles(db.lanner_home() / "storage")


@app.command()
def run(
    flow_file: Path = typer.Argument(..., help="The flow YAML file."),
    more: list[Path] = typer.Argument(None, help="More flow files its Subflow tasks may start."),
    input: list[str] = typer.Option([], "--input", "-i", help="An input as KEY=VALUE (repeatable)."),
    flows_dir: list[Path] = typer.Option([], "--flows", help="A folder of flows its Subflow tasks may start."),
    as_json: bool = typer.Option(False, "--json", help="Print the final execution as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view, no logs, no summary."),
    live: bool | None = typer.Option(
        None, "--live/--no-live",
        help="Redraw a table of task runs in place while the flow runs. Default: only when stderr is a "
             "terminal; otherwise (or with --no-live) logs are plain lines and each task run that ends is one "
             "line, a loop's iterations counted on one line."),
    threads: int = typer.Option(16, "--threads", help="Worker threads."),
) -> None:
    """Validate a flow, run it to its end here, and print the outcome."""
    from lanner.errors import LannerError, ValidationErrors

    if threads < 1:
        _console().out(f"error: --threads must be at least 1, got {threads}; give the number of tasks that may "
                       "run at once, e.g. --threads 4")
        raise typer.Exit(EXIT_INVALID)
    _prewarm_python(flow_file)
    from lanner.cli.entry import without_pydantic_plugins

    without_pydantic_plugins()
    from lanner.loading.flows import load_flow_file
    from lanner.model.inputs import parse_cli_inputs, resolve_inputs
    from lanner.runtime.catalog import FlowCatalog

    catalog = FlowCatalog()
    try:
        flow = _load_checked(flow_file)
        problems: list[LannerError] = []
        for extra in more or []:
            try:
                catalog.add(load_flow_file(extra))
            except LannerError as exc:
                problems.append(exc)
        for folder in flows_dir:
            problems.extend(catalog.add_directory(folder))
        if problems:
            raise ValidationErrors(problems)
        catalog.add(flow)
        from lanner.model.subflow_chains import check_chains

        chains = check_chains([flow], catalog.known.values())
        if chains:
            raise ValidationErrors(list(chains))
        if flow.disabled:
            from lanner.errors import Located, ValidationError

            raise ValidationError(f"flow `{flow.namespace}.{flow.id}` is disabled", where=Located(str(flow_file)),
                                  hint="set `disabled: false` to run it")
        inputs = resolve_inputs(flow, parse_cli_inputs(input))
    except LannerError as exc:
        _fail_invalid(exc)
        return
    from lanner.cli.live import LiveView
    from lanner.model.execution import new_id
    from lanner.runtime.local import LocalRuntime

    repo, files = _store()
    catalog.repo = repo
    execution_id = new_id()
    try:
        inputs = _upload_file_inputs(flow, inputs, files, execution_id)
    except LannerError as exc:
        _fail_invalid(exc)
    make = _ConsoleOnUse if quiet else _console
    console = make(stderr=True, force_terminal=True if live else None)
    view = LiveView(console, quiet=quiet, live=live)
    runtime = LocalRuntime(repo, files, threads=threads, listener=view, catalog=catalog)
    _say_left_behind(console, runtime)
    exe = runtime.create(flow, inputs, execution_id=execution_id)
    view.secrets = _secrets(exe, flow)
    old = _stop_on_signals(console, runtime)
    from lanner.cli.entry import loaded

    loaded()
    try:
        with view:
            exe = runtime.run(flow, exe)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        runtime.close()
    _finish_run(console, exe, quiet, as_json, flow)


def _stop_on_signals(console: Any, runtime: Any) -> dict[int, Any]:
    """Ctrl-C kills (running tasks cancelled now); SIGTERM stops gracefully (running tasks get the
    grace period, LANNER_STOP_GRACE seconds, default 30). Either way `finally` runs; a second
    signal stops at once. Returns the previous handlers."""
    grace = _stop_grace()
    seen = {"n": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        seen["n"] += 1
        if seen["n"] > 1:
            console.print("[red]Stopping at once: cleanup skipped.[/]")
            runtime.kill(hard=True)
        elif signum == signal.SIGTERM:
            console.print(f"[magenta]SIGTERM: stopping. No new task starts; running tasks have {grace:g}s to finish, "
                          "then they are cancelled; finally tasks still run. A second signal stops at once "
                          "(cleanup will be skipped).[/]")
            runtime.stop_gracefully(grace)
        else:
            console.print("[magenta]Killing: running tasks are cancelled, finally tasks still run. "
                          "Press Ctrl-C again to stop at once (cleanup will be skipped).[/]")
            runtime.kill(hard=False)

    return {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}


def _stop_grace() -> float:
    from lanner.errors import LannerError
    from lanner.runtime import stopping

    try:
        return stopping.grace_seconds()
    except LannerError as exc:
        _fail_invalid(exc)
        raise


def _say_left_behind(console: Any, runtime: Any) -> None:
    """Executions of this home whose process ended before they did are shown, with what to do."""
    behind = runtime.owners.left_behind(runtime.repo.unfinished())
    if not behind:
        return
    shown = ", ".join(behind[:5]) + (f" and {len(behind) - 5} more" if len(behind) > 5 else "")
    console.print(f"[yellow]note: {len(behind)} execution(s) on this home were left behind by a process that "
                  f"ended: {shown}. Continue one with `lanner execution continue ID`, or end it with "
                  "`lanner execution kill ID`.[/]")


def _prewarm_python(flow_file: Path) -> None:
    """Python tasks fork from a warm interpreter: start it now, so that its start overlaps the
    loading of the flow and the store instead of delaying the first Python task."""
    try:
        text = flow_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return  # loading the flow says what is wrong with the file
    from lanner.plugins.scripts.warm_route import prewarm_for

    prewarm_for(text)


def _load_checked(path: Path) -> Any:
    """Load and validate a flow file, its triggers included (their checks need croniter: lazily)."""
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow_file

    flow = load_flow_file(path)
    _print_warnings(path, flow)
    if flow.triggers:
        from lanner.runtime.triggers import validate as validate_triggers

        problems = validate_triggers(flow)
        if problems:
            raise ValidationErrors(list(problems))
    return flow


def _print_warnings(path: Path, flow: Any) -> None:
    """What is valid but deprecated in Kestra, said on stderr with its line; never an error."""
    import re

    from lanner.model.listener import DEPRECATION

    if flow.listeners:
        found = re.search(r"^listeners\s*:", flow.source, re.M)
        line = f":{flow.source.count(chr(10), 0, found.start()) + 1}" if found else ""
        _console().out(f"warning: {path}{line}: {DEPRECATION}", highlight=False)


def _upload_file_inputs(flow: Any, inputs: dict[str, Any], files: Any, execution_id: str) -> dict[str, Any]:
    """FILE inputs given as local paths go to internal storage; tasks get a `kestra://` URI."""
    from lanner.errors import ValidationError, ValidationErrors

    out = dict(inputs)
    problems: list[ValidationError] = []
    for inp in flow.inputs:
        value = out.get(inp.id)
        if inp.type != "FILE" or not isinstance(value, str) or value.startswith("kestra://"):
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            problems.append(ValidationError(f"input `{inp.id}`: no file at `{value}`",
                                            hint=f"give the path of a readable file: --input {inp.id}=./data.csv"))
            continue
        out[inp.id] = files.put(flow.namespace, flow.id, execution_id, "inputs", inp.id, path.name, path.read_bytes())
    if problems:
        raise ValidationErrors(list(problems))
    return out


def _secrets(exe: Any, flow: Any) -> tuple[str, ...]:
    """What must never be printed in clear: the execution's SECRET inputs and every secret() value."""
    from lanner.model.inputs import secret_values
    from lanner.secrets import available_values

    return (*secret_values(flow, exe), *available_values())


def _write_execution_json(exe: Any, flow: Any) -> None:
    """The execution as the API shows it (SECRET inputs masked), secret() values masked too, on
    stdout: the text `json.dumps(…, indent=2)` makes of it (non-finite numbers as null:
    `views.json_text`), written one task run at a time.

    Built whole, a ForEach over 100,000 values held 1.4 GB (the task runs' JSON, the encoder's
    pieces, the 146 MB text) to print it, against 0.2 GB for the run itself (issue 15). Top-level
    keys are the only lines indented by two spaces (JSON strings hold no raw newline), which is how
    the task runs' place is found in the text of the rest.
    """
    from lanner.server.views import execution_json_parts, json_text

    head, runs = execution_json_parts(exe, flow, _secrets(exe, flow))
    before, place, after = json_text(head, indent=2).partition(_RUNS_PLACE)
    out = sys.stdout
    out.write(before + place[:-2])
    first = True
    for run in runs:
        out.write("[\n    " if first else ",\n    ")
        out.write(json_text(run, indent=2).replace("\n", "\n    "))
        first = False
    out.write("[]" if first else "\n  ]")
    out.write(after + "\n")


_RUNS_PLACE = '\n  "taskRunList": []'  # where `json.dumps(head, indent=2)` puts the empty task run list


def _flow_of(repo: Any, exe: Any) -> Any:
    """The flow an execution ran (to know its SECRET inputs), or None when it no longer loads."""
    from lanner.errors import LannerError
    from lanner.runtime.catalog import FlowCatalog

    try:
        return FlowCatalog(repo).get(exe.namespace, exe.flow_id, exe.flow_revision)
    except LannerError:  # a flow deleted or changed since: secret() values are still masked
        return None


def _finish_run(console: Any, exe: Any, quiet: bool, as_json: bool, flow: Any) -> None:
    from lanner.cli.live import summary

    if not quiet:
        summary(console, exe, _secrets(exe, flow))
    if as_json:
        _write_execution_json(exe, flow)
        sys.stdout.flush()
    code = EXIT_OK if exe.state.current.successful else EXIT_FAILED
    if exe.kill == "hard":
        # Worker threads may still be stuck in a task: do not wait for them, but end what they
        # started (process groups, containers) before exiting, so that nothing finishes later;
        # and what a dead process left for this execution (a left-behind execution killed here).
        from lanner.storage.db import lanner_home
        from lanner.worker.leftovers import terminate_all, terminate_execution_leftovers

        ended = terminate_all() + terminate_execution_leftovers(
            lanner_home() / "run" / "attempts", exe.id, [r.id for r in exe.task_runs])
        for sentence in ended:
            console.print(f"Hard stop: {sentence}", style="red", markup=False)
        if quiet:  # the summary (not printed) would have said which cleanup was skipped
            for note in exe.notes:
                console.print(note, style="red", markup=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)


@app.command()
def validate(files: list[Path] = typer.Argument(..., help="Flow files to check.")) -> None:
    """Check flow files; exit 0 when all are valid, 2 with every problem listed."""
    from lanner.errors import LannerError
    from lanner.model.subflow_chains import check_chains

    con = _console()
    bad = 0
    loaded: dict[Path, Any] = {}
    for f in files:
        try:
            loaded[f] = _load_checked(f)
        except LannerError as exc:
            bad += 1
            _print_errors(exc)
    chains = check_chains(loaded.values(), loaded.values())  # Subflow loops across the files given
    looping = {problem.where.file for problem in chains}
    for problem in chains:
        _print_errors(problem)
    for f, flow in loaded.items():
        if flow.file in looping:
            bad += 1
        else:
            con.out(f"{f}: valid")
            _print_deprecations(flow)
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


def _print_deprecations(flow: Any) -> None:
    """Deprecated spellings Lanner still reads (as Kestra does): a warning, never a failure."""
    from lanner.loading.inputs import deprecations

    for problem in deprecations(flow):
        _console().out(f"warning: {problem.render()}", highlight=False)


@app.command()
def executions(
    namespace: str | None = typer.Option(None, "--namespace", "-n"),
    flow: str | None = typer.Option(None, "--flow", "-f"),
    state: str | None = typer.Option(None, "--state", "-s"),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List past executions, newest first."""
    from lanner.model.state import StateType
    from lanner.storage.owners import Owners

    if state is not None and state.upper() not in StateType.__members__:
        _console().out(f"error: unknown state `{state}`; use one of {', '.join(StateType.__members__)}")
        raise typer.Exit(EXIT_INVALID)
    repo, _ = _store()
    rows = repo.search(namespace, flow, state, limit)
    unfinished = [r["id"] for r in rows if not StateType(r["state"]).terminated]
    behind = set(Owners(repo.db).left_behind(unfinished))
    for r in rows:
        r["leftBehind"] = r["id"] in behind
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    # Plain aligned columns: ids must stay whole (people copy them), whatever the terminal width.
    header = ("ID", "NAMESPACE", "FLOW", "STATE", "STARTED", "ENDED")
    table = [header] + [(r["id"], r["namespace"], r["flow_id"],
                         r["state"] + (" (left behind)" if r["leftBehind"] else ""),
                         r["start_date"] or "", r["end_date"] or "") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        sys.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    if behind:
        sys.stdout.write(f"\n{len(behind)} left behind: the process driving it ended before it did. "
                         "Continue it with `lanner execution continue ID` (it ends as its tasks do), "
                         "or end it with `lanner execution kill ID` (finally still runs).\n")


def _load_execution(repo: Any, execution_id: str) -> Any:
    exe = repo.get(execution_id)
    if exe is None:
        matches = repo.find_by_prefix(execution_id)
        if len(matches) == 1:
            exe = repo.get(matches[0])
    if exe is None:
        _console().out(f"error: no execution `{execution_id}`; list them with `lanner executions`")
        raise typer.Exit(EXIT_INVALID)
    return exe


@execution_app.command("show")
def execution_show(execution_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one execution: its task runs as a tree, or the JSON."""
    from lanner.cli.live import summary

    repo, _ = _store()
    exe = _load_execution(repo, execution_id)
    flow = _flow_of(repo, exe)
    if as_json:
        _write_execution_json(exe, flow)
        return
    summary(_console(stderr=False), exe, _secrets(exe, flow))


def _command(execution_id: str, kind: str, payload: dict[str, Any], wanted: tuple[str, ...],
             label: str | None = None) -> None:
    """Send `kind` to the process that drives the execution; carry it out here only if none does.

    A live owner — even a stopped (Ctrl-Z) or busy one — is never bypassed: the command waits in
    the store until it takes it. Only when the owner is verifiably gone does this process take
    the execution over, apply the command first, and drive the execution to its end. `label` is
    what the user asked for, when it travels as another kind (an approval as a resume).
    """
    import time

    from lanner.storage.owners import Owners

    repo, files = _store()
    exe = _load_execution(repo, execution_id)
    con = _console()
    owners = Owners(repo.db)
    said = label or kind
    if exe.state.current.value not in wanted:
        verb = {"resume": "resumed", "approve": "approved", "deny": "denied"}.get(said, "killed")
        hint = ""
        if kind == "resume" and not exe.state.current.terminated and owners.left_behind([exe.id]):
            hint = ("; it was left behind by a process that ended: "
                    f"continue it with `lanner execution continue {exe.id}`")
        con.out(f"error: execution {exe.id} is {exe.state.current.value}; only a {' or '.join(wanted)} "
                f"execution can be {verb}{hint}")
        raise typer.Exit(EXIT_INVALID)
    seq = repo.add_command(exe.id, kind, payload)
    told: str | None = None
    previous = signal.signal(signal.SIGTERM, _stop_waiting)
    try:
        while True:
            if repo.command_done(seq):
                con.out(f"{said}: sent to the process running execution {exe.id}")
                raise typer.Exit(EXIT_OK)
            current = repo.get(exe.id)
            if current is not None and current.state.current.terminated:
                con.out(f"error: execution {exe.id} ended {current.state.current.value} before its process took "
                        f"the {said}")
                raise typer.Exit(EXIT_INVALID)
            owner = owners.owner_of(exe.id)
            if owner is None or not owner.alive():
                break
            about = owner.describe()
            if about != told:
                con.out(f"{said}: waiting for {about}, which drives execution {exe.id}; Ctrl-C stops waiting "
                        f"(the {said} stays queued for it)")
                told = about
            time.sleep(0.1)
    except KeyboardInterrupt:
        con.out(f"{said}: still queued; it is carried out when that process takes it")
        raise typer.Exit(EXIT_OK) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    # The owner is gone: the execution was left behind. Take it over; the queued command comes first.
    con.out(f"{said}: the process that drove execution {exe.id} has ended; continuing it here")
    _continue_here(con, repo, files, exe.id)


def _stop_waiting(_signum: int, _frame: Any) -> None:
    """SIGTERM stops a command's wait for its owner as Ctrl-C does: the command stays queued."""
    raise KeyboardInterrupt


def _continue_here(con: Any, repo: Any, files: Any, execution_id: str) -> None:
    """Drive a left-behind execution to its end in this process (signals as for `lanner run`)."""
    from lanner.cli.live import LiveView
    from lanner.errors import LannerError
    from lanner.runtime.catalog import FlowCatalog
    from lanner.runtime.local import LocalRuntime, OwnedElsewhere

    view = LiveView(con)
    stored = repo.get(execution_id)
    if stored is not None:  # a listed iteration's value is masked here as under `lanner run`
        view.secrets = _secrets(stored, _flow_of(repo, stored))
    runtime = LocalRuntime(repo, files, listener=view, catalog=FlowCatalog(repo), what="lanner execution continue")
    old = _stop_on_signals(con, runtime)
    try:
        with view:
            done = runtime.resume_stored(execution_id)
    except OwnedElsewhere as exc:
        con.out(f"error: execution {execution_id}: {exc.render()}")
        raise typer.Exit(EXIT_INVALID) from None
    except LannerError as exc:  # a stored flow that no longer loads is the user's to read
        _fail_invalid(exc)
        return
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        runtime.close()
    _finish_run(con, done, False, False, _flow_of(repo, done))


@execution_app.command("continue")
def execution_continue(execution_id: str) -> None:
    """Continue an execution left behind by a process that ended, to its normal end.

    Attempts that had finished keep their result; an attempt cut off mid-run runs again once,
    after its old process is gone; `finally` runs once. Refused while a live process drives it.
    """
    repo, files = _store()
    exe = _load_execution(repo, execution_id)
    con = _console()
    if exe.state.current.terminated:
        con.out(f"error: execution {exe.id} has ended ({exe.state.current.value}); nothing to continue")
        raise typer.Exit(EXIT_INVALID)
    _continue_here(con, repo, files, exe.id)


@execution_app.command("resume")
def execution_resume(
    execution_id: str,
    input: list[str] = typer.Option([], "--input", "-i",
                                    help="A value of the Pause's `onResume` inputs as KEY=VALUE (repeatable)."),
) -> None:
    """Resume a PAUSED execution (its Pause task ends SUCCESS), with the values its `onResume` declares.

    The values are typed as `lanner run -i` types a flow's (FILE ones given as local paths): a
    missing or invalid one refuses the resume, and the execution stays PAUSED.
    """
    payload = _resume_payload(execution_id, input)
    _command(execution_id, "resume", payload, ("PAUSED",))


def _resume_payload(execution_id: str, pairs: list[str]) -> dict[str, Any]:
    """The stored resume command: each paused run's typed `onResume` values, and who resumes."""
    from lanner.errors import LannerError
    from lanner.model.inputs import parse_cli_inputs
    from lanner.model.resume_inputs import as_flow_inputs, typed_resume_inputs

    repo, files = _store()
    exe = _load_execution(repo, execution_id)
    if exe.state.current.value != "PAUSED":
        return {}  # `_command` refuses it, saying why
    flow = _flow_of(repo, exe)
    try:
        typed = typed_resume_inputs(flow, exe, parse_cli_inputs(pairs))
        form = as_flow_inputs(flow, exe)
        inputs = {run_id: _upload_file_inputs(form, values, files, exe.id) for run_id, values in typed.items()}
    except LannerError as exc:
        _fail_invalid(exc)
        raise  # not reached: `_fail_invalid` exits
    return {"inputs": inputs, "by": _user()}


@execution_app.command("approve")
def execution_approve(
    execution_id: str,
    comment: str | None = typer.Option(None, "--comment", "-c", help="The reviewer's comment."),
    input: list[str] = typer.Option([], "--input", "-i", help="A value of the Approval's `inputs` as KEY=VALUE."),
    task_run: str | None = typer.Option(None, "--task-run", help="Which waiting Approval, when several wait."),
) -> None:
    """Approve the Approval an execution waits for: its `onApprove` tasks run, then `approveBehavior`."""
    _decide(execution_id, "APPROVED", comment, input, task_run)


@execution_app.command("deny")
def execution_deny(
    execution_id: str,
    comment: str | None = typer.Option(None, "--comment", "-c", help="The reviewer's comment."),
    input: list[str] = typer.Option([], "--input", "-i", help="A value of the Approval's `inputs` as KEY=VALUE."),
    task_run: str | None = typer.Option(None, "--task-run", help="Which waiting Approval, when several wait."),
) -> None:
    """Deny the Approval an execution waits for: its `onDeny` tasks run, then `denyBehavior` (CANCEL by default)."""
    _decide(execution_id, "DENIED", comment, input, task_run)


def _decide(execution_id: str, decision: Any, comment: str | None, pairs: list[str], task_run: str | None) -> None:
    """A decision goes through the resume channel: one Approval run's checked record (see
    `model/approval_decisions.py`), sent to the process that drives the execution."""
    from lanner.errors import LannerError
    from lanner.model.approval_decisions import typed_decision
    from lanner.model.inputs import parse_cli_inputs
    from lanner.model.resume_inputs import as_flow_inputs

    repo, files = _store()
    exe = _load_execution(repo, execution_id)
    payload: dict[str, Any] = {}
    if exe.state.current.value == "PAUSED":  # otherwise `_command` refuses it, saying why
        flow = _flow_of(repo, exe)
        try:
            run_id, record = typed_decision(flow, exe, decision, comment, parse_cli_inputs(pairs), task_run)
            form = as_flow_inputs(flow, exe, approvals=True)
            record[run_id]["inputs"] = _upload_file_inputs(form, record[run_id]["inputs"], files, exe.id)
        except LannerError as exc:
            _fail_invalid(exc)
            raise  # not reached: `_fail_invalid` exits
        payload = {"taskRunId": run_id, "inputs": record, "by": _user()}
    _command(execution_id, "resume", payload, ("PAUSED",), label="approve" if decision == "APPROVED" else "deny")


def _user() -> str | None:
    """Who runs this command, for `resumed.by` and an Approval's `by`."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's user)
        return None


@execution_app.command("kill")
def execution_kill(execution_id: str, hard: bool = typer.Option(False, "--hard", help="Skip cleanup.")) -> None:
    """Kill a running execution: running tasks are cancelled, finally still runs (unless --hard)."""
    from lanner.model.state import KILLABLE, StateType

    _command(execution_id, "kill", {"hard": hard}, tuple(s.value for s in StateType if s in KILLABLE))


@app.command()
def logs(
    execution_id: str,
    level: str = typer.Option("TRACE", "--level", "-l", help="Minimum level."),
    task: str | None = typer.Option(None, "--task", "-t", help="Only this task id."),
) -> None:
    """Print the logs of an execution (those of a task with `logToFile: true` from its files)."""
    from lanner.cli.attempt_logs import print_log_files
    from lanner.model.results import LEVEL_RANK

    if level.upper() not in LEVEL_RANK:
        _console().out(f"error: unknown level `{level}`; use one of {', '.join(LEVEL_RANK)}")
        raise typer.Exit(EXIT_INVALID)
    repo, files = _store()
    exe = _load_execution(repo, execution_id)
    for r in repo.logs(exe.id, level, task):
        sys.stdout.write(f"{r['timestamp']} {r['level']:<5} {r['task_id'] or '-'} {r['message']}\n")
    print_log_files(exe, files, level, task, sys.stdout.write)


@app.command()
def plugins() -> None:
    """List the task types this installation knows."""
    from lanner.plugins import registry

    for name in registry.known_types():
        sys.stdout.write(name + "\n")


def command_line(args: list[str]) -> typer.Typer:
    """The command line that parses `args`: only the command or group they name, when they name one.

    Typer builds every command it holds (parameters, their converters) on each call, and holding a
    group means importing its module: ~15 ms of a short `lanner run` on a small machine, for
    commands that are not run. Help, no command or an unknown one get the whole command line, so
    `lanner --help` and "No such command" list everything as before. The empty callback keeps a
    command line of one command a group (`lanner run …`, not a bare `run` command).
    """
    first = args[0] if args else ""
    commands = [info for info in app.registered_commands if _name_of(info) == first]
    groups = [first] if first in _GROUPS else []
    if not commands and not groups:
        commands, groups = list(app.registered_commands), list(_GROUPS)
    line = typer.Typer(**_SETTINGS)
    line.callback()(_no_options)
    line.registered_commands = commands
    for name in groups:
        module, attribute = _GROUPS[name]
        line.add_typer(getattr(__import__(module, fromlist=[attribute]), attribute), name=name)
    return line


def _name_of(info: Any) -> str:
    """A command's name as typer derives it (given, or from its function's name)."""
    from typer.main import get_command_name

    return str(info.name or get_command_name(info.callback.__name__))


def _no_options() -> None:
    """`lanner` itself takes no options (its commands do)."""


def main() -> None:
    """The `lanner` command. It ends through `ending.end` (no teardown of every object), with
    the code a `SystemExit` carried; a traceback takes the interpreter's usual way out."""
    from lanner.cli import ending

    try:
        _main()
    except SystemExit as exc:
        ending.end(ending.exit_code(exc.code))
    ending.end(0)


def _main() -> None:
    from lanner.errors import LannerError

    try:
        command_line(sys.argv[1:])()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
    except LannerError as exc:  # bad settings found late (e.g. LANNER_MAX_TASK_RUNS): one line, no traceback
        _print_errors(exc)
        sys.exit(EXIT_INVALID)
    except Exception as exc:  # noqa: BLE001 - a damaged store or unusable home gets one line, not a traceback
        from lanner.storage.db import store_fault

        fault = store_fault(exc)
        if fault is None:
            raise
        _console().out(f"error: {fault.render()}", highlight=False)
        sys.exit(EXIT_INVALID)
