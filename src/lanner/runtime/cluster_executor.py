"""The executor role: applies queued events to executions, one transaction per batch.

Each pass locks a batch of executions that have due events (row locks, SKIP LOCKED: executors
never wait for each other and never work on the same execution at once), applies their events in
order through the same pure `engine.executor.Executor` the embedded runtime uses, and commits the
new task runs, the jobs, timers, child executions and the deletion of the applied events in one
transaction (`cluster_outbox`). A killed executor loses nothing: its transaction rolls back and
the events wait for the next executor. Executions are kept in memory between passes and reused
while their `version` shows nobody else changed them.

Instant tasks (Log, Return, OutputValues, Echo: `runtime/instant.py`) are run by the executor
itself, inside the claiming transaction, as the embedded runtime runs them before it persists:
they do nothing outside Lanner, so their runs, results and log lines commit with the decision that
dispatched them, or vanish with it. A flow of such tasks never reaches a worker.

Executors also watch the workers: a worker whose heartbeat stopped is removed and each attempt it
held is handed back as a `worker_lost` event (a new attempt, Kestra's resubmission).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import socket
import threading
import time
from typing import Any

from lanner.engine.executor import Effects, Executor
from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.execution import TaskRun
from lanner.model.results import LogEntry
from lanner.model.state import StateType, iso
from lanner.plugins.api import RunnableTask
from lanner.runtime import cluster_outbox, core, instant, refused_writes
from lanner.runtime.cluster_outbox import Held, Outbox
from lanner.runtime.host import Host
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import EVENTS, Event, Kind, decode_result, epoch
from lanner.runtime.queues.database import QueueDatabase, Tx
from lanner.runtime.settings import ClusterSettings
from lanner.runtime.stored_flows import StoredFlows
from lanner.storage import execution_rows
from lanner.storage.files import LocalFiles
from lanner.storage.write_faults import Backoff, is_transient
from lanner.worker.worker import Job, Worker

log = logging.getLogger("lanner.executor")
CACHE_SIZE = 5000
POISON_DELAY = 5.0  # seconds before events that made the executor fail are tried again
RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 5.0  # waits after a pass failed for a passing reason (doubling)
REFUSED_DELAY = 0.5  # first wait before an execution whose writes were refused is tried again (doubling)
REFUSED_TRIES = 4  # refused passes of one execution, alone, before it is failed so that it blocks nothing
# Instant tasks are cheap, but a template may loop for up to its time budget (expr/env.py), and
# the executor serves every execution: a task that took longer than SLOW_INSTANT once goes to the
# workers from then on, and a pass stops running instant tasks after INSTANT_BUDGET seconds (CPU).
SLOW_INSTANT = 0.05
INSTANT_BUDGET = 0.25
HOUSEKEEPING_SECONDS = 60.0


class ClusterExecutor:
    def __init__(self, db: QueueDatabase, settings: ClusterSettings, flows: StoredFlows | None = None,
                 workdirs: Any = None) -> None:
        self.db = db
        self.settings = settings
        self.flows = flows or StoredFlows(db.reader)
        self.workdirs = workdirs
        # what its decisions read of the world; the KV store is the shared storage the workers use
        files = self.files = LocalFiles(settings.storage_path)
        self.surroundings = Host(files)
        # runs instant tasks on the executor's thread (`run_now`); never submits to its pool
        self.worker = Worker(report=_not_reported, log_sink=_not_reported, files=files, threads=1,
                             error_logs=self._error_logs,
                             worker_id=f"executor-{socket.gethostname()[:40]}-{os.getpid()}")
        self._pass: tuple[Tx, dict[str, list[dict[str, Any]]]] | None = None  # for `errorLogs()` in a pass
        self._instant_spent = 0.0  # CPU seconds this pass spent running instant tasks
        self._slow: set[tuple[str, str, int, str]] = set()  # (namespace, flow, revision, task) sent to workers
        self.held: collections.OrderedDict[str, Held] = collections.OrderedDict()
        self.stopping = threading.Event()
        self._last_reap = 0.0
        self._last_housekeeping = 0.0
        self.applied = 0  # events applied since start (for tests and the bench)
        self._next_due: float | None = None  # the earliest event not yet due, as the last claim saw it
        # After a pass whose writes the database refused (`write_faults`): how many passes still
        # take one execution each (to find the one refused), the executions of the failed pass,
        # how often each was refused alone, and those whose log lines are written with care since.
        self._isolating = 0
        self._last_batch: list[str] = []
        self._refused: dict[str, tuple[int, int]] = {}  # execution → (tries, `_stored` at its first)
        self._stored = 0  # executions whose pass committed, since start
        self._careful: set[str] = set()
        self._applied_badly: set[str] = set()  # executions of this pass whose events could not be applied

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Until `stop()`: apply due events; sleep until woken, the next timer, or the poll interval.

        After a pass that took less than a full batch, a PostgreSQL executor that is listening
        sleeps too: every new event wakes it (NOTIFY), so looking again at once would only find
        the queue empty, at the cost of a transaction. Without a listening connection it looks
        again at once, as it must on SQLite, where other processes' events wake nobody."""
        backoff = Backoff(RETRY_SECONDS, MAX_RETRY_SECONDS)
        while not self.stopping.is_set():
            try:
                took = self.step()
                self._watch_workers()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the role
                self.held.clear()
                if self._last_batch and not is_transient(exc):
                    try:
                        self._after_refusal(exc)
                        continue
                    except Exception:  # noqa: BLE001 - postponing or giving up failed: as any failed pass
                        log.exception("could not set aside the execution whose writes were refused")
                wait = backoff.next()
                log.exception("executor pass failed; retrying in %.1fs", wait)
                self.stopping.wait(wait)
                continue
            backoff.reset()
            if took >= self.settings.executor_batch or (took and not self._listening()):
                continue
            self.db.waker.wait(EVENTS, self._sleep_seconds())

    def stop(self) -> None:
        self.stopping.set()
        self.db.waker.signal(EVENTS)

    def _listening(self) -> bool:
        ready = getattr(self.db.waker, "ready", None)
        return self.db.postgres and ready is not None and ready.is_set()

    def _sleep_seconds(self) -> float:
        """Until the next timer (as the last claim saw it), the poll interval or the next reaping."""
        timeout = self.settings.poll_seconds
        if self._next_due is not None:
            timeout = min(timeout, max(self._next_due - epoch(), 0.0))
        return min(timeout, self.settings.heartbeat_seconds)

    def step(self) -> int:
        """One transaction: claim, decide, write. Returns how many events were applied."""
        batch: list[str] = []
        self._last_batch = batch
        limit = self.settings.executor_batch
        if self._isolating:  # looking for the execution whose writes were refused: one per pass
            self._isolating -= 1
            limit = 1
        try:
            with self.db.transaction() as tx:
                versions, claimed, self._next_due = events.take(tx, limit)
                if not claimed:
                    return 0
                by_exe: dict[str, list[Event]] = {}
                for ev in claimed:
                    by_exe.setdefault(ev.execution_id, []).append(ev)
                batch.extend(by_exe)
                self._apply_batch(tx, versions, by_exe)
        except BaseException:
            for eid in batch:
                self.held.pop(eid, None)  # their in-memory state may hold decisions that were rolled back
            raise
        self._last_batch = []
        self._stored += len(batch) - len(self._applied_badly)
        for eid in batch:
            if eid not in self._applied_badly:
                self._refused.pop(eid, None)
            held = self.held.get(eid)
            if held is not None:
                held.version += 1
                held.persisted = len(held.exe.task_runs)
                if held.exe.state.current.terminated and not self._has_open_runs(held):
                    self.held.pop(eid, None)  # ended: nothing will come for it again but restarts
                    self._careful.discard(eid)
        self.applied += len(claimed)
        return len(claimed)

    def _apply_batch(self, tx: Tx, versions: dict[str, int], by_exe: dict[str, list[Event]]) -> None:
        stale = [eid for eid, evs in by_exe.items() if self._stale(eid, versions[eid], evs)]
        loaded = execution_rows.load(tx.conn, stale)
        outbox = Outbox(tx, self.flows, self.settings.dead_after_seconds, self.workdirs, instant=self._run_instant,
                        careful=self._careful, files=self.files)
        writes = []
        self._pass = (tx, {})
        self._instant_spent = 0.0
        self._applied_badly.clear()
        for eid, evs in by_exe.items():
            if eid in loaded:
                held = self._hold(tx, *loaded[eid])
                if held is None:
                    continue
            else:
                held = self.held[eid]
            self.held.move_to_end(eid)
            try:
                fx = self._apply(held, evs, outbox)
                total = outbox.settle(held, fx)
                writes.append(outbox.written(held, total))
            except Exception as exc:  # noqa: BLE001 - one bad execution must not stop the others
                self.held.pop(eid, None)
                self._applied_badly.add(eid)
                tries, give_up = self._refusal(eid)
                if give_up:  # an event that cannot be applied (a payload that does not parse, a bug)
                    log.exception("could not apply %d event(s) to execution %s, %d times", len(evs), eid, tries)
                    self._unappliable(tx, eid, evs, f"the executor could not apply this execution's events {tries} "
                                                    f"times ({refused_writes.why(exc)})")
                    continue
                delay = min(REFUSED_DELAY * 2 ** (tries - 1), POISON_DELAY)
                log.exception("could not apply %d event(s) to execution %s; trying again in %.1fs",
                              len(evs), eid, delay)
                events.put_many(tx, [(e.execution_id, e.kind, e.payload, epoch() + delay) for e in evs])
        self._pass = None
        execution_rows.write(tx.conn, writes, tx.insert_later)  # nothing reads them before the commit
        while len(self.held) > CACHE_SIZE:
            self.held.popitem(last=False)

    def _stale(self, eid: str, version: int, evs: list[Event]) -> bool:
        held = self.held.get(eid)
        if held is None or held.version != version or any(e.kind == Kind.RESTART for e in evs):
            self.held.pop(eid, None)
            return True
        return False

    def _hold(self, tx: Tx, exe: Any, version: int) -> Held | None:
        try:
            flow = self.flows.get(exe.namespace, exe.flow_id, exe.flow_revision)
        except LannerError as exc:
            self._fail_without_flow(tx, exe, version, message=exc.render())
            return None
        decider = core.executor(flow, exe, self.settings.max_task_runs, self.surroundings)
        held = Held(flow, decider, version, len(exe.task_runs), secrets=core.of(flow, exe))
        self.held[exe.id] = held
        return held

    def _fail_without_flow(self, tx: Tx, exe: Any, version: int, message: str) -> None:
        """An execution whose flow revision is gone cannot run: it ends FAILED, saying why."""
        if not exe.state.current.terminated:
            exe.state.to(StateType.FAILED)
        execution_rows.add_logs(tx.conn, [LogEntry(exe.id, None, None, "ERROR", message)])
        execution_rows.write(tx.conn, [(exe, version + 1, [], [])])

    # -- writes the database refuses ----------------------------------------------------------

    def _after_refusal(self, exc: Exception) -> None:
        """A pass failed for what it wrote, and would fail the same way at every try. A pass over
        several executions is followed by passes over one each, so the others go on; an execution
        refused alone has its events postponed (doubling waits, so the others go first) and its
        log lines written with care from then on (a refused line replaced by a stand-in); refused
        alone REFUSED_TRIES times, it is failed (`_give_up`) rather than retried forever."""
        batch = self._last_batch
        self._last_batch = []
        if len(batch) > 1:
            self._isolating = len(batch)
            log.warning("a pass over %d executions could not be stored (%s): trying them one at a time",
                        len(batch), refused_writes.why(exc))
            return
        eid = batch[0]
        tries, give_up = self._refusal(eid)
        self._careful.add(eid)
        if give_up:
            self._refused.pop(eid, None)
            self._give_up(eid, exc, tries)
            return
        delay = min(REFUSED_DELAY * 2 ** (tries - 1), POISON_DELAY)
        log.warning("execution %s: its next step could not be stored (%s); tried again in %.1fs, its log lines "
                    "one by one", eid, refused_writes.why(exc), delay)
        with self.db.transaction() as tx:
            if execution_rows.lock(tx.conn, [eid]):  # another executor holds it: it finds out itself
                events.postpone(tx, eid, epoch() + delay)

    def _refusal(self, eid: str) -> tuple[int, bool]:
        """Count one more failure of the execution: (its tries, whether to give it up). It is given
        up after REFUSED_TRIES tries, and only if other executions were stored meanwhile: when
        nothing is (a schema that does not match this Lanner, a bug in every pass), the fault is
        not the execution's, and it is tried again, every POISON_DELAY at most, not failed."""
        tries, mark = self._refused.get(eid, (0, self._stored))
        self._refused[eid] = (tries + 1, mark)
        return tries + 1, tries + 1 >= REFUSED_TRIES and self._stored > mark

    def _unappliable(self, tx: Tx, eid: str, evs: list[Event], why: str) -> None:
        """Events that failed REFUSED_TRIES times are given up: the task runs they name are failed
        through the engine (a FAIL_RUN event each, so `errors` and `finally` still run) and the
        events naming no task run are kept; when that fails too, the execution is ended."""
        named = list(dict.fromkeys(e.payload["taskRunId"] for e in evs
                                   if isinstance(e.payload.get("taskRunId"), str)))
        if not named or any(e.kind == Kind.FAIL_RUN for e in evs):
            self._refused.pop(eid, None)
            self._end_refused(tx, eid, why)
            return
        message = f"{why}: this task run is failed; what it did is unknown to the executor"
        kept = [(eid, e.kind, e.payload, None) for e in evs if not isinstance(e.payload.get("taskRunId"), str)]
        fails = [(eid, Kind.FAIL_RUN, {"taskRunId": rid, "message": message}, None) for rid in named]
        events.put_many(tx, fails + kept)
        log.error("execution %s: task run(s) %s: %s", eid, ", ".join(named), message)

    def _give_up(self, eid: str, exc: Exception, tries: int) -> None:
        """End an execution whose next step was refused `tries` times (`_end_refused`)."""
        with self.db.transaction() as tx:
            if execution_rows.lock(tx.conn, [eid]):  # another executor holds it now: it finds out itself
                self._end_refused(tx, eid, f"the executor could not store this execution's next step {tries} "
                                           f"times ({refused_writes.why(exc)})")

    def _end_refused(self, tx: Tx, eid: str, why: str) -> None:
        """End an execution (locked by `tx`) that cannot go on: FAILED with its unfinished task runs,
        saying why in its logs, its pending events dropped and its jobs cancelled. Its `finally`
        tasks cannot run (every step of it fails); a restart can try it again."""
        message = (f"{why}: it is failed so that it blocks no other execution (its finally tasks did not run); "
                   "restart it once the cause is fixed")
        self._careful.discard(eid)
        events.drop(tx, eid)
        loaded = execution_rows.load(tx.conn, [eid])
        if eid not in loaded:
            return
        exe, version = loaded[eid]
        if exe.state.current.terminated:  # nothing left to end: what could not be applied is dropped
            log.error("execution %s (%s): %s; its pending events were dropped", eid, exe.state.current.value, why)
            return
        open_runs = [r for r in exe.task_runs if not r.current.terminated]
        for run in open_runs:
            run.state.to(StateType.FAILED)
        exe.state.to(StateType.FAILED)
        jobs.cancel(tx, [r.id for r in open_runs])
        execution_rows.add_logs(tx.conn, [LogEntry(eid, None, None, "ERROR", message)] + [
            LogEntry(eid, r.id, r.task_id, "ERROR", message) for r in open_runs])
        execution_rows.write(tx.conn, [(exe, version + 1, [], open_runs)])
        Outbox(tx, self.flows, self.settings.dead_after_seconds).ended_apart(exe)
        log.error("execution %s: %s", eid, message)

    # -- applying events ---------------------------------------------------------------------

    def _apply(self, held: Held, evs: list[Event], outbox: Outbox) -> Effects:
        total = Effects()
        ex = held.executor
        for ev in evs:
            if ev.kind in (Kind.START, Kind.RESTART) and core.waits_for_a_slot(ex.exe):
                held.ready = True  # new or restarted: start it, refuse it, or leave it queued (core.admit)
                limited = held.flow.concurrency is not None
                fx = outbox.slots.admit(held) if limited else core.admit(ex, running=0)
                if fx is not None:
                    cluster_outbox.merge(total, fx)
                continue
            if ev.kind in (Kind.START, Kind.RESTART) and not held.ready:
                held.ready = True
                if ev.kind == Kind.RESTART or ex.exe.state.current is StateType.CREATED:
                    cluster_outbox.merge(total, ex.start())
                    continue
            if not held.ready:
                held.ready = True
                if not core.waits_for_a_slot(ex.exe):  # one not started has no scopes to rebuild yet
                    cluster_outbox.merge(total, ex.restore())
            fx = self._one(ex, ev)
            if fx is not None:
                cluster_outbox.merge(total, fx)
        return total

    @staticmethod
    def _one(ex: Executor, ev: Event) -> Effects | None:
        p = ev.payload
        if ev.kind == Kind.RESULT:
            return ex.on_result(decode_result(ev.execution_id, p))
        if ev.kind == Kind.WORKER_LOST:
            return ex.on_worker_lost(p["taskRunId"], int(p["attempt"]))
        if ev.kind == Kind.KILL:
            return ex.kill(hard=bool(p.get("hard")))
        if ev.kind == Kind.RESUME:
            return ex.resume(p.get("taskRunId"), inputs=p.get("inputs") or {}, by=p.get("by"))
        if ev.kind == Kind.RESUME_DUE:
            return ex.resume(p["taskRunId"], StateType(p["state"]))
        if ev.kind == Kind.RETRY_DUE:
            return ex.on_retry_due(p["taskRunId"])
        if ev.kind == Kind.SLA_DUE:
            return ex.on_sla_due(p["slaId"])
        if ev.kind == Kind.SUBFLOW_END:
            return ex.on_subflow_end(p["taskRunId"], StateType(p["state"]), p.get("outputs") or {},
                                     p.get("child"))
        if ev.kind == Kind.SUBFLOW_FAILED:
            return ex.fail_run(p["taskRunId"], p.get("message") or "the subflow could not start", p.get("executionId"))
        if ev.kind == Kind.FAIL_RUN:
            fx = ex.fail_run(p["taskRunId"], p["message"])
            fx.cancel.append(p["taskRunId"])  # its attempt, waiting for a worker or running, is stopped
            return fx
        return None  # START of an execution already started: nothing to do

    @staticmethod
    def _has_open_runs(held: Held) -> bool:
        return any(not r.current.terminated for r in held.exe.task_runs)

    # -- instant tasks -----------------------------------------------------------------------

    def _run_instant(self, held: Held, fx: Effects) -> None:
        """Run the instant tasks `fx` dispatches here and now (`runtime/instant.py`), but for those
        with a `workerGroup` (for the workers of that group to run), those once found slow, and
        any once this pass spent its `INSTANT_BUDGET`: those become jobs, as any other task."""
        flow, exe = held.flow, held.exe

        def key(run: TaskRun) -> tuple[str, str, int, str]:
            return exe.namespace, exe.flow_id, exe.flow_revision, run.task_id

        def eligible(run: TaskRun) -> bool:
            return not cluster_outbox.worker_group(flow.task(run.task_id))[0] and key(run) not in self._slow

        def timed(run: TaskRun, seconds: float) -> None:
            self._instant_spent += seconds
            if seconds > SLOW_INSTANT and key(run) not in self._slow:
                self._slow.add(key(run))
                log.info("task %s of flow %s.%s took %.2fs on the executor: its runs go to the workers from now on",
                         run.task_id, exe.namespace, exe.flow_id, seconds)
        errors = self._pass[1].setdefault(exe.id, []) if self._pass is not None else []

        def note(entry: LogEntry) -> None:  # masked in the stored line by `Outbox.written`
            if entry.level == "ERROR":
                masked = core.mask(dataclasses.replace(entry), held.secrets)
                errors.append({"taskId": masked.task_id, "taskRunId": masked.task_run_id, "message": masked.message,
                               "level": masked.level, "timestamp": iso(masked.timestamp)})

        def job_of(run: TaskRun) -> Job:
            task = flow.task(run.task_id)
            assert isinstance(task, RunnableTask)  # `instant.may_run` chose it
            task_vars = variables.build(flow, exe, run, task, envs=self.surroundings.envs)
            return Job(exe.id, run.id, len(run.attempts), task, task_vars, exe.namespace, exe.flow_id,
                       secrets=held.secrets)

        instant.run(held.executor, flow, fx, self.worker, job_of, note, eligible=eligible,
                    urgent=lambda: self._instant_spent > INSTANT_BUDGET, timed=timed, files=self.files.write)

    def _error_logs(self, execution_id: str) -> list[dict[str, Any]]:
        """`errorLogs()` for an instant task run here: the stored ERROR lines, then this pass's."""
        if self._pass is None:
            return []
        tx, noted = self._pass
        return execution_rows.error_logs(tx.conn, execution_id) + list(noted.get(execution_id, []))

    # -- watching workers --------------------------------------------------------------------

    def _watch_workers(self) -> None:
        now = time.monotonic()
        if now - self._last_reap < self.settings.heartbeat_seconds:
            return
        self._last_reap = now
        with self.db.transaction() as tx:
            handed = jobs.reap(tx, self.settings.dead_after_seconds)
        if handed:
            log.warning("handed %d job(s) of stopped workers back to the queue", len(handed))
        if now - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            self._last_housekeeping = now
            self._housekeeping()

    def _housekeeping(self) -> None:
        from lanner.storage import tables

        with self.db.transaction() as tx:
            dropped = events.drop_orphans(tx, older_than=HOUSEKEEPING_SECONDS)
            t = tables.execution_changes
            tx.conn.execute(t.delete().where(t.c.created < epoch() - 3600))  # no scheduler ran for an hour
        if dropped:
            log.warning("dropped %d event(s) of deleted executions", dropped)


def _not_reported(*_args: object) -> None:
    """The executor's `Worker` only runs attempts with `run_now`, which returns what they report."""
    raise AssertionError("the executor's worker reports nothing: it runs instant tasks with run_now")
