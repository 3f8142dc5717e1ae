"""What `lanner run` shows while an execution runs: task runs with state and duration, and logs.

On a terminal, a rich live table redraws in place and log lines scroll above it; elsewhere
(CI, pipes) each log line and each state change is one plain line, so logs stay greppable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from lanner.model.duration import human
from lanner.model.execution import Execution, TaskRun
from lanner.model.results import LogEntry

STYLE = {
    "SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "magenta", "RUNNING": "cyan",
    "CREATED": "dim", "SKIPPED": "dim", "RETRYING": "yellow", "KILLING": "magenta", "CANCELLED": "magenta",
}


class LiveView:
    def __init__(self, console: Any, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.interactive = console.is_terminal and not quiet
        self.runs: dict[str, TaskRun] = {}
        self.execution: Execution | None = None
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
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, kind: str, payload: Any) -> None:
        if self.quiet:
            return
        with self._lock:
            if kind == "log":
                self._print_log(payload)
            elif kind == "run":
                old = self.runs.get(payload.id)
                self.runs[payload.id] = payload
                if not self.interactive and payload.current.terminated and (old is None or old is payload):
                    self._print_run(payload)
            elif kind == "execution":
                self.execution = payload

    def _print_log(self, e: LogEntry) -> None:
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
        state = run.current.value
        value = f"[{run.value}]" if run.value is not None else ""
        self.console.print(f"[{STYLE.get(state, '')}]{state:<8}[/] {run.task_id}{value} "
                           f"({human(run.state.duration())})", highlight=False)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("task")
        table.add_column("state")
        table.add_column("duration", justify="right")
        runs = list(self.runs.values())
        if len(runs) > 30:  # keep the live area small: finished ones roll into the summary
            runs = [r for r in runs if not r.current.terminated][-20:] + runs[-10:]
            runs = list({r.id: r for r in runs}.values())
        for run in runs:
            state = run.current.value
            value = f"[{run.value}]" if run.value is not None else ""
            table.add_row(f"{'  ' * _depth(run, self.runs)}{run.task_id}{value}", f"[{STYLE.get(state, '')}]{state}[/]",
                          human(run.state.duration()))
        return table


def _depth(run: TaskRun, runs: dict[str, TaskRun]) -> int:
    depth, parent = 0, run.parent_id
    while parent and depth < 20:
        depth += 1
        p = runs.get(parent)
        parent = p.parent_id if p else None
    return depth


def summary(console: Any, exe: Execution, secrets: Iterable[str] = ()) -> None:
    """The end-of-run table; `secrets` (SECRET inputs, secret() values) are masked wherever they appear."""
    from rich.markup import escape
    from rich.table import Table

    from lanner.server.views import mask

    secrets = tuple(secrets)

    state = exe.state.current.value
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("task")
    table.add_column("block")
    table.add_column("state")
    table.add_column("attempts", justify="right")
    table.add_column("duration", justify="right")
    by_id = {r.id: r for r in exe.task_runs}
    for run in exe.task_runs:
        value = escape(mask(f"[{run.value}]", secrets)) if run.value is not None else ""
        s = run.current.value
        table.add_row(f"{'  ' * _depth(run, by_id)}{run.task_id}{value}", run.block, f"[{STYLE.get(s, '')}]{s}[/]",
                      str(len(run.attempts)) if run.attempts else "", human(run.state.duration()))
    console.print(table)
    console.print(f"Execution [bold]{exe.id}[/] of {exe.namespace}.{exe.flow_id} ended "
                  f"[{STYLE.get(state, '')}]{state}[/] in {human(exe.state.duration())}", highlight=False)
    for note in exe.notes:
        console.print(f"[yellow]{escape(mask(note, secrets))}[/]", highlight=False)
    if exe.outputs:
        import json

        console.print("outputs: " + json.dumps(mask(exe.outputs, secrets)), highlight=False, markup=False)
