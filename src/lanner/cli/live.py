"""What `lanner run` shows while an execution runs: task runs with state and duration, and logs.

On a terminal (or when asked with `--live`), a rich live table redraws in place and log lines
scroll above it; elsewhere (CI, pipes, `--no-live`) each log line is one plain line, so logs stay
greppable, and each task run that ends is one line. Iterations of a loop are grouped in both
(`say ×10,000  SUCCESS 9,999  FAILED 1`): only the ones that did not end well are shown one by
one, so a big ForEach costs a few lines, not three per value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from lanner.cli.iterations import Group, Iterations, grouped, state_counts
from lanner.model.duration import human
from lanner.model.execution import Execution, TaskRun
from lanner.model.inputs import mask
from lanner.model.results import LogEntry

STYLE = {
    "SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "magenta", "RUNNING": "cyan",
    "CREATED": "dim", "SKIPPED": "dim", "RETRYING": "yellow", "KILLING": "magenta", "CANCELLED": "magenta",
}
LISTED_PER_GROUP = 20  # failed iterations shown one by one in the summary; the rest are counted


class LiveView:
    """The listener of a `LocalRuntime`: `live` None redraws only on a terminal, True always, False never."""

    def __init__(self, console: Any, quiet: bool = False, live: bool | None = None) -> None:
        self.console = console
        self.quiet = quiet
        # Quiet, the console is not asked anything: `lanner run -q` makes (and imports) it only to print.
        self.interactive = not quiet and (console.is_terminal if live is None else live)
        # Without colours a log line is plain text: written as such it costs a tenth of rich's print,
        # which counts when a loop logs 10,000 lines into a pipe.
        self._plain = not quiet and not self.interactive and console.color_system is None
        self.runs: dict[str, TaskRun] = {}
        self.order: list[str] = []  # run ids and group ids in the order they appeared
        self.iterations = Iterations()
        self.execution: Execution | None = None
        self.secrets: tuple[str, ...] = ()  # masked in the task runs' values shown (a loop over secrets)
        self._held: list[LogEntry] = []  # the execution's own log lines, shown after its task runs
        self._shown: set[int] = set()  # groups whose line was printed (plain lines)
        self._lock = threading.Lock()
        self._live: Any = None

    def __enter__(self) -> LiveView:
        if self.interactive:
            from rich.live import Live

            self._live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False,
                              get_renderable=self._table)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            if not self.interactive and not self.quiet:
                for group in self.iterations.groups.values():
                    self._print_group(group)
            self._release_held()
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, kind: str, payload: Any) -> None:
        if self.quiet:
            return
        with self._lock:
            if kind == "log":
                if payload.task_run_id is None:
                    # The executor tells its own lines (`Flow ended …`) before the task runs of the same
                    # decision: hold them until those are shown, so the output reads in order.
                    self._held.append(payload)
                else:
                    self._release_held()
                    self._print_log(payload)
            elif kind == "run":
                self._on_run(payload)
            elif kind == "execution":
                self.execution = payload
                self._release_held()

    def _on_run(self, run: TaskRun) -> None:
        old = self.runs.get(run.id)
        self.runs[run.id] = run
        group = self.iterations.count(run, self.runs)
        if old is None:
            if group is None:
                self.order.append(run.id)
            elif group.first is run:
                self.order.append(_group_id(group))
        if self.interactive or not run.current.terminated or (old is not None and old is not run):
            return
        if group is None:
            for inner in self.iterations.anchored_at(run.id):
                self._print_group(inner)
            self._print_run(run)
        elif run.id in group.listed:
            self._print_run(run)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for entry in held:
            self._print_log(entry)

    def _print_log(self, e: LogEntry) -> None:
        if self._plain:
            task = f"{e.task_id} " if e.task_id else ""
            self.console.file.write(f"{e.timestamp.strftime('%H:%M:%S.%f')[:-3]} {e.level:<5} {task}{e.message}\n")
            return
        from rich.text import Text

        level_style = {"ERROR": "red", "WARN": "yellow", "DEBUG": "dim", "TRACE": "dim"}.get(e.level, "")
        line = Text()
        line.append(e.timestamp.strftime("%H:%M:%S.%f")[:-3] + " ", style="dim")
        line.append(f"{e.level:<5} ", style=level_style)
        if e.task_id:
            line.append(f"{e.task_id} ", style="bold")
        line.append(e.message)
        self.console.print(line, highlight=False, soft_wrap=True)

    def _print_run(self, run: TaskRun) -> None:
        from rich.text import Text

        state = run.current.value
        line = Text()
        line.append(f"{state:<8}", style=STYLE.get(state, ""))
        line.append(f" {mask(_label(run), self.secrets)} ({human(run.state.duration())})")
        self.console.print(line, highlight=False, soft_wrap=True)

    def _print_group(self, group: Group) -> None:
        """One line for a loop's iterations of one task, once, when the loop ends (or the run does)."""
        if id(group) in self._shown:
            return
        self._shown.add(id(group))
        line = _group_text(group)
        line.append(f" ({human(group.duration())})")
        self.console.print(line, highlight=False, soft_wrap=True)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("task")
        table.add_column("state")
        table.add_column("duration", justify="right")
        # No lock here: rich's refresh thread calls this while holding its own lock, which a print
        # under our lock waits for. Copies of the lists are enough for a picture redrawn 8 times a second.
        order = list(self.order)  # before the groups: every group it names is in them
        groups = {_group_id(g): g for g in list(self.iterations.groups.values())}
        rows = [self._row(key, groups) for key in order]
        if len(rows) > 30:  # keep the live area small: finished ones roll into the summary
            rows = [r for r in rows if not r[3]][-20:] + rows[-10:]
            rows = list({id(r): r for r in rows}.values())
        for label, state, duration, _ in rows:
            table.add_row(label, state, duration)
        return table

    def _row(self, key: str, groups: dict[str, Group]) -> tuple[Any, Any, str, bool]:
        """(task, state, duration, ended) of one row of the live table: a task run or a group."""
        from rich.markup import escape

        if key.startswith("group:"):
            group = groups[key]
            depth = _depth(group.first, self.runs)
            return (f"{'  ' * depth}{escape(group.task_id)} ×{group.size:,}", _group_states(group),
                    human(group.duration()), group.unfinished == 0)
        run = self.runs[key]
        state = run.current.value
        label = f"{'  ' * _depth(run, self.runs)}{escape(mask(_label(run), self.secrets))}"
        return label, f"[{STYLE.get(state, '')}]{state}[/]", human(run.state.duration()), run.current.terminated


def _group_id(group: Group) -> str:
    return f"group:{group.first.id}"


def _label(run: TaskRun) -> str:
    return f"{run.task_id}[{run.value}]" if run.value is not None else run.task_id


def _group_states(group: Group) -> Any:
    from rich.text import Text

    text = Text()
    for i, (state, n) in enumerate(state_counts(group)):
        text.append("  " if i else "")
        text.append(f"{state} {n:,}", style=STYLE.get(state, ""))
    return text


def _group_text(group: Group) -> Any:
    """`say ×10,000  SUCCESS 9,999  FAILED 1`."""
    from rich.text import Text

    text = Text(f"{group.task_id} ×{group.size:,}  ")
    text.append_text(_group_states(group))
    return text


def _depth(run: TaskRun, runs: dict[str, TaskRun]) -> int:
    depth, parent = 0, run.parent_id
    while parent and depth < 20:
        depth += 1
        p = runs.get(parent)
        parent = p.parent_id if p else None
    return depth


def summary(console: Any, exe: Execution, secrets: Iterable[str] = ()) -> None:
    """The end-of-run table, a loop's iterations grouped; `secrets` (SECRET inputs, secret()
    values) are masked wherever they appear."""
    import json

    from rich.markup import escape
    from rich.table import Table

    secrets = tuple(secrets)

    state = exe.state.current.value
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("task")
    table.add_column("block")
    table.add_column("state")
    table.add_column("attempts", justify="right")
    table.add_column("duration", justify="right")
    by_id = {r.id: r for r in exe.task_runs}

    def add_run(run: TaskRun, depth: int) -> None:
        s = run.current.value
        table.add_row(f"{'  ' * depth}{escape(mask(_label(run), secrets))}", run.block,
                      f"[{STYLE.get(s, '')}]{s}[/]", str(len(run.attempts)) if run.attempts else "",
                      human(run.state.duration()))

    for row in grouped(exe.task_runs)[0]:
        if isinstance(row, TaskRun):
            add_run(row, _depth(row, by_id))
            continue
        depth = _depth(row.first, by_id)
        table.add_row(f"{'  ' * depth}{escape(mask(row.task_id, secrets))} ×{row.size:,}", row.block,
                      _group_states(row), str(row.attempts) if row.attempts else "", human(row.duration()))
        listed = list(row.listed.values())
        for run in listed[:LISTED_PER_GROUP]:
            add_run(run, depth + 1)
        if len(listed) > LISTED_PER_GROUP:
            table.add_row(f"{'  ' * (depth + 1)}… {len(listed) - LISTED_PER_GROUP:,} more", "", "", "", "")
    console.print(table, soft_wrap=True)
    console.print(f"Execution [bold]{exe.id}[/] of {exe.namespace}.{exe.flow_id} ended "
                  f"[{STYLE.get(state, '')}]{state}[/] in {human(exe.state.duration())}", highlight=False,
                  soft_wrap=True)
    for note in exe.notes:
        console.print(f"[yellow]{escape(mask(note, secrets))}[/]", highlight=False, soft_wrap=True)
    in_files = sum(1 for run in exe.task_runs for a in run.attempts if a.log_file)
    if in_files:  # their lines were not shown as they came (`logToFile: true`): say where they are
        where = f"{in_files} attempts are kept in files" if in_files > 1 else "1 attempt are kept in a file"
        console.print(f"the logs of {where} (logToFile): `lanner logs {exe.id}` prints them", highlight=False,
                      markup=False, soft_wrap=True)
    if exe.outputs:
        # Written as the user wrote them (`ü`, not `\u00fc`): this line is for reading, --json is for tools.
        console.print("outputs: " + json.dumps(mask(exe.outputs, secrets), ensure_ascii=False), highlight=False,
                      markup=False, soft_wrap=True)
