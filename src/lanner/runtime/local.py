"""The embedded runtime: one process, an in-memory queue, a worker thread pool, SQLite.

The loop is the only caller of the executors, so each execution has one writer. Events
(worker results, kills, due retries and pauses, subflow ends, commands from other processes)
are taken in batches; the effects of a batch are persisted — task runs, execution, logs, in one
transaction per execution — before any job is handed to a worker or cancelled, so a crash at
any point leaves a store from which every execution resumes where it was.

Across processes, each execution has one owner (`storage/owners.py`): this runtime drives only
executions it created or took over from a process that is verifiably gone, and every write is
fenced, so a second process on the same home never drives a live execution. A finished
attempt's result is stored by the worker thread the moment it is known, so a crash after it
continues from the result instead of running the task again.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lanner.engine.child_view import child_view
from lanner.engine.executor import Effects, Executor, SubflowStart
from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.flow import Flow
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import NOT_STARTED, StateType, iso, now
from lanner.plugins.api import RunnableTask
from lanner.runtime import core, instant, refused_writes, restart
from lanner.runtime.catalog import FlowCatalog
from lanner.runtime.host import Host
from lanner.runtime.task_commands import ExecutionCommands
from lanner.runtime.trigger_toggles import TriggerToggles
from lanner.runtime.workdirs import WorkingDirectories
from lanner.storage.files import LocalFiles
from lanner.storage.owners import HEARTBEAT_SECONDS, Owner, Owners, OwnershipLost
from lanner.storage.repository import Repository
from lanner.storage.write_faults import is_transient
from lanner.worker.attempt_notes import cut_off_predecessors
from lanner.worker.worker import Job, Worker

if TYPE_CHECKING:
    from lanner.runtime.stored_flows import StoredFlows

Listener = Callable[[str, Any], None]  # ("log", LogEntry) | ("run", TaskRun) | ("execution", Execution)
BATCH = 512  # events applied before one persist
COMMAND_POLL_SECONDS = 0.5


@dataclasses.dataclass(slots=True)
class _Live:
    flow: Flow
    executor: Executor
    parent: tuple[str, str] | None = None  # (parent execution id, Subflow task run id) when it waits on us


class LocalRuntime:
    def __init__(self, repo: Repository, files: LocalFiles, threads: int = 16,
                 listener: Listener | None = None, catalog: FlowCatalog | None = None,
                 what: str = "lanner run", stored: StoredFlows | None = None) -> None:
        """`stored`: the flows the server read from the store; an execution of one of them does not
        store its source again (`create`)."""
        self.repo = repo
        self.stored = stored
        self.owners = Owners(repo.db)
        self.me = Owner.this_process(what)
        self.owners.register(self.me)
        self._epochs: dict[str, int] = {}  # execution → the owner epoch our writes are fenced with
        self._acting_outside: set[str] = set()  # task runs whose result is stored as soon as it is known
        self._closed = threading.Event()
        self._stop_event: tuple[float, float] | None = None  # (graceful stop requested at, grace seconds)
        self._urgent: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()  # kills, stops: ahead of any backlog
        self.files = files
        self.catalog = catalog or FlowCatalog(repo)
        self.workdirs = WorkingDirectories(files.root.parent / "work", files)
        # SimpleQueue, not Queue: `kill` is called from signal handlers, which run in the main thread
        # possibly while it is inside `get` holding Queue's (non-reentrant) lock: a second Ctrl-C hung.
        self.events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.listener = listener
        self.live: dict[str, _Live] = {}
        self._delays: list[tuple[Any, int, str, str, str, Any]] = []  # (due, seq, kind, exe, run, state)
        self._seq = itertools.count()
        self._logs: list[LogEntry] = []
        self._logs_lock = threading.Lock()
        self._error_logs: dict[str, list[dict[str, Any]]] = {}
        self._last_poll = 0.0
        self._serving = False
        self._queued: dict[tuple[str, str], list[str]] = {}  # flow → executions waiting for a slot
        self.secrets = core.Secrets()  # SECRET input values per live execution, masked in logs
        from lanner.runtime.settings import max_task_runs

        self.max_task_runs = max_task_runs()  # a runaway guard, passed to every executor
        # the clock, ids, environment and KV store every executor (and task) is given
        self.surroundings = Host(files)
        # `…trigger.Toggle`: through the scheduler when one runs here (`server/services.py` says so)
        self.triggers = TriggerToggles(self._stored_flow, self._trigger_store)
        self.worker = Worker(
            report=self._on_result,
            log_sink=self._on_log,
            files=files,
            threads=threads,
            error_logs=lambda eid: list(self._error_logs.get(eid, [])),
            fetch_logs=self._fetch_logs,
            executions=ExecutionCommands(
                repo.get, self._send_resume,
                self._purges,
                lambda eid: eid not in self.live and bool(self.owners.left_behind([eid])),
                self.flow_of),
            triggers=self.triggers,
            instant_here=True,  # Log, Return…: run by the loop itself (see `RunnableTask.instant`)
        )
        threading.Thread(target=self._heartbeat, name="lanner-owner-heartbeat", daemon=True).start()

    def _trigger_store(self) -> Any:
        """The trigger store, made when a Toggle task first needs it: the store's SQL is written with
        SQLAlchemy, whose import is a quarter of a short `lanner run`'s time."""
        from lanner.storage.trigger_store import TriggerStore

        return TriggerStore(self.repo.engine)

    def _purges(self) -> Any:
        """What the purge tasks delete through, made on their first use (as `_trigger_store`)."""
        from lanner.runtime.purges import Purges
        from lanner.storage.execution_queries import ExecutionQueries

        return Purges(ExecutionQueries(self.repo.engine), self.files, lambda eid: eid in self.live)

    # -- public ------------------------------------------------------------------------------

    def create(self, flow: Flow, inputs: dict[str, Any], labels: dict[str, str] | None = None,
               parent: Execution | None = None, trigger: dict[str, Any] | None = None,
               execution_id: str | None = None) -> Execution:
        """A new execution in CREATED, stored (with its flow's source) before anything runs."""
        revision = flow.revision or 1
        if flow.source and not (self.stored is not None and self.stored.holds(flow)):  # a file's flow
            revision = self.repo.save_flow(flow.namespace, flow.id, flow.source)
            flow.revision = revision
        exe = Execution(id=execution_id or new_id(), namespace=flow.namespace, flow_id=flow.id, flow_revision=revision,
                        inputs=inputs, labels={**flow.labels, **(labels or {})}, variables=dict(flow.variables),
                        trigger=trigger, parent_id=parent.id if parent else None)
        exe.labels.setdefault("system.correlationId", parent.labels.get("system.correlationId", parent.id)
                              if parent else exe.id)
        exe.original_id = exe.id
        self.repo.save(exe, fence=(self.me.id, 1))
        self._epochs[exe.id] = 1
        return exe

    def run(self, flow: Flow, exe: Execution, *, taken_over: bool = False) -> Execution:
        """Drive `exe` (and every execution it starts) to its end, or to a hard kill.

        `taken_over`: `exe` was left behind by a process that died; the children its Subflow
        runs wait for are relinked (continued, or reported) once it is live here."""
        if taken_over:
            self._relink_children(exe)  # as stored: before this process starts any child of its own
        self._start(flow, exe)
        self._loop()
        self._flush()
        return exe

    # -- long-running mode (the server) -------------------------------------------------------

    def serve(self) -> threading.Thread:
        """Run the loop in a background thread until `stop()`; executions come in through `submit`."""
        self._serving = True
        thread = threading.Thread(target=self._loop, name="lanner-executor", daemon=True)
        thread.start()
        return thread

    def submit(self, flow: Flow, exe: Execution) -> None:
        """Start a stored CREATED execution (or continue an unfinished one). Thread-safe."""
        self.events.put(("start", flow, exe, None))

    def recover(self) -> list[str]:
        """Submit every unfinished execution whose owner is gone (after a restart); returns their ids.

        Executions a live process drives (a `lanner run` beside this server, even a stopped one)
        are left to it. Attempts that finished continue from their kept result; attempts cut off
        mid-run get a new attempt; a `finally` block that had started continues where it was.
        """
        resumed: list[str] = []
        for execution_id in self.owners.left_behind(self.repo.unfinished()):
            exe = self.repo.get(execution_id)
            if exe is None or exe.id in self.live:
                continue
            try:
                flow = self.catalog.get(exe.namespace, exe.flow_id, exe.flow_revision)
            except LannerError:
                continue
            self.submit(flow, exe)
            resumed.append(exe.id)
        return resumed

    def stop(self) -> None:
        self._serving = False
        self.events.put(("wake",))

    def stop_gracefully(self, grace_seconds: float) -> None:
        """SIGTERM: nothing new starts outside cleanup; running attempts get `grace_seconds` to
        finish, then they are cancelled the graceful way so `finally` still runs. Thread-safe."""
        self._urgent.put(("drain", grace_seconds))
        self.events.put(("wake",))

    def wait_idle(self) -> None:
        """Block until no execution is live (after `stop_gracefully` or a hard kill)."""
        while self.live:
            time.sleep(0.05)

    def resume_stored(self, execution_id: str) -> Execution:
        """Continue an unfinished stored execution in this process, once its owner is gone.

        Raises `OwnedElsewhere` when a live process drives it: that process gets commands, it is
        never bypassed.
        """
        exe = self.repo.get(execution_id)
        if exe is None:
            raise LannerError(f"no execution `{execution_id}`", hint="list them with `lanner executions`")
        flow = self.catalog.get(exe.namespace, exe.flow_id, exe.flow_revision)
        epoch, owner = self.owners.claim(exe.id, self.me)
        if epoch is None:
            assert owner is not None
            raise OwnedElsewhere(owner)
        self._epochs[exe.id] = epoch
        exe = self.repo.get(execution_id) or exe  # as it is now that it is ours
        return self.run(flow, exe, taken_over=True)

    def kill(self, execution_id: str | None = None, hard: bool = False) -> None:
        """Kill one execution, or every live one. Safe from a signal handler or another thread:
        kills bypass the event queue, so a flood of events cannot delay them."""
        self._urgent.put(("kill", execution_id, hard))
        self.events.put(("wake",))

    def _stored_flow(self, namespace: str, flow_id: str) -> Flow | None:
        try:
            return self.catalog.get(namespace, flow_id)
        except LannerError:
            return None

    def flow_of(self, exe: Execution) -> Flow | None:
        """The flow revision an execution runs, or None when it is gone (its resume then takes no values)."""
        try:
            return self.catalog.get(exe.namespace, exe.flow_id, exe.flow_revision)
        except LannerError:
            return None

    def _send_resume(self, execution_id: str, inputs: dict[str, dict[str, Any]]) -> None:
        """A `…execution.Resume` task's command, stored for the execution's owner (maybe this process)."""
        self.repo.add_command(execution_id, "resume", {"inputs": inputs})

    def resume(self, execution_id: str, run_id: str | None = None,
               inputs: dict[str, dict[str, Any]] | None = None, by: str | None = None) -> None:
        """A manual resume; `inputs` are the paused runs' `onResume` values, typed already
        (`model/resume_inputs.py`)."""
        self.events.put(("resume", execution_id, run_id, StateType.SUCCESS, inputs or {}, by))

    def close(self) -> None:
        """Stop the workers and retire as an owner: what this process still owns is left behind."""
        self._closed.set()
        self.worker.shutdown(wait=False)
        try:
            self.owners.retire(self.me)
        except Exception:  # noqa: BLE001 - the store may be gone at exit; the pid check still tells we are gone
            pass

    def _heartbeat(self) -> None:
        """Renew this owner's lease (other hosts judge by it; this host checks the pid)."""
        while not self._closed.wait(HEARTBEAT_SECONDS):
            try:
                self.owners.heartbeat(self.me)
            except Exception:  # noqa: BLE001 - a busy store delays one beat; the next one retries
                continue

    def _on_result(self, result: WorkerResult) -> None:
        """From a worker thread: keep the result durably first (for tasks that act outside Lanner),
        then let the loop apply it."""
        if result.task_run_id in self._acting_outside:
            self._acting_outside.discard(result.task_run_id)
            try:
                self.repo.save_result(result)
            except Exception:  # noqa: BLE001 - the loop still applies it; only a crash right now would re-run it
                pass
        self.events.put(("result", result))

    # -- the loop ----------------------------------------------------------------------------

    def _start(self, flow: Flow, exe: Execution, parent: tuple[str, str] | None = None) -> None:
        self._track_secrets(flow, exe)
        live = _Live(flow, core.executor(flow, exe, self.max_task_runs, self.surroundings), parent)
        self.live[exe.id] = live
        self._act({exe.id: self._pick_up(live)})

    def _loop(self) -> None:
        while self.live or self._serving:
            timeout = COMMAND_POLL_SECONDS
            if self._delays:
                timeout = min(timeout, max((self._delays[0][0] - now()).total_seconds(), 0))
            batch: list[tuple[Any, ...]] = []
            try:
                batch.append(self.events.get(timeout=timeout))
                while len(batch) < BATCH:
                    batch.append(self.events.get_nowait())
            except queue.Empty:
                pass
            effects: dict[str, Effects] = {}
            self._take_urgent(effects)
            for event in batch:
                self._handle(event, effects)
            self._grace_over(effects)
            self._due(effects)
            if time.monotonic() - self._last_poll >= COMMAND_POLL_SECONDS:
                self._poll_commands(effects)
            if effects:
                self._act(effects)

    def _take_urgent(self, effects: dict[str, Effects]) -> None:
        while True:
            try:
                event = self._urgent.get_nowait()
            except queue.Empty:
                return
            self._handle(event, effects)

    def _grace_over(self, effects: dict[str, Effects]) -> None:
        """After a graceful stop's grace period, cancel what still runs (finally still runs)."""
        if self._stop_event is None:
            return
        asked, grace = self._stop_event
        if time.monotonic() - asked < grace:
            return
        self._stop_event = (asked, float("inf"))
        for eid, live in list(self.live.items()):
            _merge(effects, eid, live.executor.kill(
                reason=f"The grace period ({grace:g}s) of the stop is over: cancelling running tasks; "
                       "finally blocks will still run"))

    def _handle(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        """Apply one event through its handler (`_HANDLERS`, by the event's kind); a wake-up has none."""
        handler = _HANDLERS.get(event[0])
        if handler is not None:
            handler(self, event, effects)

    def _on_drain(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        grace = float(event[1])
        self._serving = False
        if self._stop_event is None:
            self._stop_event = (time.monotonic(), grace)
            for eid, each in list(self.live.items()):
                _merge(effects, eid, each.executor.kill(
                    cancel_running=False,
                    reason=f"Stopping (SIGTERM): no new task starts; running tasks have {grace:g}s to finish; "
                           "finally blocks will still run"))

    def _decide(self, effects: dict[str, Effects], execution_id: str, call: Callable[[Executor], Effects]) -> None:
        """Let the executor of `execution_id` decide, if it is still live here (it may have ended)."""
        live = self.live.get(execution_id)
        if live is not None:
            _merge(effects, execution_id, call(live.executor))

    def _on_worker_result(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        result: WorkerResult = event[1]
        self._decide(effects, result.execution_id, lambda ex: ex.on_result(result))

    def _on_kill(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        _, execution_id, hard = event
        for eid in ([execution_id] if execution_id else list(self.live)):
            self._decide(effects, eid, lambda ex: ex.kill(hard=hard))

    def _on_resume(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        _, execution_id, run_id, state, inputs, by = event
        self._decide(effects, execution_id, lambda ex: ex.resume(run_id, state, inputs, by))

    def _on_subflow_end(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        _, parent_id, run_id, state, outputs, child = event
        self._decide(effects, parent_id, lambda ex: ex.on_subflow_end(run_id, state, outputs, child))

    def _on_subflow_failed(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        _, parent_id, run_id, message, child_id = event
        self._decide(effects, parent_id, lambda ex: ex.fail_run(run_id, message, child_id))

    def _on_dequeue(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        live = self.live.get(event[1])
        if live is None or live.executor.exe.state.current is not StateType.QUEUED:
            return
        fx = core.admit(live.executor, self._running_of(live.flow))
        if fx is None:  # the slot was taken meanwhile
            self._queued.setdefault((live.flow.namespace, live.flow.id), []).insert(0, event[1])
            return
        _merge(effects, event[1], fx)

    def _on_start(self, event: tuple[Any, ...], effects: dict[str, Effects]) -> None:
        _, flow, exe, parent = event
        if exe.id in self.live:
            return
        if exe.id not in self._epochs:
            epoch, owner = self.owners.claim(exe.id, self.me)
            if epoch is None:
                return  # a live process drives it: it is never bypassed
            self._epochs[exe.id] = epoch
            exe = self.repo.get(exe.id) or exe
        if parent is None:
            parent = exe.waiting_parent()
        self._track_secrets(flow, exe)
        self._relink_children(exe)  # as stored: before this process starts any child of its own
        live = _Live(flow, core.executor(flow, exe, self.max_task_runs, self.surroundings), parent)
        self.live[exe.id] = live
        if not core.waits_for_a_slot(exe):
            _merge(effects, exe.id, self._pick_up(live))  # taken over: kept results and commands first
        else:
            fx = core.admit(live.executor, self._running_of(flow),
                            bool(self._queued.get((flow.namespace, flow.id))))
            if fx is not None:
                _merge(effects, exe.id, fx)
            if live.executor.exe.state.current is StateType.QUEUED:
                self._queued.setdefault((flow.namespace, flow.id), []).append(exe.id)

    def _pick_up(self, live: _Live) -> Effects:
        """Start or continue an execution this process now owns.

        Commands sent while nobody drove it come first (a kill must not restart interrupted
        work), then kept results of finished attempts are applied instead of re-running them.
        """
        exe = live.executor.exe
        if exe.state.current in NOT_STARTED:
            return live.executor.start()
        if exe.state.current is StateType.RESTARTED:  # its restart was stored, never picked up
            return restart.admitted(live.executor)
        fx = Effects()
        resumes = []
        for _, kind, payload in self.repo.take_commands([exe.id]):
            if kind == "kill":
                fx.merge(live.executor.kill(hard=bool(payload.get("hard"))))
            elif kind == "resume":
                resumes.append(payload)
        fx.merge(live.executor.start(finished=self.repo.results(exe.id)))
        for payload in resumes:
            fx.merge(live.executor.resume(payload.get("taskRunId"), inputs=payload.get("inputs") or {},
                                          by=payload.get("by")))
        return fx

    def _running_of(self, flow: Flow) -> int:
        """Live executions of this flow that count against its concurrency limit (not counted for a
        flow without one: every start asks, and a batch of 512 starts would walk 512 live ones each)."""
        if flow.concurrency is None:
            return 0
        return sum(1 for live in self.live.values()
                   if live.flow.namespace == flow.namespace and live.flow.id == flow.id
                   and core.counts_against_limit(live.executor.exe.state.current))

    def _start_queued(self, flow: Flow) -> None:
        """A slot of the flow's concurrency limit freed up: start the oldest queued execution."""
        queued = self._queued.get((flow.namespace, flow.id))
        while queued:
            live = self.live.get(queued.pop(0))
            if live is not None and live.executor.exe.state.current is StateType.QUEUED:
                self.events.put(("dequeue", live.executor.exe.id))
                return

    def _relink_children(self, exe: Execution) -> None:
        """After a restart: a Subflow (or ForEachItem) run still waiting on a child hears of it now.

        Called with the execution as stored, before this process drives it (so before it starts
        any child of its own); the events it sends are handled once the execution is live.

        A child that already ended reports its end. A child left behind with its parent (the same
        process drove both and died) is continued here too, or the parent would wait for it
        forever. A child that was never stored (the process died between storing the parent's run
        and creating the child) fails the run with the reason, so the execution goes on to its
        `errors` and `finally` instead of waiting.
        """
        for run in exe.task_runs:
            waited = Executor.child_executions(run) if run.current is StateType.RUNNING else []
            for child_id in waited:
                if child_id in self.live:
                    continue
                child = self.repo.get(child_id)
                if child is None:
                    self.events.put(("subflow_failed", exe.id, run.id,
                                     f"its child execution {child_id} was never created: the process driving "
                                     f"this execution stopped first", child_id))
                elif child.state.current.terminated:
                    self.events.put(("subflow_end", exe.id, run.id, child.state.current, dict(child.outputs),
                                     child_view(child)))
                elif self.owners.left_behind([child_id]):
                    try:
                        flow = self.catalog.get(child.namespace, child.flow_id, child.flow_revision)
                    except LannerError as exc:
                        self.events.put(("subflow_failed", exe.id, run.id, exc.render(), child_id))
                        continue
                    self.submit(flow, child)

    def _due(self, effects: dict[str, Effects]) -> None:
        while self._delays and self._delays[0][0] <= now():
            _, _, kind, execution_id, run_id, state = heapq.heappop(self._delays)
            live = self.live.get(execution_id)
            if live is None:
                continue
            _merge(effects, execution_id, core.fire(live.executor, (kind, run_id, state)))

    def _poll_commands(self, effects: dict[str, Effects]) -> None:
        self._last_poll = time.monotonic()
        for execution_id, kind, payload in self.repo.take_commands(self.live):
            if kind == "resume":
                self._handle(("resume", execution_id, payload.get("taskRunId"), StateType.SUCCESS,
                              payload.get("inputs") or {}, payload.get("by")), effects)
            elif kind == "kill":
                self._handle(("kill", execution_id, bool(payload.get("hard"))), effects)

    # -- acting on decisions -----------------------------------------------------------------

    def _act(self, effects: dict[str, Effects]) -> None:
        """Persist every execution's effects, then dispatch, cancel and schedule."""
        for execution_id, fx in effects.items():
            live = self.live.get(execution_id)
            if live is not None:
                self._run_instant(live, fx)
        with self._logs_lock:
            pending, self._logs = self._logs, []
        by_exe: dict[str, list[LogEntry]] = {}
        for e in pending:
            by_exe.setdefault(e.execution_id, []).append(e)
        for execution_id, fx in list(effects.items()):
            live = self.live.get(execution_id)
            if live is None:
                continue
            exe = live.executor.exe
            logs = by_exe.pop(execution_id, []) + fx.logs  # fx.logs: masked and noted by `_run_instant`
            header = fx.execution_changed or fx.ended or not fx.runs
            # the execution's last save releases its owner: when an ended WorkingDirectory run still has
            # its outputFiles to store (`_finish_workdirs`, below), that save is the last one
            last = fx.ended and not self._workdir_runs(live, fx)
            core.store_files(fx, self.files.write)  # before the decision that names them
            try:
                self.repo.save(exe, fx.runs.values(), header=header, logs=logs, fence=self._fence(execution_id),
                               ended=last)
            except OwnershipLost as exc:
                self._lost(execution_id, live, exc)
                del effects[execution_id]
            except Exception as exc:
                if not logs or is_transient(exc):
                    raise
                # a log line the store refuses (text it cannot encode) must not stop the execution,
                # as in a cluster: the decision is stored without the lines, then they are, a refused
                # one replaced by its stand-in (`refused_writes`)
                self.repo.save(exe, fx.runs.values(), header=header, fence=self._fence(execution_id), ended=last)
                refused_writes.store_lines(logs, self.repo.add_logs)
        if by_exe:
            refused_writes.store_lines([e for entries in by_exe.values() for e in entries], self.repo.add_logs)
        for execution_id, fx in effects.items():
            live = self.live.get(execution_id)
            if live is None:
                continue
            self._finish_workdirs(live, fx)
            self._notify(live.executor.exe, fx)
            for run in fx.dispatch:
                self._submit(live.flow, live.executor.exe, run)
            for run_id in fx.cancel:
                self.worker.cancel(run_id)
            for t in core.timers(fx):
                heapq.heappush(self._delays, (t.due, next(self._seq), t.kind, execution_id, t.run_id, t.state))
            for child_id in fx.kill_executions:
                self.events.put(("kill", child_id, self._hard(live)))
            for start in fx.subflows:
                self._start_subflow(live, start)
            if fx.ended:
                self._ended(execution_id, live)

    def _fence(self, execution_id: str) -> tuple[str, int]:
        return self.me.id, self._epochs.get(execution_id, 0)

    def _lost(self, execution_id: str, live: _Live, exc: OwnershipLost) -> None:
        """Another process took this execution over (it judged us gone): stop driving it at once."""
        self._on_log(LogEntry(execution_id, None, None, "WARN", exc.message))
        for run in live.executor.exe.task_runs:
            if not run.current.terminated:
                self.worker.cancel(run.id)
        del self.live[execution_id]
        self._epochs.pop(execution_id, None)

    def _hard(self, live: _Live) -> bool:
        return live.executor.exe.kill == "hard"

    def _notify(self, exe: Execution, fx: Effects) -> None:
        if self.listener is None:
            return
        for e in fx.logs:
            self.listener("log", e)
        for run in fx.runs.values():
            self.listener("run", run)
        if fx.execution_changed:
            self.listener("execution", exe)

    def _run_instant(self, live: _Live, fx: Effects) -> None:
        """Run the instant tasks among `fx.dispatch` now, before `fx` is persisted (`runtime/instant.py`):
        a chain of 1,000 Logs (or a ForEach over 100,000 values) so costs one transaction per
        `instant.STEPS` task runs instead of one per run. Every line of `fx.logs` is masked, and an
        ERROR noted for `errorLogs()`, before the next task runs; a kill or a stop waiting stops it."""
        exe = live.executor.exe

        def note(entry: LogEntry) -> None:
            self._mask(entry)
            self._remember_error(entry)

        instant.run(live.executor, live.flow, fx, self.worker, lambda run: self._job(live.flow, exe, run), note,
                    urgent=lambda: not self._urgent.empty(), files=self.files.write)

    def _submit(self, flow: Flow, exe: Execution, run: TaskRun) -> None:
        job = self._job(flow, exe, run)
        if job is not None:
            self.worker.submit(job)

    def _job(self, flow: Flow, exe: Execution, run: TaskRun) -> Job | None:
        """The worker's job for the run's current attempt; None when it failed before it could start
        (its working directory could not be made: that failure is on its way as an event)."""
        task = flow.task(run.task_id)
        assert isinstance(task, RunnableTask)
        try:
            shared = self.workdirs.for_task(flow, exe, run, lambda owner, level, message: self._on_log(
                LogEntry(owner.execution_id, owner.id, owner.task_id, level, message)))
        except Exception as exc:  # noqa: BLE001 - the task fails with the reason; the loop goes on
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self._on_log(LogEntry(exe.id, run.id, run.task_id, "ERROR", f"working directory: {message}"))
            self.events.put(("result", WorkerResult(exe.id, run.id, len(run.attempts), StateType.FAILED,
                                                    message=message)))
            return None
        if task.acts_outside:
            self._acting_outside.add(run.id)
        task_vars = variables.build(flow, exe, run, task, envs=self.surroundings.envs)
        if shared is not None:
            task_vars["workingDir"] = str(shared)
        return Job(exe.id, run.id, len(run.attempts), task, task_vars, exe.namespace, exe.flow_id,
                   shared_dir=shared, cut_off=cut_off_predecessors(run),
                   secrets=core.of(flow, exe) if task.logToFile else ())

    @staticmethod
    def _workdir_runs(live: _Live, fx: Effects) -> list[TaskRun]:
        """The WorkingDirectory runs that ended in `fx`: their folders are finished after the decision."""
        if not live.flow.shares_folders():
            return []
        return [run for run in fx.runs.values()
                if run.current.terminated and getattr(live.flow.task(run.task_id), "shares_working_directory", False)]

    def _finish_workdirs(self, live: _Live, fx: Effects) -> None:
        """Ended WorkingDirectory runs store their outputFiles before anything after them runs; when the
        execution ended with them, the last of these saves is its last (it releases the owner)."""
        exe = live.executor.exe
        runs = self._workdir_runs(live, fx)
        for i, run in enumerate(runs):
            for level, message in self.workdirs.finish(live.flow, exe, run):
                self._on_log(LogEntry(exe.id, run.id, run.task_id, level, message))
            self.repo.save(exe, [run], header=False, fence=self._fence(exe.id), ended=fx.ended and i == len(runs) - 1)

    def _start_subflow(self, parent: _Live, start: SubflowStart) -> None:
        try:
            flow, child = core.child_execution(parent.executor.exe, start, self.catalog.get)
        except LannerError as exc:
            self.events.put(("subflow_failed", parent.executor.exe.id, start.run_id, exc.render(), start.execution_id))
            return
        if flow.source:
            flow.revision = child.flow_revision = self.repo.save_flow(flow.namespace, flow.id, flow.source)
        self.repo.save(child, fence=(self.me.id, 1))  # created here: this process owns it
        self._epochs[child.id] = 1
        self.events.put(("start", flow, child, None))

    def _ended(self, execution_id: str, live: _Live) -> None:
        del self.live[execution_id]
        self._epochs.pop(execution_id, None)  # owner released, kept results dropped: by `_act`'s last save
        if live.flow.concurrency is not None:
            self._start_queued(live.flow)
        exe = live.executor.exe
        self._error_logs.pop(execution_id, None)
        self.secrets.forget(execution_id)
        if live.parent is not None:
            parent_id, run_id = live.parent
            self.events.put(("subflow_end", parent_id, run_id, exe.state.current, dict(exe.outputs), child_view(exe)))

    # -- logs --------------------------------------------------------------------------------

    def _track_secrets(self, flow: Flow, exe: Execution) -> None:
        self.secrets.track(flow, exe)

    def _mask(self, entry: LogEntry) -> None:
        """SECRET inputs never reach the log store or listeners (Kestra masks them too)."""
        self.secrets.mask(entry)

    def _on_log(self, entry: LogEntry) -> None:
        self._mask(entry)
        with self._logs_lock:
            self._logs.append(entry)
        self._remember_error(entry)
        if self.listener:
            self.listener("log", entry)

    def _remember_error(self, e: LogEntry) -> None:
        if e.level == "ERROR":
            self._error_logs.setdefault(e.execution_id, []).append(
                {"taskId": e.task_id, "taskRunId": e.task_run_id, "message": e.message, "level": e.level,
                 "timestamp": iso(e.timestamp)})

    def _flush(self) -> None:
        with self._logs_lock:
            logs, self._logs = self._logs, []
        self.repo.add_logs(logs)

    def _fetch_logs(self, execution_id: str, task_ids: list[str] | None, level: str) -> list[str]:
        with self._logs_lock:
            pending = [e for e in self._logs if e.execution_id == execution_id]
        rows = self.repo.logs(execution_id, level)
        lines = [f"{r['timestamp']} {r['level']} {r['task_id'] or ''} {r['message']}" for r in rows
                 if not task_ids or r["task_id"] in task_ids]
        lines += [f"{iso(e.timestamp)} {e.level} {e.task_id or ''} {e.message}" for e in pending
                  if not task_ids or e.task_id in task_ids]
        return lines


class OwnedElsewhere(LannerError):
    """A live process drives this execution: send it commands instead of taking it over."""

    def __init__(self, owner: Owner) -> None:
        super().__init__(f"execution is driven by {owner.describe()}",
                         hint="it is never taken over while that process lives; "
                              "`lanner execution kill|resume ID` sends it commands")
        self.owner = owner


_Handler = Callable[[LocalRuntime, tuple[Any, ...], dict[str, Effects]], None]
# The loop's events by kind (their tuples are built by the public methods, `_act` and the worker):
_HANDLERS: dict[str, _Handler] = {
    "drain": LocalRuntime._on_drain,
    "result": LocalRuntime._on_worker_result,
    "kill": LocalRuntime._on_kill,
    "resume": LocalRuntime._on_resume,
    "subflow_end": LocalRuntime._on_subflow_end,
    "subflow_failed": LocalRuntime._on_subflow_failed,
    "dequeue": LocalRuntime._on_dequeue,
    "start": LocalRuntime._on_start,
}


def _merge(effects: dict[str, Effects], execution_id: str, fx: Effects) -> None:
    """Fold one executor call's effects into the batch's effects for that execution."""
    into = effects.get(execution_id)
    if into is None:
        effects[execution_id] = fx
    else:
        into.merge(fx)
