"""The embedded runtime: one process, an in-memory queue, a worker thread pool, SQLite.

The loop is the executor's only caller, so the execution has one writer. Each batch of effects
is persisted (task runs, execution, logs, in one transaction) before any job is handed to a
worker or cancelled: a crash at any point leaves a store from which the execution resumes.
"""

from __future__ import annotations

import heapq
import queue
import threading
from collections.abc import Callable
from typing import Any

from lanner.engine.executor import Effects, Executor
from lanner.model import variables
from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.flow import Flow
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import now
from lanner.plugins.api import RunnableTask
from lanner.storage.files import LocalFiles
from lanner.storage.repository import Repository
from lanner.worker.worker import Job, Worker

Listener = Callable[[str, Any], None]  # ("log", LogEntry) | ("run", TaskRun) | ("execution", Execution)


class LocalRuntime:
    def __init__(self, repo: Repository, files: LocalFiles, threads: int = 16,
                 listener: Listener | None = None) -> None:
        self.repo = repo
        self.files = files
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.listener = listener
        self._logs: list[LogEntry] = []
        self._logs_lock = threading.Lock()
        self._error_logs: dict[str, list[dict[str, Any]]] = {}
        self.worker = Worker(
            report=lambda r: self.events.put(("result", r)),
            log_sink=self._on_log,
            files=files,
            threads=threads,
            error_logs=lambda eid: list(self._error_logs.get(eid, [])),
            fetch_logs=self._fetch_logs,
        )

    # -- public ------------------------------------------------------------------------------

    def create(self, flow: Flow, inputs: dict[str, Any], labels: dict[str, str] | None = None) -> Execution:
        exe = Execution(id=new_id(), namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
                        inputs=inputs, labels={**flow.labels, **(labels or {})}, variables=dict(flow.variables))
        exe.labels.setdefault("system.correlationId", exe.id)
        exe.original_id = exe.id
        self.repo.save(exe)
        return exe

    def run(self, flow: Flow, exe: Execution) -> Execution:
        """Drive the execution to its end (or to a hard kill); returns it as stored."""
        executor = Executor(flow, exe)
        delays: list[tuple[Any, str]] = []
        ended = self._apply(flow, executor, executor.start(), delays)
        while not ended:
            timeout = None
            if delays:
                timeout = max((delays[0][0] - now()).total_seconds(), 0)
            try:
                kind, payload = self.events.get(timeout=timeout)
            except queue.Empty:
                due, run_id = heapq.heappop(delays)
                ended = self._apply(flow, executor, executor.on_retry_due(run_id), delays)
                continue
            if kind == "result":
                fx = executor.on_result(payload)
            elif kind == "kill":
                fx = executor.kill(hard=bool(payload))
            else:  # pragma: no cover
                continue
            ended = self._apply(flow, executor, fx, delays)
        self._flush(exe)
        return exe

    def kill(self, hard: bool = False) -> None:
        """Safe to call from a signal handler or another thread."""
        self.events.put(("kill", hard))

    def close(self) -> None:
        self.worker.shutdown(wait=False)

    # -- applying the executor's decisions ---------------------------------------------------

    def _apply(self, flow: Flow, executor: Executor, fx: Effects, delays: list[tuple[Any, str]]) -> bool:
        exe = executor.exe
        with self._logs_lock:
            logs, self._logs = self._logs + fx.logs, []
        for e in fx.logs:
            self._remember_error(e)
        self.repo.save(exe, fx.runs.values(), header=fx.execution_changed or not fx.runs or fx.ended, logs=logs)
        if self.listener:
            for e in fx.logs:
                self.listener("log", e)
            for run in fx.runs.values():
                self.listener("run", run)
            if fx.execution_changed:
                self.listener("execution", exe)
        for run_id in fx.cancel:
            self.worker.cancel(run_id)
        for due, run_id in [(d, r) for r, d in fx.retries]:
            heapq.heappush(delays, (due, run_id))
        for run in fx.dispatch:
            self._submit(flow, exe, run)
        return fx.ended

    def _submit(self, flow: Flow, exe: Execution, run: TaskRun) -> None:
        task = flow.task(run.task_id)
        assert isinstance(task, RunnableTask)
        self.worker.submit(Job(exe.id, run.id, len(run.attempts), task, variables.build(flow, exe, run, task),
                               exe.namespace, exe.flow_id))

    # -- logs --------------------------------------------------------------------------------

    def _on_log(self, entry: LogEntry) -> None:
        with self._logs_lock:
            self._logs.append(entry)
        self._remember_error(entry)
        if self.listener:
            self.listener("log", entry)

    def _remember_error(self, e: LogEntry) -> None:
        if e.level == "ERROR":
            self._error_logs.setdefault(e.execution_id, []).append(
                {"taskId": e.task_id, "taskRunId": e.task_run_id, "message": e.message, "level": e.level,
                 "timestamp": e.timestamp.isoformat()})

    def _flush(self, exe: Execution) -> None:
        with self._logs_lock:
            logs, self._logs = self._logs, []
        self.repo.save(exe, (), header=True, logs=logs)

    def _fetch_logs(self, execution_id: str, task_ids: list[str] | None, level: str) -> list[str]:
        with self._logs_lock:
            pending = [e for e in self._logs if e.execution_id == execution_id]
        rows = self.repo.logs(execution_id, level)
        lines = [f"{r['timestamp']} {r['level']} {r['task_id'] or ''} {r['message']}" for r in rows
                 if not task_ids or r["task_id"] in task_ids]
        lines += [f"{e.timestamp.isoformat()} {e.level} {e.task_id or ''} {e.message}" for e in pending
                  if not task_ids or e.task_id in task_ids]
        return lines


