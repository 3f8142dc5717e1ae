"""Run a flow in-process, for plugin authors' tests and our own: `run_flow(yaml) -> Execution`.

This is the one implementation: the project's own tests import it from here (through
tests/conftest.py), so the helper plugin authors get is the one the project keeps green.
The flow runs through the real `LocalRuntime` (SQLite store, worker threads) in a home
directory laid out like LANNER_HOME (`lanner.db`, `storage/`), so its logs and files can be
read afterwards with `logs_of` / `files_of`.
"""

from __future__ import annotations

import tempfile
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lanner.model.execution import Execution
    from lanner.runtime.catalog import FlowCatalog
    from lanner.storage.files import LocalFiles
    from lanner.storage.repository import Repository

KILL_WHEN_DEADLINE_SECONDS = 60.0


def repository_of(home: str | Path) -> Repository:
    """The store `run_flow` used in `home`, to read back executions it wrote (subflows, ...)."""
    from lanner.storage import db
    from lanner.storage.repository import Repository

    return Repository(db.connect(f"sqlite:///{Path(home) / 'lanner.db'}"))


def logs_of(home: str | Path, execution_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    """The stored log lines of an execution run by `run_flow` (dicts: level, message, timestamp, task_id)."""
    return repository_of(home).logs(execution_id, task_id=task_id)


def files_of(home: str | Path) -> LocalFiles:
    """The internal storage `run_flow` used, to read `kestra://` URIs from outputs."""
    from lanner.storage.files import LocalFiles

    return LocalFiles(Path(home) / "storage")


def run_flow(yaml_text: str, home: str | Path | None = None, inputs: dict[str, Any] | None = None, *,
             kill_after: float | None = None, kill_when: Callable[[str, Any], bool] | None = None,
             catalog: FlowCatalog | None = None, threads: int = 16) -> Execution:
    """Validate and run `yaml_text` to its end in `home` (a throw-away directory when None).

    `kill_when(kind, item)` sees every event of the run as it happens (`("log", LogEntry)`,
    `("run", TaskRun)`, `("execution", Execution)`) and sends a graceful kill (as Ctrl-C would)
    the first time it returns true: tests kill at a moment they can name (a log line, a task
    started) rather than after a guessed delay. If it has not held after a minute the run is
    killed anyway, so a broken test ends instead of hanging. `kill_after` kills after that many
    seconds, for tests where the moment does not matter.
    """
    from lanner.loading.flows import load_flow
    from lanner.model.inputs import resolve_inputs
    from lanner.runtime.local import LocalRuntime

    tmp = None
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="lanner-test-")
        home = tmp.name
    root = Path(home)
    root.mkdir(parents=True, exist_ok=True)
    repo = repository_of(root)
    if catalog is not None:
        catalog.repo = repo
    fired = threading.Event()
    runtime: LocalRuntime | None = None

    def listener(kind: str, item: Any) -> None:
        if kill_when is None or fired.is_set() or runtime is None:
            return
        try:
            met = kill_when(kind, item)
        except Exception:  # noqa: BLE001 - a test's predicate must not break the run it watches; the deadline still kills
            met = False
        if met:
            fired.set()
            runtime.kill()

    runtime = LocalRuntime(repo, files_of(root), threads=threads, catalog=catalog,
                           listener=listener if kill_when is not None else None)
    timer = None
    if kill_when is not None:
        timer = threading.Timer(KILL_WHEN_DEADLINE_SECONDS, runtime.kill)
    elif kill_after is not None:
        timer = threading.Timer(kill_after, runtime.kill)
    try:
        flow = load_flow(textwrap.dedent(yaml_text))
        exe = runtime.create(flow, resolve_inputs(flow, inputs or {}))
        if timer is not None:
            timer.daemon = True
            timer.start()
        return runtime.run(flow, exe)
    finally:
        if timer is not None:
            timer.cancel()
        runtime.close()
        if tmp is not None:
            tmp.cleanup()
