"""The shared folders of `WorkingDirectory` tasks: made before the first child runs, emptied after.

The executor decides and never does I/O, so the folder's life is the runtime's job: a child
task gets the folder of its nearest `WorkingDirectory` ancestor (created on first use, with the
task's `inputFiles` written in it); when the `WorkingDirectory` run ends, its `outputFiles` are
stored and recorded as its outputs, before any task after it is dispatched, then the folder goes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lanner.model import variables
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.storage.files import LocalFiles


class WorkingDirectories:
    def __init__(self, root: Path, files: LocalFiles) -> None:
        self.root = root
        self.files = files

    def _path(self, exe: Execution, run: TaskRun) -> Path:
        return self.root / exe.id / run.id

    def for_task(self, flow: Flow, exe: Execution, run: TaskRun) -> Path | None:
        owner = variables.working_directory_of(flow, exe, run)
        if owner is None:
            return None
        path = self._path(exe, owner)
        if not path.exists():
            path.mkdir(parents=True)
            task: Any = flow.task(owner.task_id)
            if task.namespaceFiles is not None:
                from lanner.plugins.scripts.support import load_namespace_files

                load_namespace_files(self._context(flow, exe, owner), path, task.namespaceFiles)
            if task.inputFiles:
                from lanner.plugins.scripts.support import write_input_files

                write_input_files(self._context(flow, exe, owner), path, task.inputFiles)
        return path

    def finish(self, flow: Flow, exe: Execution, run: TaskRun) -> str | None:
        """A WorkingDirectory run ended: store its outputFiles into its outputs, remove the folder.

        Returns why the files could not be stored, if they could not.
        """
        path = self._path(exe, run)
        if not path.exists():
            return None
        try:
            task: Any = flow.task(run.task_id)
            if task.outputFiles:
                from lanner.plugins.properties import render_list
                from lanner.plugins.scripts.support import collect_output_files

                ctx = self._context(flow, exe, run)
                stored = collect_output_files(ctx, path, render_list(ctx, task.outputFiles, "outputFiles"), None)
                run.outputs = {**run.outputs, "outputFiles": stored}
            return None
        except Exception as exc:  # noqa: BLE001 - reported as a log line of the run, never a crash
            return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _context(self, flow: Flow, exe: Execution, run: TaskRun) -> Any:
        from lanner.worker.context import WorkerContext

        task = flow.task(run.task_id)
        return WorkerContext(execution_id=exe.id, task_run_id=run.id, task_id=task.id, attempt=1,
                             variables=variables.build(flow, exe, run, task), sink=lambda entry: None,
                             files=self.files, namespace=exe.namespace, flow_id=exe.flow_id, log_level=None)
