"""The worker: runs one attempt of a runnable task run, and owns its timeout and cancellation.

Tasks run on a pool of threads (most of a task's time is waiting: sleeps, containers, HTTP, Redis,
subprocesses). A timeout or a kill sets the attempt's `cancelled` event; cooperative plugins
(Sleep, scripts, containers) stop at once. A plugin that ignores it is abandoned after a grace
period and its attempt is reported anyway, so one stuck plugin never holds an execution.
Exactly one result is reported per attempt.

What an attempt starts outside this process (process groups, containers) is recorded with it
(`lanner.worker.leftovers`): before attempt N > 1 of a task run starts, whatever an earlier
attempt left running is ended and waited for, so two attempts of one task never overlap. And
when an earlier attempt was cut off although its command had finished (this process died in
between), the new attempt adopts that command's recorded end instead of running it again
(`lanner.worker.attempt_notes`); so an attempt's folder and notes are removed only once its
result has been reported.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import os
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lanner.errors import LannerError
from lanner.model.duration import parse_duration
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import StateType, now
from lanner.plugins.api import Output, RunnableTask, TaskFailure
from lanner.worker import attempt_notes
from lanner.worker.context import WorkerContext
from lanner.worker.deadlines import Deadline, Deadlines
from lanner.worker.leftovers import Tracker, finished_container, records_root, terminate_leftovers
from lanner.worker.log_files import LogFile

KILL_GRACE_SECONDS = float(os.environ.get("LANNER_KILL_GRACE", "10"))


@dataclasses.dataclass(slots=True)
class Job:
    execution_id: str
    task_run_id: str
    attempt: int
    task: RunnableTask
    variables: Mapping[str, Any]
    namespace: str
    flow_id: str
    shared_dir: Path | None = None  # the folder of an enclosing WorkingDirectory, kept after the task
    # Earlier attempts of this task run that were cut off, whose command's note may be adopted
    # (`attempt_notes.cut_off_predecessors` of the task run being dispatched).
    cut_off: tuple[int, ...] = ()
    # The execution's SECRET input values, for a task with `logToFile: true`: the runtimes mask them in
    # the lines they store, but the file's lines never pass through a runtime, so its logger masks them.
    secrets: tuple[str, ...] = ()


class _Running:
    def __init__(self, job: Job, ctx: WorkerContext,
                 report: Callable[[WorkerResult], None] | None = None, log_file: LogFile | None = None) -> None:
        self.job = job
        self.ctx = ctx
        self.report = report  # where the result goes instead of the worker's `report` (`run_now`)
        self.log_file = log_file  # the attempt's lines, kept for its file (`logToFile: true`)
        self.started = now()
        self.reported = False
        self.lock = threading.Lock()
        self.timeout: Deadline | None = None
        self.reason: str | None = None  # "timeout" or "kill"


class Worker:
    def __init__(
        self,
        report: Callable[[WorkerResult], None],
        log_sink: Callable[[LogEntry], None],
        files: Any,
        threads: int = 16,
        error_logs: Callable[[str], list[dict[str, Any]]] | None = None,
        fetch_logs: Callable[..., list[str]] | None = None,
        worker_id: str = "local",
        executions: Any = None,
        triggers: Any = None,
        instant_here: bool = False,
    ) -> None:
        """`instant_here`: run the attempts of instant tasks (`RunnableTask.instant`) on the thread
        that submits them, the embedded runtime's loop (their result still comes back through
        `report`); a worker process keeps every attempt on its pool."""
        self._instant_here = instant_here
        self._report = report
        self._sink = log_sink
        self._files = files
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lanner-worker")
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._error_logs = error_logs
        self._fetch_logs = fetch_logs
        self._executions = executions  # the runtime's ExecutionCommands, for tasks acting on executions
        self._triggers = triggers  # the runtime's TriggerToggles
        self.worker_id = worker_id
        self._tracker = Tracker(records_root(files))
        self._deadlines = Deadlines(f"lanner-deadlines-{worker_id}")  # every timeout and grace period

    # -- the runtime's side ------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        running = self._register(job)
        if self._instant_here and self.instant(job.task, job.attempt, job.shared_dir):
            self._run(running)
        else:
            self._pool.submit(self._run, running)

    def run_now(self, job: Job, log_sink: Callable[[LogEntry], None]) -> WorkerResult:
        """Run the attempt on this thread and return its result, not reported, its log lines given
        to `log_sink` (an instant task's attempt that the embedded runtime applies at once, see
        `LocalRuntime._run_instant`)."""
        results: list[WorkerResult] = []
        self._run(self._register(job, results.append, log_sink))
        return results[0]

    @staticmethod
    def instant(task: RunnableTask, attempt: int, shared_dir: Path | None) -> bool:
        """May this attempt run on the thread that submits it? An instant task's first attempt
        (`RunnableTask.instant`), without a timeout to arm or a shared folder to work in."""
        return task.instant and attempt == 1 and task.timeout is None and shared_dir is None

    def _register(self, job: Job, report: Callable[[WorkerResult], None] | None = None,
                  log_sink: Callable[[LogEntry], None] | None = None) -> _Running:
        error_logs = self._error_logs
        sink = log_sink or self._sink
        log_file = None
        if job.task.logToFile and self._files is not None:
            log_file = LogFile.for_attempt(self._files, sink, job.namespace, job.flow_id, job.execution_id,
                                           job.task.id, job.task_run_id, job.attempt)
        ctx = WorkerContext(
            execution_id=job.execution_id, task_run_id=job.task_run_id, task_id=job.task.id, attempt=job.attempt,
            variables=job.variables, sink=log_file.sink if log_file else sink, files=self._files,
            namespace=job.namespace,
            flow_id=job.flow_id, log_level=job.task.logLevel,
            error_logs=(lambda: error_logs(job.execution_id)) if error_logs else None,
            fetch_logs=self._fetch_logs, executions=self._executions,
            triggers=self._triggers, shared_dir=job.shared_dir, tracker=self._tracker,
        )
        if log_file is not None:
            ctx.secrets.extend(job.secrets)
        running = _Running(job, ctx, report, log_file)
        with self._lock:
            self._running[job.task_run_id] = running
        return running

    def cancel(self, task_run_id: str) -> None:
        with self._lock:
            running = self._running.get(task_run_id)
        if running is None:
            return
        running.reason = running.reason or "kill"
        running.ctx.cancelled.set()
        self._deadlines.after(KILL_GRACE_SECONDS, lambda: self._abandon(
            running, StateType.KILLED, "the task did not stop within the kill grace period; abandoned"))

    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            running = list(self._running.values())
        for r in running:
            r.ctx.cancelled.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def terminate_all(self) -> list[str]:
        """The hard stop: SIGKILL every live process group and remove every live container now.

        Synchronous (the groups are gone when it returns), so a process about to `os._exit`
        leaves nothing running behind it. Returns what it did, one sentence each.
        """
        return self._tracker.terminate_all()

    # -- one attempt -------------------------------------------------------------------------

    def _run(self, running: _Running) -> None:
        job, ctx = running.job, running.ctx
        state = StateType.SUCCESS
        outputs: dict[str, Any] = {}
        message: str | None = None
        try:
            if ctx.cancelled.is_set():
                raise TaskFailure("cancelled before it started")
            if job.attempt > 1:
                self._end_predecessors(job, ctx)
            self._arm_timeout(running)
            result = job.task.run(ctx)
            if isinstance(result, Output):
                outputs = _jsonable(result.values)
                if result.state is not None:
                    state = result.state
            elif isinstance(result, Mapping):
                outputs = _jsonable(dict(result))
        except TaskFailure as exc:
            state, message, outputs = StateType.FAILED, exc.message, _jsonable(exc.outputs)
        except LannerError as exc:
            state, message = StateType.FAILED, exc.render()
        except Exception as exc:  # noqa: BLE001 - a plugin bug fails the task, never the worker
            state, message = StateType.FAILED, f"{type(exc).__name__}: {exc}"
            ctx.logger.debug("".join(traceback.format_exception(exc)))
        finally:
            if running.timeout is not None:
                running.timeout.cancel()
        if running.reason == "kill":
            keep = state is StateType.FAILED and message and "cancelled" not in message
            state, message = StateType.KILLED, message if keep else None
            message = message or "killed"
        elif running.reason == "timeout":
            state = StateType.FAILED
            message = self._timeout_message(job)
        if message and state in (StateType.FAILED, StateType.KILLED):
            ctx.logger.error(message) if state is StateType.FAILED else ctx.logger.warn(f"Task {message}")
        self._finish(running, state, outputs, message)
        # Only now that the result is reported (and stored, for tasks acting outside Lanner) do the
        # working folder and the command's note go: a crash before this must find them.
        ctx.close()

    def _end_predecessors(self, job: Job, ctx: WorkerContext) -> None:
        """End what earlier attempts of this task run left running (after a crash), and say so;
        adopt the recorded end of a cut-off attempt whose command had finished.

        The notes are read before anything is terminated: a note written because *we* ended a
        group here would describe our SIGTERM, not a command that finished on its own.
        """
        root = self._tracker.root
        folder = root / job.task_run_id if root is not None else None
        cut_off = [n for n in job.cut_off if n < job.attempt]
        note = None
        if folder is not None and cut_off:
            note = attempt_notes.find(folder, cut_off) or finished_container(folder, job.execution_id, cut_off)
        for sentence in terminate_leftovers(root, job.execution_id, job.task_run_id):
            when = f" before attempt {job.attempt}" if sentence.endswith(" it") else ""
            ctx.logger.warn(f"{sentence[0].upper()}{sentence[1:]}{when}")
        if folder is None:
            return
        for earlier in range(1, job.attempt):
            if note is None or earlier != note.attempt:
                attempt_notes.discard(folder, earlier)
        if note is not None:
            ctx.adopt(note)
            ctx.logger.warn(f"Attempt {note.attempt}'s command had finished (exit code {note.exit_code}) before "
                            f"its Lanner process stopped; its recorded output is used and the command is not run "
                            f"again")

    def _arm_timeout(self, running: _Running) -> None:
        raw = running.job.task.timeout
        if raw is None:
            return
        try:
            value = running.ctx.render(raw) if isinstance(raw, str) else raw
            seconds = parse_duration(value).total_seconds()
        except LannerError as exc:
            raise TaskFailure(f"invalid timeout: {exc.render()}") from None

        def expire() -> None:
            running.reason = running.reason or "timeout"
            running.ctx.cancelled.set()
            self._deadlines.after(KILL_GRACE_SECONDS, lambda: self._abandon(
                running, StateType.FAILED, self._timeout_message(running.job)))

        running.timeout = self._deadlines.after(seconds, expire)

    @staticmethod
    def _timeout_message(job: Job) -> str:
        raw = job.task.timeout
        if isinstance(raw, dt.timedelta):
            total = raw.total_seconds()
            h, rest = divmod(total, 3600)
            m, s = divmod(rest, 60)
            return f"Timeout after {int(h):d}:{int(m):02d}:{s:06.3f}"
        return f"Timeout after {raw}"

    def _abandon(self, running: _Running, state: StateType, message: str) -> None:
        if not running.reported:
            running.ctx.logger.error(message)
            self._finish(running, state, {}, message)

    def _finish(self, running: _Running, state: StateType, outputs: dict[str, Any], message: str | None) -> None:
        with running.lock:
            if running.reported:
                return
            running.reported = True
        with self._lock:
            self._running.pop(running.job.task_run_id, None)
        job = running.job
        # the file is made before the result that names it is reported and stored
        log_file = running.log_file.close() if running.log_file is not None else None
        (running.report or self._report)(WorkerResult(job.execution_id, job.task_run_id, job.attempt, state, outputs,
                                  running.started, now(), self.worker_id, message, log_file))


def _jsonable(value: Any) -> Any:
    """Outputs are stored as JSON: turn dates and other scalars into their printed form."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dt.datetime):
        from lanner.model.state import iso

        return iso(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
