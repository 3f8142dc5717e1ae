"""Everything the server process runs, wired once: store, executor loop, workers, scheduler, hub.

Routes call these methods and never touch the runtime directly, so the rules (inputs validated
before storing, a flow's triggers validated on save, restarts and deletions only of ended
executions) live in one place. Reads go through `ExecutionQueries`, which leaves the executor's
repository caches alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from lanner.errors import LannerError, ValidationErrors
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.state import StateType
from lanner.runtime.stored_flows import StoredFlows
from lanner.server.hub import EventHub
from lanner.server.problems import ApiProblem, from_lanner, not_found
from lanner.server.settings import ServerSettings

log = logging.getLogger("lanner.server")


class Services:
    def __init__(self, settings: ServerSettings, cluster: Any = None) -> None:
        """`cluster` (a `runtime.roles.Roles`) makes this server a cluster webserver: executions are
        queued for the executors, and the roles it holds (standalone) start and stop with it."""
        from lanner.runtime.catalog import FlowCatalog
        from lanner.runtime.local import LocalRuntime
        from lanner.runtime.scheduler import Scheduler
        from lanner.storage import db
        from lanner.storage.execution_queries import ExecutionQueries
        from lanner.storage.files import LocalFiles
        from lanner.storage.flow_store import FlowStore
        from lanner.storage.repository import Repository
        from lanner.storage.sql import on_engine
        from lanner.storage.trigger_store import TriggerStore

        self.settings = settings
        self.engine = db.connect()
        self.repo = Repository(on_engine(self.engine))  # the executor loop's; the API never reads through it
        self.queries = ExecutionQueries(self.engine)
        self.flow_store = FlowStore(self.engine)
        self.flows = StoredFlows(self.flow_store)
        self.files = LocalFiles(db.lanner_home() / "storage")
        self.hub = EventHub()
        self.cluster = cluster
        if cluster is not None:
            self.files = cluster.files
            self.runtime = cluster.client
            self.runtime.on_change(self.hub.poke)
            self.scheduler = cluster.make_scheduler()  # for webhooks and the triggers list; never started here
        else:
            self.runtime = LocalRuntime(self.repo, self.files, threads=settings.threads, listener=self.hub.listener,
                                        catalog=FlowCatalog(self.repo), what="lanner server local",
                                        stored=self.flows)
            self.scheduler = Scheduler(TriggerStore(self.engine), self.all_flows,
                                       lambda ns, fid: self.flows.find(ns, fid), self._start_for_trigger,
                                       self.queries.exists, self.queries.get, unfinished=self.queries.unfinished)
            self.runtime.triggers.use_scheduler(self.scheduler.set_disabled)  # it holds their state here
        self.hub.on_execution = self.scheduler.execution_changed
        self.resumed: list[str] = []
        from lanner.runtime import stopping

        self.stop_grace = stopping.grace_seconds()  # a bad LANNER_STOP_GRACE is said at start, not at stop

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.cluster is not None:
            self.cluster.start()
            return
        self.runtime.serve()
        self.resumed = self.runtime.recover()
        if self.resumed:
            log.warning("resumed %d unfinished execution(s): %s", len(self.resumed), ", ".join(self.resumed))
        self.scheduler.start()

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            return
        self.scheduler.stop()
        # The graceful stop; a hard stop meanwhile (the second signal, `lanner server local`) ends the wait.
        self.runtime.stop_gracefully(self.stop_grace)
        self.runtime.wait_idle()
        self.runtime.stop()
        self.runtime.close()

    # -- flows -------------------------------------------------------------------------------

    def all_flows(self) -> list[Flow]:
        out = []
        for stored in self.flow_store.all_latest():
            try:
                out.append(self.flows.parse(stored.namespace, stored.id, stored.revision, stored.source))
            except LannerError:
                continue
        return out

    def validate(self, source: str) -> Flow:
        """Parse and validate a flow's YAML, triggers included; raises ValidationErrors."""
        from lanner.loading.flows import load_flow
        from lanner.runtime import triggers

        flow = load_flow(source, file="flow.yaml")
        problems = triggers.validate(flow)
        if problems:
            raise ValidationErrors(list(problems))
        return flow

    def save_flow(self, source: str, expect: tuple[str, str] | None = None, create: bool = False) -> Any:
        """Create (refusing an existing flow) or update (refusing a renamed one); returns the StoredFlow."""
        if len(source.encode("utf-8", "replace")) > self.settings.max_yaml_bytes:
            raise ApiProblem(413, f"the flow is larger than {self.settings.max_yaml_bytes} bytes",
                             hint="split it into subflows")
        try:
            flow = self.validate(source)
        except LannerError as exc:
            raise from_lanner(exc) from None
        exists = self.flow_store.latest(flow.namespace, flow.id) is not None
        if create and exists:
            raise ApiProblem(409, f"flow `{flow.namespace}.{flow.id}` already exists",
                             hint=f"update it with PUT /api/v1/flows/{flow.namespace}/{flow.id}")
        if expect is not None:
            if (flow.namespace, flow.id) != expect:
                raise ApiProblem(422, f"Illegal flow id update: the YAML says `{flow.namespace}.{flow.id}`, the URL "
                                      f"`{expect[0]}.{expect[1]}`", hint="a flow cannot be renamed; create a new one")
            if not exists:
                raise not_found(f"flow `{expect[0]}.{expect[1]}`")
        stored = self.flow_store.save(flow.namespace, flow.id, source)
        self.scheduler.flows_changed()
        return stored

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        if not self.flow_store.delete(namespace, flow_id):
            raise not_found(f"flow `{namespace}.{flow_id}`")
        self.scheduler.store.delete_flow(namespace, flow_id)
        self.scheduler.flows_changed()

    def flow(self, namespace: str, flow_id: str, revision: int | None = None) -> Flow:
        flow = self.flows.find(namespace, flow_id, revision)
        if flow is None:
            raise not_found(f"flow `{namespace}.{flow_id}`" + (f" revision {revision}" if revision else ""))
        return flow

    # -- executions --------------------------------------------------------------------------

    def create_execution(self, namespace: str, flow_id: str, inputs: Mapping[str, Any],
                         labels: Mapping[str, str] | None = None, revision: int | None = None,
                         execution_id: str | None = None, flow: Flow | None = None,
                         created: Callable[[Execution], None] | None = None) -> Execution:
        """`flow`: the revision already looked up by the caller (not looked up again); `created`: as
        `runtime/launch.py:start_execution` says."""
        from lanner.runtime.launch import start_execution

        flow = flow or self.flow(namespace, flow_id, revision)
        if flow.disabled:
            raise ApiProblem(409, f"Cannot execute a disabled flow `{namespace}.{flow_id}`",
                             hint="set `disabled: false` to run it")
        try:
            return start_execution(self.runtime, flow, inputs, labels, execution_id=execution_id, created=created)
        except LannerError as exc:
            raise from_lanner(exc) from None

    def _start_for_trigger(self, flow: Flow, inputs: Mapping[str, Any], labels: Mapping[str, str],
                           trigger: dict[str, Any], execution_id: str | None) -> Execution:
        from lanner.runtime.launch import start_execution

        return start_execution(self.runtime, flow, inputs, labels, trigger=trigger, execution_id=execution_id,
                               via="trigger")

    def execution(self, execution_id: str) -> Execution:
        exe = self.queries.get(execution_id)
        if exe is None:
            raise not_found(f"execution `{execution_id}`")
        return exe

    def flow_of(self, exe: Execution) -> Flow | None:
        return self.flows.find(exe.namespace, exe.flow_id, exe.flow_revision)

    def kill(self, execution_id: str, hard: bool = False) -> None:
        exe = self.execution(execution_id)
        if exe.state.current.terminated and not hard:
            raise ApiProblem(409, f"execution {execution_id} is already {exe.state.current.value}",
                             hint="only a running, paused or created execution can be killed")
        self.runtime.kill(execution_id, hard=hard)

    def paused(self, execution_id: str) -> Execution:
        """The execution, if it is PAUSED (409 otherwise: only a paused execution can be resumed)."""
        exe = self.execution(execution_id)
        if exe.state.current is not StateType.PAUSED:
            raise ApiProblem(409, f"execution {execution_id} is {exe.state.current.value}, not PAUSED",
                             hint="only a paused execution can be resumed")
        return exe

    def resume(self, execution_id: str, given: Mapping[str, Any] | None = None, by: str | None = None) -> None:
        """Resume with the paused tasks' `onResume` values, typed first: invalid ones are refused
        (422, each problem listed) and the execution stays PAUSED, nothing sent."""
        from lanner.model.resume_inputs import typed_resume_inputs

        exe = self.paused(execution_id)
        try:
            typed = typed_resume_inputs(self.flow_of(exe), exe, given or {}, via="api")
        except LannerError as exc:
            raise from_lanner(exc) from None
        self.runtime.resume(execution_id, None, typed, by)

    def decide(self, execution_id: str, decision: Any, comment: str | None, given: Mapping[str, Any],
               run_id: str | None, by: str | None) -> None:
        """A reviewer's decision on a waiting Approval, checked first (`model/approval_decisions.py`):
        a refused one answers 422 with each problem and the execution stays PAUSED, nothing sent."""
        from lanner.model.approval_decisions import typed_decision

        exe = self.paused(execution_id)
        try:
            run, record = typed_decision(self.flow_of(exe), exe, decision, comment, given, run_id, via="api")
        except LannerError as exc:
            raise from_lanner(exc) from None
        self.runtime.resume(execution_id, run, record, by)

    def restart(self, execution_id: str) -> Execution:
        from lanner.runtime.restart import plan_restart

        exe = self.execution(execution_id)
        flow = self.flow_of(exe)
        if flow is None:
            raise ApiProblem(409, f"the flow of execution {execution_id} (revision {exe.flow_revision}) is gone",
                             hint="run the flow again instead")
        if exe.id in self.runtime.live:
            raise ApiProblem(409, f"execution {execution_id} is still being finished (afterExecution)",
                             hint="retry in a moment")
        try:
            restarted = plan_restart(flow, exe)
        except LannerError as exc:
            raise ApiProblem(409, exc.render(), hint=exc.hint) from None
        self.queries.rewrite_task_runs(restarted)
        self.repo.save(restarted, (), header=True)
        fresh = self.repo.get(restarted.id)  # refreshes the loop repository's task-run numbering
        assert fresh is not None
        self.runtime.submit(flow, fresh)
        self.hub.poke(execution_id)
        return fresh

    def delete_execution(self, execution_id: str) -> None:
        exe = self.execution(execution_id)
        if not exe.state.current.terminated or exe.id in self.runtime.live:
            raise ApiProblem(409, f"execution {execution_id} is {exe.state.current.value}",
                             hint="kill it and wait for its end before deleting it")
        self.queries.delete(execution_id)
