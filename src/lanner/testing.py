"""Run a flow in-process, for plugin authors' tests and our own: `run_flow(yaml) -> Execution`."""

from __future__ import annotations

import tempfile
import textwrap
import threading
from pathlib import Path
from typing import Any

from lanner.model.execution import Execution


def run_flow(yaml_text: str, inputs: dict[str, Any] | None = None, home: str | Path | None = None,
             kill_after: float | None = None, threads: int = 16) -> Execution:
    """Validate and run `yaml_text` to its end on a throw-away SQLite store (or `home`).

    `kill_after` sends a graceful kill after that many seconds, as Ctrl-C would.
    """
    from lanner.model.inputs import resolve_inputs
    from lanner.model.loader import load_flow
    from lanner.runtime.local import LocalRuntime
    from lanner.storage import db
    from lanner.storage.files import LocalFiles
    from lanner.storage.repository import Repository

    flow = load_flow(textwrap.dedent(yaml_text))
    tmp = None
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="lanner-test-")
        home = tmp.name
    root = Path(home)
    root.mkdir(parents=True, exist_ok=True)
    runtime = LocalRuntime(Repository(db.connect(f"sqlite:///{root / 'lanner.db'}")), LocalFiles(root / "storage"),
                           threads=threads)
    timer = None
    try:
        exe = runtime.create(flow, resolve_inputs(flow, inputs or {}))
        if kill_after is not None:
            timer = threading.Timer(kill_after, runtime.kill)
            timer.start()
        return runtime.run(flow, exe)
    finally:
        if timer is not None:
            timer.cancel()
        runtime.close()
        if tmp is not None:
            tmp.cleanup()
