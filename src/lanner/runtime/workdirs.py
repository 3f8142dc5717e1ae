"""The shared folders of `WorkingDirectory` tasks: made before the first child runs, emptied after.

The executor decides and never does I/O, so the folder's life is the runtime's job: a child
task gets the folder of its nearest `WorkingDirectory` ancestor (created on first use, with the
task's `inputFiles` written in it, after its `cache` was unpacked: `workdir_caches.py`); when the
`WorkingDirectory` run ends, its `outputFiles` are stored and recorded as its outputs and its cache
archived, before any task after it is dispatched, then the folder goes.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lanner.model import variables
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.runtime import workdir_caches
from lanner.storage.files import LocalFiles

Say = Callable[[TaskRun, str, str], None]


class WorkingDirectories:
    def __init__(self, root: Path, files: LocalFiles) -> None:
        self.root = root
        self.files = files

    def _path(self, exe: Execution, run: TaskRun) -> Path:
        return self.root / exe.id / run.id

    def for_task(self, flow: Flow, exe: Execution, run: TaskRun, say: Say | None = None) -> Path | None:
        """The folder `run` works in (made on first use); `say` is told what the folder's owner
        did, as (owner run, level, message) — a cache restored or expired."""
        owner = variables.working_directory_of(flow, exe, run)
        if owner is None:
            return None
        path = self._path(exe, owner)
        if not path.exists():
            path.mkdir(parents=True)
            task: Any = flow.task(owner.task_id)
            if task.cache is not None:
                try:
                    note = workdir_caches.restore(self.files, exe.namespace, exe.flow_id, owner, task.cache, path)
                except (OSError, zipfile.BadZipFile) as exc:  # a broken archive costs the cache, never the run
                    note = f"Cache could not be restored ({exc}); the folder starts without it"
                if note and say is not None:
                    say(owner, "INFO", note)
            if task.namespaceFiles is not None:
                from lanner.plugins.scripts.support import load_namespace_files

                load_namespace_files(self._context(flow, exe, owner), path, task.namespaceFiles)
            if task.inputFiles:
                from lanner.plugins.scripts.support import write_input_files

                write_input_files(self._context(flow, exe, owner), path, task.inputFiles)
        return path

    def finish(self, flow: Flow, exe: Execution, run: TaskRun) -> list[tuple[str, str]]:
        """A WorkingDirectory run ended: store its outputFiles into its outputs, archive its
        cache, remove the folder. Returns (level, message) lines for the run's log."""
        path = self._path(exe, run)
        if not path.exists():
            return []
        notes: list[tuple[str, str]] = []
        task: Any = flow.task(run.task_id)
        try:
            if task.outputFiles:
                from lanner.plugins.properties import render_list
                from lanner.plugins.scripts.support import collect_output_files

                ctx = self._context(flow, exe, run)
                stored = collect_output_files(ctx, path, render_list(ctx, task.outputFiles, "outputFiles"), None)
                run.outputs = {**run.outputs, "outputFiles": stored}
        except Exception as exc:  # noqa: BLE001 - reported as a log line of the run, never a crash
            notes.append(("ERROR", "outputFiles could not be stored: "
                          + (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")))
        try:
            if task.cache is not None:
                note = workdir_caches.save(self.files, exe.namespace, exe.flow_id, run, task.cache, path)
                if note:
                    notes.append(("INFO", note))
        except OSError as exc:  # a cache that cannot be written costs the cache, never the run
            notes.append(("WARN", f"Cache could not be saved: {exc}"))
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return notes

    def _context(self, flow: Flow, exe: Execution, run: TaskRun) -> Any:
        from lanner.worker.context import WorkerContext

        task = flow.task(run.task_id)
        return WorkerContext(execution_id=exe.id, task_run_id=run.id, task_id=task.id, attempt=1,
                             variables=variables.build(flow, exe, run, task), sink=lambda entry: None,
                             files=self.files, namespace=exe.namespace, flow_id=exe.flow_id, log_level=None)
