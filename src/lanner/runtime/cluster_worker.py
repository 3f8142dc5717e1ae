"""The worker role: claims jobs from the database, runs them on a thread pool, reports results.

The task itself runs in the same `worker.Worker` as in the embedded runtime (timeouts, kills,
logs). Around it: a claim loop that takes as many jobs as there are free threads (SKIP LOCKED,
so workers never wait for each other) and hands them to the pool only once the claim committed;
the end of each attempt made durable at once, by the thread that ran it and before that thread
takes anything else — its result event written and its job deleted in one transaction, refused
when the job is no longer this worker's (it was handed back); a log writer that stores log
lines every FLUSH_SECONDS; and a heartbeat that keeps the worker registered and cancels the jobs
the executors flagged.

A worker builds each task's template variables itself from the stored flow revision and the
stored execution, which the executor committed before the job became visible. A worker that
finds itself declared dead (its heartbeat stalled past `deadAfter` and a reaper on another
machine handed its attempts back) cancels what it runs — those attempts belong to others now —
and registers again under a new id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import StateType, iso
from lanner.plugins.api import RunnableTask
from lanner.runtime import core, refused_writes
from lanner.runtime.group_commit import GroupCommit
from lanner.runtime.purges import Purges
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import CANCELS, JOBS, Kind, encode_result
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.settings import ClusterSettings
from lanner.runtime.stored_flows import StoredFlows
from lanner.runtime.task_commands import ExecutionCommands
from lanner.runtime.trigger_toggles import TriggerToggles
from lanner.storage import execution_rows
from lanner.storage.execution_queries import ExecutionQueries
from lanner.storage.files import LocalFiles
from lanner.storage.trigger_store import TriggerStore
from lanner.storage.write_faults import Backoff, is_transient
from lanner.worker.attempt_notes import cut_off_predecessors
from lanner.worker.worker import KILL_GRACE_SECONDS, Job, Worker

log = logging.getLogger("lanner.worker")
FLUSH_SECONDS = 0.1  # log lines wait at most this long before they are stored
RETRY_SECONDS = 0.5  # first wait before trying again to store a result while the database is unreachable
MAX_RETRY_SECONDS = 5.0  # the longest wait between two such tries
REFUSED_TRIES = 3  # tries of a result refused for what it carries before it is stored as FAILED instead
REFUSED_WAIT = 0.1  # before the second such try (then twice that, …): the data, not the database, is at fault
_T = TypeVar("_T")


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
        self._logs: list[LogEntry] = []
        self._in_flight: dict[str, tuple[str, int, str]] = {}  # task run → (execution, attempt, claimed as)
        self.secrets = core.Secrets()  # of the executions whose attempts run here, masked in their logs
        self._flush = threading.Event()
        self._hard = threading.Event()
        self._idle = threading.Event()  # an attempt ended: the drain looks again
        self._revive = threading.Lock()  # one re-registration at a time (claim loop and heartbeat both notice)
        self._handing_back: set[tuple[str, int]] = set()  # attempts we stopped (shutdown, reaped): no result
        self._threads: list[threading.Thread] = []
        self._results: GroupCommit[tuple[WorkerResult, str], bool] = GroupCommit(self._store_group)
        self.worker = Worker(report=self._on_result, log_sink=self._on_log, files=self.files, threads=self.threads,
                             error_logs=self._error_logs, fetch_logs=self._fetch_logs, worker_id=self.id,
                             executions=ExecutionCommands(
                                 ExecutionQueries(self.db.reader).get, self._send_resume,
                                 lambda: Purges(ExecutionQueries(self.db.engine), self.files, lambda _eid: False),
                                 flow_of=lambda exe: self.flows.find(exe.namespace, exe.flow_id, exe.flow_revision)),
                             triggers=TriggerToggles(self.flows.find, lambda: TriggerStore(self.db.engine)))

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        """Register, then claim and run jobs until `stop()`; then finish (or hand back) what runs."""
        with self.db.transaction() as tx:
            jobs.register(tx, self.id, self.group, self.threads)
        log.info("worker %s (group %s, %d threads) registered", self.id, self.group or "default", self.threads)
        for target, name in ((self._log_loop, "logs"), (self._heartbeat_loop, "heartbeat")):
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

    def stop(self, hard: bool = False) -> None:
        """Stop claiming; running attempts get `grace_seconds` to finish. `hard`: cancel them now."""
        if hard:
            self._hard.set()
            self._idle.set()
        self.stopping.set()
        self.db.waker.signal(JOBS)

    def stop_now(self) -> None:
        self.stop(hard=True)

    def _drain(self) -> None:
        """Stopping cleanly (SIGTERM): no new claims; running attempts get `grace_seconds` to finish.

        Those still running then are stopped (their process groups terminated, the graceful way)
        and, once they are gone, handed back with the worker's deregistration: another worker runs
        a new attempt, so the execution goes on — a `finally` task included — instead of being
        killed because its worker was restarted. A second signal (`stop(hard=True)`) skips the wait.
        """
        deadline = time.monotonic() + self.settings.grace_seconds
        while self._in_flight and not self._hard.is_set() and time.monotonic() < deadline:
            self._idle.wait(0.05)
            self._idle.clear()
        with self._lock:
            running = list(self._in_flight)
            self._handing_back.update((rid, att) for rid, (_, att, _) in self._in_flight.items())
        if running:
            log.warning("worker %s: stopping %d attempt(s) still running %s; they are handed back to other workers",
                        self.id, len(running), "at once (second signal)" if self._hard.is_set() else
                        f"after the {self.settings.grace_seconds:.0f}s grace period")
        for run_id in running:
            self.worker.cancel(run_id)
        deadline = time.monotonic() + KILL_GRACE_SECONDS + 1
        while self._in_flight and time.monotonic() < deadline:  # stopped attempts report themselves
            self._idle.wait(0.05)
            self._idle.clear()
        self.worker.shutdown(wait=False)
        self._write_logs()
        try:
            with self.db.transaction() as tx:
                handed = jobs.deregister(tx, self.id)
            if handed:
                log.warning("worker %s handed %d attempt(s) back", self.id, len(handed))
        except Exception:  # noqa: BLE001 - the reaper finds us gone anyway
            log.warning("could not deregister worker %s; its jobs go back once the reaper sees it gone", self.id)
        for thread in self._threads:
            thread.join(timeout=2)

    # -- claiming ----------------------------------------------------------------------------

    def _claim(self) -> int:
        with self._lock:
            free = self.threads - len(self._in_flight)
        if free <= 0:
            return 0
        claimed_as = self.id
        with self.db.transaction() as tx:
            rows = jobs.claim(tx, claimed_as, self.group, free)
            if rows is not None:  # None: we were declared dead, handled once the transaction is over
                ready, failed, stale = self._prepare(tx, rows)
                jobs.done(tx, stale)
        if rows is None:
            self._declared_dead(claimed_as)
            return 0
        # Only now that the claim is committed may the attempts run: a rolled-back claim runs nothing.
        with self._lock:
            for job, _ in ready:
                self._in_flight[job.task_run_id] = (job.execution_id, job.attempt, claimed_as)
            for result in failed:
                self._in_flight[result.task_run_id] = (result.execution_id, result.attempt, claimed_as)
        for job, cancel in ready:
            self.worker.submit(job)
            if cancel:
                self.worker.cancel(job.task_run_id)
        for result in failed:
            self._on_result(result)
        return len(rows)

    def _prepare(self, tx: Any, rows: list[jobs.JobRow]) -> tuple[list[tuple[Job, bool]], list[WorkerResult],
                                                                   list[tuple[str, int]]]:
        """The claimed jobs to run (with their cancel flag), those that fail before running (with
        the reason), and the stale ones (their attempt is already over)."""
        loaded = execution_rows.load(tx.conn, list({r.execution_id for r in rows}))
        ready: list[tuple[Job, bool]] = []
        failed: list[WorkerResult] = []
        stale: list[tuple[str, int]] = []
        for row in rows:
            exe = loaded.get(row.execution_id, (None, 0))[0]
            run = exe.by_id.get(row.task_run_id) if exe is not None else None
            if exe is None or run is None or run.current is not StateType.RUNNING or len(run.attempts) != row.attempt:
                stale.append((row.task_run_id, row.attempt))
                continue
            try:
                flow = self.flows.get(row.namespace, row.flow_id, row.revision)
                task = flow.task(run.task_id)
                assert isinstance(task, RunnableTask)
                shared = self.workdirs.for_task(flow, exe, run, lambda owner, level, message: self._on_log(
                    LogEntry(owner.execution_id, owner.id, owner.task_id, level, message)))
            except Exception as exc:  # noqa: BLE001 - the attempt fails with the reason
                message = exc.render() if isinstance(exc, LannerError) else f"{type(exc).__name__}: {exc}"
                self._on_log(LogEntry(exe.id, run.id, run.task_id, "ERROR", message, attempt=row.attempt))
                failed.append(WorkerResult(exe.id, run.id, row.attempt, StateType.FAILED, worker_id=self.id,
                                           message=message))
                continue
            task_vars = variables.build(flow, exe, run, task)
            if shared is not None:
                task_vars["workingDir"] = str(shared)
            with self._lock:
                secrets = self.secrets.track(flow, exe)
            ready.append((Job(exe.id, run.id, row.attempt, task, task_vars, exe.namespace, exe.flow_id,
                              shared_dir=shared, cut_off=cut_off_predecessors(run), secrets=secrets), row.cancel))
        return ready, failed, stale

    def _declared_dead(self, old: str) -> None:
        """We stalled past deadAfter and were reaped: our attempts were handed back. Stop them (their
        results will be refused), then register afresh under a new id — registered before it is
        used, so the claim loop never claims under an id the database does not know."""
        with self._revive:
            if self.id != old:  # the other thread (claim loop or heartbeat) did it already
                return
            with self._lock:
                mine = [(rid, att) for rid, (_, att, claimed_as) in self._in_flight.items() if claimed_as == old]
                self._handing_back.update(mine)  # not ours any more: no result of theirs is stored
            running = [rid for rid, _ in mine]
            for run_id in running:
                self.worker.cancel(run_id)
            new = jobs.new_worker_id()
            with self.db.transaction() as tx:
                jobs.register(tx, new, self.group, self.threads)
            with self._lock:
                self.id = self.worker.worker_id = new
        log.error("worker %s was declared dead (no heartbeat for %.0fs); its %d attempt(s) were handed back and "
                  "are being cancelled here; registered again as %s", old, self.settings.dead_after_seconds,
                  len(running), new)

    # -- reporting ---------------------------------------------------------------------------

    def _on_result(self, result: WorkerResult) -> None:
        """The end of an attempt, made durable before this thread does anything else.

        Called on the thread that ran the attempt (or the kill-grace timer): its result event and
        the deletion of its job commit together, with the log lines gathered so far. A crash
        after this point cannot run the attempt again; a crash before it re-runs an attempt whose
        end was never recorded. When the job is gone — the attempt was handed to another worker —
        the result is refused, not merged.
        """
        with self._lock:
            held = self._in_flight.get(result.task_run_id)
            # stopped by our own shutdown: no result; its job goes back with the deregistration
            key = (result.task_run_id, result.attempt)
            handing_back = key in self._handing_back and result.state is StateType.KILLED
            self._handing_back.discard(key)
        claimed_as = held[2] if held is not None and held[:2] == (result.execution_id, result.attempt) else self.id
        accepted = handing_back or self._store(result, claimed_as)
        if not accepted:
            log.warning("attempt %d of task run %s ended %s, but it was handed to another worker meanwhile: "
                        "its result is not applied", result.attempt, result.task_run_id, result.state.value)
        with self._lock:
            if held is not None and self._in_flight.get(result.task_run_id) == held:
                del self._in_flight[result.task_run_id]
            self.secrets.keep_only({eid for eid, _, _ in self._in_flight.values()})
        self._idle.set()
        self.db.waker.signal(JOBS)  # a thread is free: claim again

    def _store(self, result: WorkerResult, claimed_as: str) -> bool:
        """Write the result event and delete the job in one transaction; False when the job is gone.

        Results that end while another thread is writing are written together in its next
        transaction (`group_commit`); each thread still goes on only once its own is stored."""
        return self._results.submit((result, claimed_as))

    def _store_group(self, ended: Sequence[tuple[WorkerResult, str]]) -> list[bool]:
        """Store the results (and the log lines gathered so far) in one transaction; once stored,
        True for each whose job was still this worker's. A failure that passes (the database is
        away, a serialization failure) is tried again as it is, waiting longer each time; one
        refused for what the write carries is isolated (`_store_apart`), so that it blocks nothing."""
        backoff = Backoff(RETRY_SECONDS, MAX_RETRY_SECONDS)
        while True:
            with self._lock:
                entries, self._logs = self._logs, []
            try:
                return self._write_results(ended, entries)
            except Exception as exc:  # noqa: BLE001 - the results are kept; what to do depends on the error
                with self._lock:
                    self._logs[:0] = entries
                if self._hard.is_set():
                    log.error("could not store the result of %d attempt(s); they are handed back once this worker "
                              "is gone", len(ended))
                    return [True] * len(ended)
                if not is_transient(exc):
                    log.warning("could not store %d result(s) (%s): storing the log lines and each result apart",
                                len(ended), refused_writes.why(exc))
                    return self._store_apart(ended)
                wait = backoff.next()
                log.warning("could not store %d result(s); retrying in %.1fs", len(ended), wait, exc_info=True)
                time.sleep(wait)

    def _write_results(self, ended: Sequence[tuple[WorkerResult, str]], entries: list[LogEntry]) -> list[bool]:
        with self.db.transaction() as tx:
            execution_rows.add_logs(tx.conn, entries)
            kept = jobs.finish(tx, [(r.task_run_id, r.attempt, claimed_as) for r, claimed_as in ended])
            events.put_many(tx, [(r.execution_id, Kind.RESULT, encode_result(r), None) for r, _ in ended
                                 if (r.task_run_id, r.attempt) in kept])
        return [(r.task_run_id, r.attempt) in kept for r, _ in ended]

    def _store_apart(self, ended: Sequence[tuple[WorkerResult, str]]) -> list[bool]:
        """After a refused write: the pending log lines first (a refused one replaced by its
        stand-in), then each result in a transaction of its own; a result refused again after
        REFUSED_TRIES tries is stored as a FAILED result saying why. Each job is still deleted in
        the transaction that stores its result, so a result is stored once or not at all."""
        try:
            self._until_stored(self._write_logs)
        except Exception:  # noqa: BLE001 - even the stand-ins were refused: the lines wait for the log loop
            log.exception("could not store the pending log lines; storing the results without them")
        return [self._store_alone(item) for item in ended]

    def _store_alone(self, item: tuple[WorkerResult, str]) -> bool:
        result, claimed_as = item
        refused: Exception | None = None
        for tries in range(1, REFUSED_TRIES + 1):
            try:
                return self._until_stored(lambda: self._write_results([item], []))[0]
            except Exception as exc:  # noqa: BLE001 - refused for what it carries: tried alone a few times
                if self._hard.is_set():
                    return True
                refused = exc
                time.sleep(REFUSED_WAIT * tries)
        assert refused is not None
        failed, note = refused_writes.failed_instead(result, refused, REFUSED_TRIES)
        log.error("task run %s: %s", result.task_run_id, failed.message)
        while True:  # our own small rows: refused, the fault is not in the data; keep trying, slowly
            try:
                return self._until_stored(lambda: self._write_results([(failed, claimed_as)], [note]))[0]
            except Exception:  # noqa: BLE001
                if self._hard.is_set():
                    return True
                log.exception("could not store the failure of task run %s either; retrying", result.task_run_id)
                time.sleep(MAX_RETRY_SECONDS)

    def _until_stored(self, write: Callable[[], _T]) -> _T:
        """`write()`, tried again while it fails for a passing reason (or until a hard stop)."""
        backoff = Backoff(RETRY_SECONDS, MAX_RETRY_SECONDS)
        while True:
            try:
                return write()
            except Exception as exc:
                if not is_transient(exc) or self._hard.is_set():
                    raise
                wait = backoff.next()
                log.warning("could not write to the database; retrying in %.1fs", wait, exc_info=True)
                time.sleep(wait)

    def _on_log(self, entry: LogEntry) -> None:
        self.secrets.mask(entry)
        with self._lock:
            self._logs.append(entry)

    def _log_loop(self) -> None:
        while not self.stopping.is_set():
            self._flush.wait(FLUSH_SECONDS)
            self._flush.clear()
            try:
                self._write_logs()
            except Exception:  # noqa: BLE001 - kept in memory and written at the next try
                log.exception("could not write log lines; retrying")
                time.sleep(RETRY_SECONDS)

    def _write_logs(self) -> None:
        """Store the gathered log lines; one the database refuses is replaced by its stand-in
        (`refused_writes.store_lines`), so that it does not hold back every line after it."""
        with self._lock:
            entries, self._logs = self._logs, []
        stored = 0  # lines are stored in order: those after this many are kept for the next try

        def insert(lines: list[LogEntry]) -> None:
            nonlocal stored
            with self.db.transaction() as tx:
                execution_rows.add_logs(tx.conn, lines)
            stored += len(lines)  # a stand-in takes the place of one line

        try:
            refused_writes.store_lines(entries, insert)
        except BaseException:
            with self._lock:
                self._logs[:0] = entries[stored:]
            raise

    # -- heartbeat and cancellations -----------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                me = self.id
                with self.db.transaction() as tx:
                    alive = jobs.heartbeat(tx, me)
                    flagged = jobs.cancelled(tx.conn, me) if alive else []
                if not alive and not self.stopping.is_set():  # stopping: we deregistered ourselves
                    self._declared_dead(me)
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
                          "timestamp": iso(e.timestamp)} for e in pending]

    def _send_resume(self, execution_id: str, inputs: dict[str, dict[str, Any]]) -> None:
        """A `…execution.Resume` task's command: an event for the executor that claims the execution."""
        with self.db.transaction() as tx:
            events.put(tx, execution_id, Kind.RESUME, {"inputs": inputs})

    def _fetch_logs(self, execution_id: str, task_ids: list[str] | None, level: str) -> list[str]:
        from lanner.storage.execution_queries import ExecutionQueries

        rows = ExecutionQueries(self.db.reader).logs(execution_id, level)
        return [f"{r['timestamp']} {r['level']} {r['task_id'] or ''} {r['message']}" for r in rows
                if not task_ids or r["task_id"] in task_ids]
