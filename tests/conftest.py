"""Shared test helpers: run a flow in-process through the real runtime (SQLite store, worker threads)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lanner.model.loader import load_flow
from lanner.model.inputs import resolve_inputs
from lanner.runtime.catalog import FlowCatalog
from lanner.runtime.local import LocalRuntime
from lanner.storage import db
from lanner.storage.files import LocalFiles
from lanner.storage.repository import Repository


def run_flow(yaml_text: str, tmp_path: Path, inputs: dict[str, Any] | None = None, *,
             kill_after: float | None = None, catalog: FlowCatalog | None = None) -> Any:
    """Run a flow to its end; returns the Execution (.state.current, .task_runs with .outputs ...).

    `kill_after` sends a graceful kill (like Ctrl-C) that many seconds after the start.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    engine = db.connect(f"sqlite:///{tmp_path / 't.db'}")
    repo = Repository(engine)
    if catalog is not None:
        catalog.repo = repo
    rt = LocalRuntime(repo, LocalFiles(tmp_path / "storage"), catalog=catalog)
    flow = load_flow(yaml_text)
    exe = rt.create(flow, resolve_inputs(flow, inputs or {}))
    timer = threading.Timer(kill_after, rt.kill) if kill_after is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        return rt.run(flow, exe)
    finally:
        if timer is not None:
            timer.cancel()
        rt.close()


def logs_of(tmp_path: Path, execution_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
    """The stored log lines of an execution run by `run_flow` (dicts: level, message, timestamp, task_id)."""
    return Repository(db.connect(f"sqlite:///{tmp_path / 't.db'}")).logs(execution_id, task_id=task_id)


def files_of(tmp_path: Path) -> LocalFiles:
    """The internal storage `run_flow` used, to read `kestra://` URIs from outputs."""
    return LocalFiles(tmp_path / "storage")
