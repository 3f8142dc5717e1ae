"""The worker role: claims jobs from the database, runs them on a thread pool, reports results.

The task itself runs in the same `worker.Worker` as in the embedded runtime (timeouts, kills,
logs). Around it: a claim loop that takes as many jobs as there are free threads (SKIP LOCKED,
so workers never wait for each other), a reporter that writes each result as an executor event
and deletes its job in one transaction (with the log lines gathered meanwhile), and a heartbeat
that keeps the worker registered and cancels the jobs the executors flagged.

A worker builds each task's template variables itself from the stored flow revision and the
stored execution, which the executor committed before the job became visible. A worker that
finds itself declared dead (it stalled longer than `deadAfter`) cancels what it runs — those
attempts were handed to others — and registers again under a new id.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.inputs import mask, secret_values
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import StateType
from lanner.plugins.api import RunnableTask
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import CANCELS, JOBS, Kind, encode_result
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.settings import ClusterSettings
from lanner.runtime.stored_flows import StoredFlows
from lanner.storage import execution_rows
from lanner.storage.files import LocalFiles
from lanner.worker.worker import Job, Worker

log = logging.getLogger("lanner.worker")
FLUSH_SECONDS = 0.1  # log lines wait at most this long before they are stored


class ClusterWorker:
    def __init__(self, db: QueueDatabase, settings: ClusterSettings, flows: StoredFlows | None = None) -> None:
        from lanner.runtime.workdirs import WorkingDirectories

        self.db = db
        self.settings = settings
        self.flows = flows or StoredFlows(db.reader)
        self.group = settings.worker_group
        self.threads = settings.threads
        self.id = jobs.new_worker_id()
        self.files = LocalFiles(settings.storage_path)
        self.workdirs = WorkingDirectories(settings.storage_path.parent / "work", self.files)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._results: list[WorkerResult] = []
        self._logs: list[LogEntry] = []
        self._in_flight: dict[str, tuple[str, int]] = {}  # task run → (execution, attempt) until reported
        self._secrets: dict[str, tuple[str, ...]] = {}
        self._flush = threading.Event()
        self._threads: list[threading.Thread] = []
        self.worker = Worker(report=self._on_result, log_sink=self._on_log, files=self.files, threads=self.threads,
                             error_logs=self._error_logs, fetch_logs=self._fetch_logs, worker_id=self.id)

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        """Register, then claim and run jobs until `stop()`; then finish (or hand back) what runs."""
        with self.db.transaction() as tx:
            jobs.register(tx, self.id, self.group, self.threads)
        log.info("worker %s (group %s, %d threads) registered", self.id, self.group or "default", self.threads)
        for target, name in ((self._report_loop, "reporter"), (self._heartbeat_loop, "heartbeat")):
            thread = threading.Thread(target=target, name=f"lanner-worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        while not self.stopping.is_set():
            try:
                took = self._claim()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the role
                log.exception("claiming jobs failed; retrying")
                self.stopping.wait(0.5)
                continue
            if not took:
                self.db.waker.wait(JOBS, self.settings.poll_seconds)
        self._drain()

    def stop(self) -> None:
        self.stopping.set()
        self.db.waker.signal(JOBS)

    def _drain(self, grace: float = 10.0) -> None:
        """Stopping cleanly: let running tasks finish for a while, report them, then leave."""
        deadline = time.monotonic() + grace
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        for run_id in list(self._in_flight):
            self.worker.cancel(run_id)
        self._flush.set()
        self.worker.shutdown(wait=False)
        self._write()
        try:
            with self.db.transaction() as tx:
                jobs.deregister(tx, self.id)  # anything still held goes back at the next reap
        except Exception:  # noqa: BLE001 - the reaper finds us silent anyway
            log.warning("could not deregister worker %s; its jobs go back after deadAfter", self.id)
        for thread in self._threads:
            thread.join(timeout=2)

    # -- claiming ----------------------------------------------------------------------------

    def _claim(self) -> int:
        with self._lock:
            free = self.threads - len(self._in_flight)
        if free <= 0:
            return 0
        with self.db.transaction() as tx:
            rows = jobs.claim(tx, self.id, self.group, free)
            if rows is None:
                self._declared_dead()
                return 0
            with self._lock:
                for row in rows:
                    self._in_flight[row.task_run_id] = (row.execution_id, row.attempt)
            stale = self._start(tx, rows)
            jobs.done(tx, stale)
        if stale:
            with self._lock:
                for run_id, _ in stale:
                    self._in_flight.pop(run_id, None)
        return len(rows)

    def _start(self, tx: Any, rows: list[jobs.JobRow]) -> list[tuple[str, int]]:
        """Hand the claimed jobs to the thread pool; returns the stale ones (their attempt is over)."""
        loaded = execution_rows.load(tx.conn, list({r.execution_id for r in rows}))
        stale: list[tuple[str, int]] = []
        for row in rows:
            exe = loaded.get(row.execution_id, (None, 0))[0]
            run = exe.by_id.get(row.task_run_id) if exe is not None else None
            if run is None or run.current is not StateType.RUNNING or len(run.attempts) != row.attempt:
                stale.append((row.task_run_id, row.attempt))
                continue
            try:
                flow = self.flows.get(row.namespace, row.flow_id, row.revision)
                task = flow.task(run.task_id)
                assert isinstance(task, RunnableTask)
                shared = self.workdirs.for_task(flow, exe, run)
            except Exception as exc:  # noqa: BLE001 - the attempt fails with the reason
                message = exc.render() if isinstance(exc, LannerError) else f"{type(exc).__name__}: {exc}"
                self._on_log(LogEntry(exe.id, run.id, run.task_id, "ERROR", message, attempt=row.attempt))
                self._on_result(WorkerResult(exe.id, run.id, row.attempt, StateType.FAILED, worker_id=self.id,
                                             message=message))
                continue
            task_vars = variables.build(flow, exe, run, task)
            if shared is not None:
                task_vars["workingDir"] = str(shared)
            secrets = secret_values(flow, exe)
            if secrets:
                with self._lock:
                    self._secrets[exe.id] = secrets
            self.worker.submit(Job(exe.id, run.id, row.attempt, task, task_vars, exe.namespace, exe.flow_id,
                                   shared_dir=shared))
            if row.cancel:
                self.worker.cancel(run.id)
        return stale

    def _declared_dead(self) -> None:
        """We stalled past deadAfter: our attempts were handed back. Stop them; start afresh."""
        with self._lock:
            running = list(self._in_flight)
            self._in_flight.clear()
        for run_id in running:
            self.worker.cancel(run_id)
        old, self.id = self.id, jobs.new_worker_id()
        self.worker.worker_id = self.id
        with self.db.transaction() as tx:
            jobs.register(tx, self.id, self.group, self.threads)
        log.error("worker %s was declared dead (no heartbeat for %.0fs); its %d attempt(s) were handed back; "
                  "registered again as %s", old, self.settings.dead_after_seconds, len(running), self.id)

    # -- reporting ---------------------------------------------------------------------------

    def _on_result(self, result: WorkerResult) -> None:
        with self._lock:
            self._results.append(result)
        self._flush.set()

    def _on_log(self, entry: LogEntry) -> None:
        entry.message = mask(entry.message, self._secrets.get(entry.execution_id, ()))
        with self._lock:
            self._logs.append(entry)

    def _report_loop(self) -> None:
        while not self.stopping.is_set() or self._results:
            self._flush.wait(FLUSH_SECONDS)
            self._flush.clear()
            try:
                self._write()
            except Exception:  # noqa: BLE001 - kept in memory and written at the next try
                log.exception("could not write results; retrying")
                time.sleep(0.5)

    def _write(self) -> None:
        with self._lock:
            results, self._results = self._results, []
            entries, self._logs = self._logs, []
        if not results and not entries:
            return
        try:
            with self.db.transaction() as tx:
                execution_rows.add_logs(tx.conn, entries)
                events.put_many(tx, [(r.execution_id, Kind.RESULT, encode_result(r), None) for r in results])
                jobs.done(tx, [(r.task_run_id, r.attempt) for r in results])
        except BaseException:
            with self._lock:
                self._results[:0] = results
                self._logs[:0] = entries
            raise
        if results:
            with self._lock:
                for r in results:
                    if self._in_flight.get(r.task_run_id) == (r.execution_id, r.attempt):
                        del self._in_flight[r.task_run_id]
                busy = {eid for eid, _ in self._in_flight.values()}
                for eid in [e for e in self._secrets if e not in busy]:
                    del self._secrets[eid]
            self.db.waker.signal(JOBS)  # threads are free: claim again

    # -- heartbeat and cancellations -----------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.db.transaction() as tx:
                    alive = jobs.heartbeat(tx, self.id)
                    flagged = jobs.cancelled(tx.conn, self.id) if alive else []
                for run_id in flagged:
                    self.worker.cancel(run_id)
            except Exception:  # noqa: BLE001 - missing one heartbeat is fine; deadAfter is several
                log.warning("heartbeat failed; retrying", exc_info=True)
            self.db.waker.wait(CANCELS, self.settings.heartbeat_seconds)

    # -- what tasks may read -------------------------------------------------------------------

    def _error_logs(self, execution_id: str) -> list[dict[str, Any]]:
        with self.db.reader.connect() as conn:
            stored = execution_rows.error_logs(conn, execution_id)
        with self._lock:
            pending = [e for e in self._logs if e.execution_id == execution_id and e.level == "ERROR"]
        return stored + [{"taskId": e.task_id, "taskRunId": e.task_run_id, "message": e.message, "level": e.level,
                          "timestamp": e.timestamp.isoformat()} for e in pending]

    def _fetch_logs(self, execution_id: str, task_ids: list[str] | None, level: str) -> list[str]:
        from lanner.storage.execution_queries import ExecutionQueries

        rows = ExecutionQueries(self.db.reader).logs(execution_id, level)
        return [f"{r['timestamp']} {r['level']} {r['task_id'] or ''} {r['message']}" for r in rows
                if not task_ids or r["task_id"] in task_ids]
