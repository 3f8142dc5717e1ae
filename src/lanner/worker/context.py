"""The worker's `RunContext`: rendering, logging, sleeping, files — everything a plugin may touch."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanner.model.inputs import mask
from lanner.model.results import LEVEL_RANK, LevelMethods, LogEntry
from lanner.worker import attempt_notes
from lanner.worker.storage_access import ExecutionStorage

if TYPE_CHECKING:
    from lanner.worker.keeper import Paths
    from lanner.worker.leftovers import Tracker


class TaskLogger(LevelMethods):
    """Sends log lines to the runtime as they happen; masks secrets; honours `logLevel`."""

    def __init__(self, sink: Callable[[LogEntry], None], execution_id: str, run_id: str, task_id: str,
                 attempt: int, min_level: str | None, secrets: list[str]) -> None:
        self._sink = sink
        self._ids = (execution_id, run_id, task_id, attempt)
        self._min = LEVEL_RANK.get(min_level or "TRACE", 0)
        self._secrets = secrets

    def _log(self, level: str, message: str) -> None:
        if LEVEL_RANK[level] < self._min:
            return
        message = mask(message, self._secrets)
        e, r, t, a = self._ids
        self._sink(LogEntry(e, r, t, level, message, attempt=a))


class Services:
    """What `read()`, `secret()`, `kv()` and `errorLogs()` reach in templates."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx

    def read(self, uri: str) -> str:
        return self._ctx.read_file(uri).decode("utf-8", "replace")

    def namespace_file(self, path: str, namespace: str | None) -> str:
        """A namespace file's text: the flow's namespace unless another is named."""
        return self._ctx.namespace_files(namespace).read(path).decode("utf-8", "replace")

    def error_logs(self) -> list[dict[str, Any]]:
        return self._ctx.error_logs()

    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        return self._ctx.kv_store().lookup(self._ctx.namespace, key, namespace, error_on_missing)

    def secret(self, name: str) -> str:
        from lanner.secrets import secret

        value = secret(name)
        self._ctx.secrets.append(value)
        return value


class WorkerContext:
    def __init__(
        self,
        *,
        execution_id: str,
        task_run_id: str,
        task_id: str,
        attempt: int,
        variables: Mapping[str, Any],
        sink: Callable[[LogEntry], None],
        files: Any,
        namespace: str,
        flow_id: str,
        log_level: str | None,
        error_logs: Callable[[], list[dict[str, Any]]] | None = None,
        fetch_logs: Callable[..., list[str]] | None = None,
        executions: Any = None,
        triggers: Any = None,
        shared_dir: Path | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.task_id = task_id
        self.attempt = attempt
        self.variables = variables
        self.cancelled = threading.Event()
        self.secrets: list[str] = []
        self.logger = TaskLogger(sink, execution_id, task_run_id, task_id, attempt, log_level, self.secrets)
        self._files = files
        # Files by URI and task states, for the storage and state tasks (`plugins/core/storage_service.py`).
        self.storage = ExecutionStorage(files, namespace, flow_id, execution_id)
        self._namespace = namespace
        self._flow_id = flow_id
        self._workdir: Path | None = shared_dir
        self._shared = shared_dir is not None  # a WorkingDirectory's folder outlives the task
        self._error_logs = error_logs
        if fetch_logs is not None:
            self.fetch_logs = fetch_logs
        if executions is not None:  # commands to other executions (`…execution.Resume`), from the runtime
            self.executions = executions
        if triggers is not None:  # enabling and disabling triggers (`…trigger.Toggle`), from the runtime
            self.triggers = triggers
        self._services = Services(self)
        self._tracker = tracker
        # Set by the worker when an earlier, cut-off attempt's command had finished: the runner
        # then replays its recorded output and exit code instead of starting anything.
        self.adopted: attempt_notes.Note | None = None
        self._attempt_folder: Path | None = None  # where this attempt's command output and note go
        self._private_folder = False  # a temporary one (no records root): removed with the attempt

    # -- rendering ---------------------------------------------------------------------------

    def render(self, value: Any) -> Any:
        if _plain(value):  # what rendering would return as is; a task with no template never imports `expr`
            return _copied(value)
        from lanner import expr

        return expr.render_value(value, self.variables, self._services)

    def render_typed(self, value: Any) -> Any:
        if _plain(value):
            return _copied(value)
        from lanner import expr

        return expr.render_value_typed(value, self.variables, self._services)

    def render_with(self, value: Any, extra: Mapping[str, Any]) -> Any:
        """Render with `extra` variables over the task's (an item's fields, for the item tasks)."""
        from lanner import expr

        return expr.render_value(value, {**self.variables, **extra}, self._services)

    def is_true(self, value: Any) -> bool:
        from lanner import expr

        if isinstance(value, str):
            value = expr.render(value, self.variables, self._services)
        return expr.is_truthy(value)

    # -- time, files, logs -------------------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        return not self.cancelled.wait(max(seconds, 0))

    def working_dir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"lanner-{self.task_id}-"))
        return self._workdir

    def put_file(self, name: str, data: bytes) -> str:
        return self._files.put(self._namespace, self._flow_id, self.execution_id, self.task_id,
                               self.task_run_id, name, data)

    def read_file(self, uri: str) -> bytes:
        return self._files.get(uri)

    def namespace_files(self, namespace: str | None = None) -> Any:
        """The files of a namespace (the flow's unless named): `files()`, `read(path)`, `walk()`.

        Kestra's open-source edition lets a flow read any namespace's files; so does Lanner.
        """
        return self._files.namespace(namespace or self._namespace)

    def error_logs(self) -> list[dict[str, Any]]:
        return self._error_logs() if self._error_logs else []

    @property
    def namespace(self) -> str:
        """The namespace of the flow this task belongs to (the KV store's default)."""
        return self._namespace

    def kv_store(self) -> Any:
        """The KV store of the internal storage this worker writes to (`storage/kv.py:KVStore`)."""
        return self._files.kv

    # -- what the attempt started outside this process ----------------------------------------

    def process_started(self, pid: int) -> Callable[[], None]:
        """Record the process group `pid` leads; call the returned function once it is gone."""
        if self._tracker is None:
            return _nothing
        tracker = self._tracker
        handle = tracker.started(tracker.process(self.execution_id, self.task_run_id, self.attempt, pid))
        return lambda: tracker.ended(handle)

    def container_created(self, container_id: str, engine: str | None) -> Callable[[], None]:
        """Record a container this attempt created; call the returned function once it is removed."""
        if self._tracker is None:
            return _nothing
        tracker = self._tracker
        handle = tracker.started(tracker.container(self.execution_id, self.task_run_id, self.attempt,
                                                   container_id, engine))
        return lambda: tracker.ended(handle)

    def adopt(self, note: attempt_notes.Note) -> None:
        """Continue from `note`: its command's working folder becomes this attempt's (the files
        it wrote are collected from there), and runners replay it instead of running again."""
        self.adopted = note
        if not self._shared and note.workdir.is_dir():
            self._workdir = note.workdir

    def command_files(self) -> Paths:
        """Where this attempt's command writes its output, and its keeper its note.

        Beside the attempt's records when there is a records root (they must outlive this
        process); otherwise in a private temporary folder.
        """
        if self._attempt_folder is None:
            root = self._tracker.root if self._tracker is not None else None
            folder: Path | None = None
            if root is not None:
                try:
                    (root / self.task_run_id).mkdir(parents=True, exist_ok=True)
                    folder = root / self.task_run_id
                except OSError:  # an unwritable home must not fail the task; it only loses the note
                    folder = None
            if folder is None:
                folder, self._private_folder = Path(tempfile.mkdtemp(prefix="lanner-attempt-")), True
            self._attempt_folder = folder
        return attempt_notes.paths(self._attempt_folder, self.attempt)

    def close(self) -> None:
        """The attempt's result is reported: its working folder and its command's files can go."""
        if self._workdir is not None and not self._shared:
            remove_tree(self._workdir)
        if self._attempt_folder is not None:
            attempt_notes.discard(self._attempt_folder, self.attempt)
            if self._private_folder:
                shutil.rmtree(self._attempt_folder, ignore_errors=True)
        if self.adopted is not None:
            attempt_notes.discard(self.adopted.stdout.parent, self.adopted.attempt)


def remove_tree(path: Path) -> None:
    """Remove a folder and everything in it, relative to its descriptors as `shutil.rmtree` does
    (a link swapped in meanwhile is removed, never followed), with about half its system calls:
    one goes at the end of every task that acts outside Lanner. Whatever resists is left to
    `shutil.rmtree`, which ignores what it cannot remove."""
    try:
        fd = os.open(path, _FOLDER)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        _empty(fd)
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _empty(fd: int) -> None:
    with os.scandir(fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in names:
        if not is_dir:
            os.unlink(name, dir_fd=fd)
            continue
        child = os.open(name, _FOLDER, dir_fd=fd)
        try:
            _empty(child)
        finally:
            os.close(child)
        os.rmdir(name, dir_fd=fd)


def _plain(value: Any) -> bool:
    """Holds no text with a `{` (map keys included), so rendering would change none of it: the
    template language renders such a text as itself (`expr.render`)."""
    if isinstance(value, str):
        return "{" not in value
    if isinstance(value, Mapping):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return True


def _copied(value: Any) -> Any:
    """What rendering `value` would give when it is `_plain`: maps and lists are new ones (a caller
    may change them without changing the task's property), tuples become lists, as there."""
    if isinstance(value, Mapping):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copied(v) for v in value]
    return value


def _nothing() -> None:
    """Nothing was recorded (no tracker), so there is nothing to forget."""
