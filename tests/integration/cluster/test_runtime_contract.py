"""One contract, three runtimes: the embedded runtime, the cluster on SQLite, the cluster on PostgreSQL.

What `runtime/core.py` carries out — a flow's concurrency limit, the start of a Subflow (its
inputs, labels, parent link, the outputs that come back, the depth guard) and the masking of
SECRET inputs in logs — must behave the same whichever runtime runs the flow. Each case below
runs once per mode, on real stores: SQLite files, and a fresh PostgreSQL database per test. The
cluster modes run two executors, so a concurrency limit is also decided by competing executors.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lanner.loading.flows import load_flow
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.state import StateType
from tests.integration.cluster.databases import sqlite_url

SLEEP = "io.kestra.plugin.core.flow.Sleep"


class Embedded:
    """`LocalRuntime` serving in a thread, on a SQLite file (what `lanner server local` runs)."""

    def __init__(self, tmp: Path) -> None:
        from lanner.runtime.catalog import FlowCatalog
        from lanner.runtime.local import LocalRuntime
        from lanner.storage import db
        from lanner.storage.files import LocalFiles
        from lanner.storage.repository import Repository

        self.engine = db.connect(sqlite_url(tmp / "embedded"))
        self.repo = Repository(self.engine)
        self.catalog = FlowCatalog(self.repo)
        self.runtime = LocalRuntime(self.repo, LocalFiles(tmp / "storage"), catalog=self.catalog)
        self.runtime.serve()

    def save(self, yaml_text: str) -> Flow:
        flow = load_flow(yaml_text)
        self.catalog.add(flow)
        return flow

    def start(self, flow: Flow, inputs: dict[str, Any] | None = None) -> str:
        from lanner.model.inputs import resolve_inputs

        exe = self.runtime.create(flow, resolve_inputs(flow, inputs or {}))
        self.runtime.submit(flow, exe)
        return exe.id

    def get(self, execution_id: str) -> Execution | None:
        return self.repo.get(execution_id)

    def messages(self, execution_id: str) -> list[str]:
        return [r["message"] for r in self.repo.logs(execution_id)]

    def ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT id FROM executions"))]

    def restart(self, flow: Flow, execution_id: str) -> None:
        restart_stored(self.repo, self.runtime, flow, execution_id)

    def kill(self, execution_id: str) -> None:
        self.runtime.kill(execution_id)

    def resume(self, flow: Flow, execution_id: str, given: dict[str, Any]) -> None:
        resume_checked(self.runtime, flow, self.get(execution_id), given)

    def decide(self, flow: Flow, execution_id: str, decision: str, task_id: str, given: dict[str, Any]) -> None:
        decide_checked(self.runtime, flow, self.get(execution_id), decision, task_id, given)

    def close(self) -> None:
        self.runtime.stop()
        self.runtime.close()


class Cluster:
    """Two executors and a worker, as threads on one database (see inprocess.py)."""

    def __init__(self, url: str, tmp: Path) -> None:
        from tests.integration.cluster.inprocess import InProcessCluster

        self.cluster = InProcessCluster(url, tmp)
        self.cluster.start_executor()
        self.cluster.start_executor()
        self.cluster.start_worker()

    def save(self, yaml_text: str) -> Flow:
        flow = load_flow(yaml_text)
        self.cluster.client.flows.save(flow)
        return flow

    def start(self, flow: Flow, inputs: dict[str, Any] | None = None) -> str:
        return self.cluster.client.start(flow, inputs).id

    def get(self, execution_id: str) -> Execution | None:
        return self.cluster.client.get(execution_id)

    def messages(self, execution_id: str) -> list[str]:
        from lanner.storage.execution_queries import ExecutionQueries

        return [r["message"] for r in ExecutionQueries(self.cluster.db.reader).logs(execution_id)]

    def ids(self) -> list[str]:
        with self.cluster.db.reader.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT id FROM executions"))]

    def restart(self, flow: Flow, execution_id: str) -> None:
        from lanner.storage.repository import Repository

        restart_stored(Repository(self.cluster.db.engine), self.cluster.client, flow, execution_id)

    def kill(self, execution_id: str) -> None:
        self.cluster.client.kill(execution_id)

    def resume(self, flow: Flow, execution_id: str, given: dict[str, Any]) -> None:
        resume_checked(self.cluster.client, flow, self.get(execution_id), given)

    def decide(self, flow: Flow, execution_id: str, decision: str, task_id: str, given: dict[str, Any]) -> None:
        decide_checked(self.cluster.client, flow, self.get(execution_id), decision, task_id, given)

    def close(self) -> None:
        self.cluster.close()


def restart_stored(repo: Any, runtime: Any, flow: Flow, execution_id: str) -> None:
    """What the API's restart does (`server/services.py:Services.restart`): plan, store, submit."""
    from lanner.runtime.restart import plan_restart
    from lanner.storage.execution_queries import ExecutionQueries

    exe = repo.get(execution_id)
    restarted = plan_restart(flow, exe)
    ExecutionQueries(repo.engine).rewrite_task_runs(restarted)
    repo.save(restarted, (), header=True)
    runtime.submit(flow, repo.get(execution_id))


def resume_checked(runtime: Any, flow: Flow, exe: Execution | None, given: dict[str, Any]) -> None:
    """What the API's resume does (`server/services.py:Services.resume`): type, then send."""
    from lanner.model.resume_inputs import typed_resume_inputs

    assert exe is not None
    runtime.resume(exe.id, None, typed_resume_inputs(flow, exe, given), "tester")


def decide_checked(runtime: Any, flow: Flow, exe: Execution | None, decision: Any, task_id: str,
                   given: dict[str, Any]) -> None:
    """What the API's approve/deny does (`Services.decide`): check the decision, then send it."""
    from lanner.model.approval_decisions import typed_decision

    assert exe is not None
    run_id = next(r.id for r in exe.task_runs if r.task_id == task_id)
    run, record = typed_decision(flow, exe, decision, "noted", given, run_id)
    runtime.resume(exe.id, run, record, "reviewer")


@pytest.fixture(params=["embedded", "cluster-sqlite", "cluster-postgresql"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "embedded":
        mode: Any = Embedded(tmp_path)
    elif request.param == "cluster-sqlite":
        mode = Cluster(sqlite_url(tmp_path / "sqlite"), tmp_path)
    else:
        mode = Cluster(request.getfixturevalue("postgres_url"), tmp_path)
    yield mode
    mode.close()


def wait(runtime: Any, execution_id: str, timeout: float = 30) -> Execution:
    deadline = time.monotonic() + timeout
    exe = None
    while time.monotonic() < deadline:
        exe = runtime.get(execution_id)
        if exe is not None and exe.state.current.terminated and all(r.current.terminated for r in exe.task_runs):
            return exe
        time.sleep(0.05)
    raise AssertionError(f"{execution_id} did not end: {exe.state.current if exe else None}")


def wait_state(runtime: Any, execution_id: str, state: StateType, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exe = runtime.get(execution_id)
        if exe is not None and exe.state.current is state:
            return
        time.sleep(0.02)
    raise AssertionError(f"{execution_id} never reached {state.value}")


def messages_with(runtime: Any, execution_id: str, text: str, timeout: float = 10) -> list[str]:
    """The execution's log lines once one containing `text` is stored (log lines are written in batches)."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = runtime.messages(execution_id)
        if any(text in line for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no log line of {execution_id} contains {text!r}: {lines}")


# -- concurrency limit ----------------------------------------------------------------------------

LIMITED = """
id: limited_{behavior}
namespace: contract
concurrency: {{limit: 1, behavior: {behavior}}}
tasks:
  - {{id: nap, type: {sleep}, duration: PT{seconds}S}}
"""


@pytest.mark.parametrize("behavior,refused", [("FAIL", StateType.FAILED), ("CANCEL", StateType.CANCELLED)])
def test_a_run_beyond_the_concurrency_limit_is_refused_while_one_runs(runtime: Any, behavior: str,
                                                                    refused: StateType) -> None:
    flow = runtime.save(LIMITED.format(behavior=behavior, sleep=SLEEP, seconds=1.5))
    first = runtime.start(flow)
    wait_state(runtime, first, StateType.RUNNING)
    others = [runtime.start(flow) for _ in range(3)]
    ended = [wait(runtime, eid) for eid in others]
    assert [e.state.current for e in ended] == [refused] * 3
    assert all(not e.task_runs for e in ended)  # nothing of them ran
    assert wait(runtime, first).state.current is StateType.SUCCESS
    assert any("concurrency limit" in m for m in messages_with(runtime, others[0], "concurrency limit"))


def test_queued_runs_start_one_at_a_time_in_the_order_they_came(runtime: Any) -> None:
    flow = runtime.save(LIMITED.format(behavior="QUEUE", sleep=SLEEP, seconds=0.3))
    first = runtime.start(flow)
    wait_state(runtime, first, StateType.RUNNING)
    queued = []
    for _ in range(3):
        queued.append(runtime.start(flow))
        wait_state(runtime, queued[-1], StateType.QUEUED)
    ended = [wait(runtime, eid) for eid in [first, *queued]]
    assert [e.state.current for e in ended] == [StateType.SUCCESS] * 4
    spans = [(e.task_runs[0].state.start_date, e.task_runs[0].state.end_date) for e in ended]
    assert spans == sorted(spans)  # first come, first served
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # never two at once
    assert all(StateType.QUEUED in [h.state for h in e.state.histories] for e in ended[1:])


RESTARTABLE = """
id: restarted_{behavior}
namespace: contract
concurrency: {{limit: 1, behavior: {behavior}}}
inputs:
  - {{id: nap, type: STRING, defaults: PT0S}}
tasks:
  - {{id: nap, type: {sleep}, duration: "{{{{ inputs.nap }}}}"}}
  - {{id: flaky, type: io.kestra.plugin.core.execution.Fail, condition: "{{{{ taskrun.attemptsCount == 0 }}}}"}}
"""


def _failed_then_one_running(runtime: Any, behavior: str, seconds: int = 2) -> tuple[Flow, str, str]:
    """An execution of a limit-1 flow that ended FAILED, and another one running (for `seconds`)."""
    flow = runtime.save(RESTARTABLE.format(behavior=behavior, sleep=SLEEP))
    failed = runtime.start(flow)
    assert wait(runtime, failed).state.current is StateType.FAILED
    running = runtime.start(flow, {"nap": f"PT{seconds}S"})
    wait_state(runtime, running, StateType.RUNNING)
    return flow, failed, running


def test_a_restart_while_the_limit_is_reached_queues_and_runs_once_a_slot_frees(runtime: Any) -> None:
    flow, failed, running = _failed_then_one_running(runtime, "QUEUE")
    runtime.restart(flow, failed)
    wait_state(runtime, failed, StateType.QUEUED)
    first = wait(runtime, running)
    again = wait(runtime, failed)
    assert again.state.current is StateType.SUCCESS
    flaky = next(r for r in again.task_runs if r.task_id == "flaky")
    assert len(flaky.attempts) == 2
    assert first.state.end_date is not None and flaky.attempts[1].state.start_date >= first.state.end_date
    states = [h.state for h in again.state.histories]
    assert states[states.index(StateType.RESTARTED):] == [StateType.RESTARTED, StateType.QUEUED, StateType.RUNNING,
                                                          StateType.SUCCESS]


def test_a_restart_while_the_limit_is_reached_fails_and_can_be_restarted_later(runtime: Any) -> None:
    flow, failed, running = _failed_then_one_running(runtime, "FAIL")
    runtime.restart(flow, failed)
    refused = wait(runtime, failed)
    assert refused.state.current is StateType.FAILED
    flaky = next(r for r in refused.task_runs if r.task_id == "flaky")
    assert len(flaky.attempts) == 1  # nothing ran again
    assert runtime.get(running).state.current is StateType.RUNNING
    assert any("concurrency limit" in m for m in messages_with(runtime, failed, "concurrency limit"))
    wait(runtime, running)
    runtime.restart(flow, failed)  # with the slot free, the same restart runs
    assert wait(runtime, failed).state.current is StateType.SUCCESS


def test_a_queued_execution_killed_ends_killed_at_once_and_the_queue_goes_on(runtime: Any) -> None:
    """The running one sleeps far past the kills and is killed last: its end, not a timed nap, frees
    the slot (the queue going on after a slot freed by success: the restart test above)."""
    flow, failed, running = _failed_then_one_running(runtime, "QUEUE", seconds=60)
    fresh = runtime.start(flow)
    wait_state(runtime, fresh, StateType.QUEUED)
    runtime.restart(flow, failed)
    wait_state(runtime, failed, StateType.QUEUED)
    last = runtime.start(flow)
    wait_state(runtime, last, StateType.QUEUED)
    runtime.kill(fresh)
    runtime.kill(failed)
    killed = [wait(runtime, eid) for eid in (fresh, failed)]
    assert [e.state.current for e in killed] == [StateType.KILLED] * 2
    assert not killed[0].task_runs
    flaky = next(r for r in killed[1].task_runs if r.task_id == "flaky")
    assert flaky.current is StateType.KILLED and len(flaky.attempts) == 1  # reopened, never run, closed
    assert runtime.get(running).state.current is StateType.RUNNING  # killing queued ones freed no slot
    assert runtime.get(last).state.current is StateType.QUEUED
    runtime.kill(running)
    assert wait(runtime, running).state.current is StateType.KILLED
    assert wait(runtime, last).state.current is StateType.FAILED  # it started once the first ended
    assert StateType.QUEUED in [h.state for h in runtime.get(last).state.histories]


# -- Subflow start ----------------------------------------------------------------------------------

CHILD = """
id: child
namespace: contract
inputs:
  - {id: name, type: STRING}
tasks:
  - {id: hello, type: io.kestra.plugin.core.debug.Return, format: "hello {{ inputs.name }}"}
outputs:
  - {id: greeting, type: STRING, value: "{{ outputs.hello.value }}"}
"""
PARENT = """
id: parent
namespace: contract
labels: {team: blue}
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: contract
    flowId: child
    inputs: {name: world}
    labels: {origin: parent}
    wait: true
    transmitFailed: true
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.call.outputs.greeting }}"}
"""


def test_a_subflow_starts_with_its_inputs_and_labels_and_its_outputs_come_back(runtime: Any) -> None:
    runtime.save(CHILD)
    parent_id = runtime.start(runtime.save(PARENT))
    parent = wait(runtime, parent_id)
    assert parent.state.current is StateType.SUCCESS
    runs = {r.task_id: r for r in parent.task_runs}
    assert runs["after"].outputs["value"] == "hello world"
    child_id = runs["call"].outputs["executionId"]
    child = wait(runtime, child_id)
    assert child.parent_id == parent_id
    assert child.inputs == {"name": "world"}
    assert child.labels["origin"] == "parent"
    assert child.labels["system.correlationId"] == parent.labels["system.correlationId"] == parent_id
    assert child.trigger is not None
    assert child.trigger["variables"]["executionId"] == parent_id
    assert child.trigger["variables"]["taskRunId"] == runs["call"].id
    assert child.trigger["type"] == "io.kestra.plugin.core.flow.Subflow"


def test_a_subflows_own_outputs_map_reads_the_ended_child_and_a_retry_starts_a_new_child(runtime: Any) -> None:
    runtime.save(CHILD.split("outputs:")[0].replace("id: child\n", "id: plain\n", 1))
    runtime.save("""
id: broken
namespace: contract
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail}
""")
    parent_id = runtime.start(runtime.save("""
id: parent
namespace: contract
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: contract
    flowId: plain
    inputs: {name: world}
    outputs: {greeting: "{{ outputs.hello.value }} from {{ flow.id }}"}
  - id: again
    type: io.kestra.plugin.core.flow.Subflow
    namespace: contract
    flowId: broken
    allowFailure: true
    retry: {type: constant, interval: PT0.1S, maxAttempts: 2}
"""))
    parent = wait(runtime, parent_id)
    runs = {r.task_id: r for r in parent.task_runs}
    assert runs["call"].outputs["outputs"] == {"greeting": "hello world from plain"}
    assert runs["again"].current is StateType.WARNING  # failed after two children; allowFailure
    assert [a.state.current for a in runs["again"].attempts] == [StateType.FAILED, StateType.FAILED]
    assert parent.state.current is StateType.WARNING


def test_a_subflow_of_a_disabled_flow_fails_its_task_run_saying_so(runtime: Any) -> None:
    runtime.save(CHILD.replace("id: child\n", "id: child\ndisabled: true\n", 1))
    parent_id = runtime.start(runtime.save(PARENT))
    parent = wait(runtime, parent_id)
    assert parent.state.current is StateType.FAILED
    assert [(r.task_id, r.current) for r in parent.task_runs] == [("call", StateType.FAILED)]
    assert any("`contract.child` is disabled" in m for m in messages_with(runtime, parent_id, "is disabled"))


# The flow id is computed, so validation cannot see the loop (a literal one is refused before it
# runs): only the run-time depth limit stops it.
RECURSIVE = """
id: again
namespace: contract
tasks:
  - {id: deeper, type: io.kestra.plugin.core.flow.Subflow, namespace: contract, flowId: "{{ flow.id }}", wait: true,
     transmitFailed: true}
"""


def test_a_flow_that_starts_itself_stops_at_the_subflow_depth_limit(runtime: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANNER_MAX_SUBFLOW_DEPTH", "3")
    root = wait(runtime, runtime.start(runtime.save(RECURSIVE)))
    assert root.state.current is StateType.FAILED
    executions = [runtime.get(eid) for eid in runtime.ids()]
    assert len(executions) == 4  # the root and three nested children, no more
    assert all(e is not None and e.state.current is StateType.FAILED for e in executions)
    ids = {e.id for e in executions if e is not None}
    deepest = next(e for e in executions if e is not None and e.task_runs[0].outputs["executionId"] not in ids)
    chain = " → ".join(["contract.again"] * 5)
    lines = messages_with(runtime, deepest.id, "Subflow depth limit (3) reached")
    assert any(f"Subflow depth limit (3) reached: {chain}" in m and "LANNER_MAX_SUBFLOW_DEPTH" in m for m in lines)


# -- secrets in logs ------------------------------------------------------------------------------

SECRETIVE = """
id: secretive
namespace: contract
inputs:
  - {id: password, type: SECRET}
tasks:
  - {id: say, type: io.kestra.plugin.core.log.Log, message: "the password is {{ inputs.password }}"}
  - {id: fail, type: io.kestra.plugin.core.execution.Fail, errorMessage: "refused {{ inputs.password }}"}
"""


def test_secret_inputs_never_reach_the_stored_logs(runtime: Any) -> None:
    secret = "s3cr3t-Hunter2"
    eid = runtime.start(runtime.save(SECRETIVE), {"password": secret})
    assert wait(runtime, eid).state.current is StateType.FAILED
    lines = messages_with(runtime, eid, "refused ******")
    assert any("the password is ******" in m for m in lines)  # from the worker
    assert not [m for m in lines if secret in m]


# -- kv() in what the executor renders ------------------------------------------------------------

KV_DECISIONS = """
id: kv_decisions
namespace: contract.team
tasks:
  - {id: set, type: io.kestra.plugin.core.kv.Set, key: color, value: blue}
  - id: gate
    type: io.kestra.plugin.core.flow.If
    condition: "{{ kv('color') == 'blue' and kv('size', errorOnMissing=false) == null }}"
    then:
      - {id: said, type: io.kestra.plugin.core.log.Log, message: "the executor read {{ kv('color') }}"}
outputs:
  - {id: color, type: STRING, value: "{{ kv('color') }}"}
"""


def test_kv_in_a_condition_and_a_flow_output_reads_the_key_a_task_set(runtime: Any) -> None:
    eid = runtime.start(runtime.save(KV_DECISIONS))
    ended = wait(runtime, eid)
    assert ended.state.current is StateType.SUCCESS, runtime.messages(eid)
    assert messages_with(runtime, eid, "the executor read blue")
    assert ended.outputs == {"color": "blue"}


VARIABLES_SET = """
id: variables_set
namespace: contract
variables: {color: red, gone: soon}
tasks:
  - {id: set, type: io.kestra.plugin.core.execution.SetVariables, variables: {color: blue}}
  - {id: unset, type: io.kestra.plugin.core.execution.UnsetVariables, variables: [gone]}
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ vars.color == 'blue' and vars.gone is not defined }}"
    then:
      - {id: said, type: io.kestra.plugin.core.log.Log, message: "the worker read {{ vars.color }}"}
outputs:
  - {id: color, type: STRING, value: "{{ vars.color }}"}
"""


def test_variables_a_task_set_reach_the_executor_the_worker_and_the_flow_outputs(runtime: Any) -> None:
    eid = runtime.start(runtime.save(VARIABLES_SET))
    ended = wait(runtime, eid)
    assert ended.state.current is StateType.SUCCESS, runtime.messages(eid)
    assert messages_with(runtime, eid, "the worker read blue")
    assert ended.outputs == {"color": "blue"}
    assert ended.variables == {"color": "blue"} and ended.variables_set


# -- flow SLAs and listeners ----------------------------------------------------------------------

OVERDUE = """
id: overdue
namespace: contract
sla:
  - {id: too_long, type: MAX_DURATION, duration: PT1S, behavior: FAIL, labels: {sla: missed}}
tasks:
  - {id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT20S}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: never}
finally:
  - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: cleaned}
"""


def test_a_max_duration_sla_timer_fails_the_execution_and_its_finally_still_runs(runtime: Any) -> None:
    eid = runtime.start(runtime.save(OVERDUE))
    exe = wait(runtime, eid)
    assert exe.state.current is StateType.FAILED and exe.labels.get("sla") == "missed"
    assert {r.task_id: r.current for r in exe.task_runs} == {"slow": StateType.KILLED, "cleanup": StateType.SUCCESS}
    lines = messages_with(runtime, eid, "SLA 'too_long' violated")
    assert any("exceeds the maximum duration of PT1S" in m for m in lines)


ASSERTED = """
id: asserted
namespace: contract
inputs:
  - {id: mode, type: STRING, defaults: PASS}
sla:
  - {id: checked, type: EXECUTION_ASSERTION, behavior: CANCEL, assert: "{{ inputs.mode != 'CANCEL' }}"}
tasks:
  - {id: work, type: io.kestra.plugin.core.log.Log, message: hi}
listeners:
  - conditions:
      - {type: io.kestra.plugin.core.condition.ExecutionStatus, in: [CANCELLED]}
    tasks:
      - {id: on_cancel, type: io.kestra.plugin.core.log.Log, message: "listener sees {{ execution.state }}"}
  - conditions:
      - {type: io.kestra.plugin.core.condition.ExecutionStatus, in: [SUCCESS]}
    tasks:
      - {id: on_success, type: io.kestra.plugin.core.log.Log, message: ok}
afterExecution:
  - {id: end, type: io.kestra.plugin.core.output.OutputValues, values: {state: "{{ execution.state }}"}}
"""


@pytest.mark.parametrize("mode,state,listener", [("PASS", StateType.SUCCESS, "on_success"),
                                                 ("CANCEL", StateType.CANCELLED, "on_cancel")])
def test_an_assertion_sla_decides_the_final_state_and_the_matching_listener_runs_before_after_execution(
        runtime: Any, mode: str, state: StateType, listener: str) -> None:
    eid = runtime.start(runtime.save(ASSERTED), {"mode": mode})
    exe = wait(runtime, eid)
    assert exe.state.current is state
    assert [(r.task_id, r.block) for r in exe.task_runs] == [("work", "tasks"), (listener, "listeners"),
                                                             ("end", "afterExecution")]
    assert exe.task_runs[-1].outputs == {"values": {"state": state.value}}


# -- ForEachItem ------------------------------------------------------------------------------------

ITEMS_CHILD = """
id: batch
namespace: contract
inputs:
  - {id: items, type: STRING}
tasks:
  - {id: lines, type: io.kestra.plugin.core.debug.Return, format: "{{ read(inputs.items) | trim }}"}
  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0S}
outputs:
  - {id: lines, type: STRING, value: "{{ outputs.lines.value }}"}
"""
ITEMS_PARENT = """
id: items_parent
namespace: contract
tasks:
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    outputFiles: [data.txt]
    commands: ["seq 1 5 > data.txt"]
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ outputs.make.outputFiles['data.txt'] }}"
    batch: {rows: 2}
    namespace: contract
    flowId: batch
    inputs: {items: "{{ taskrun.items }}"}
  - {id: merged, type: io.kestra.plugin.core.debug.Return, format: "{{ read(outputs.each_merge.subflowOutputs) }}"}
"""


@pytest.fixture
def for_each_item_declared() -> None:
    """ForEachItem as this checkout's pyproject declares it (the installed entry points may predate it)."""
    from lanner.plugins import registry
    from lanner.plugins.core.for_each_item import ForEachItem

    registry.register("io.kestra.plugin.core.flow.ForEachItem", ForEachItem)


def test_a_for_each_item_starts_one_child_per_batch_and_merges_their_outputs_in_batch_order(
        runtime: Any, for_each_item_declared: None) -> None:
    runtime.save(ITEMS_CHILD)
    parent_id = runtime.start(runtime.save(ITEMS_PARENT))
    parent = wait(runtime, parent_id)
    runs = {r.task_id: r for r in parent.task_runs}
    assert parent.state.current is StateType.SUCCESS
    assert runs["each_items"].outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}
    assert runs["merged"].outputs["value"].splitlines() == ['{lines:"1\\n2"}', '{lines:"3\\n4"}', '{lines:"5"}']
    children = [wait(runtime, eid) for eid in runs["each_items"].outputs["executionIds"]]
    assert [c.trigger["variables"]["taskRunIteration"] for c in children] == [0, 1, 2]
    assert all(c.parent_id == parent_id for c in children)


def test_killing_a_for_each_item_kills_its_children_and_ends_killed(runtime: Any, for_each_item_declared: None) -> None:
    runtime.save(ITEMS_CHILD.replace("PT0S", "PT30S"))  # the children still run when the kill comes
    parent_id = runtime.start(runtime.save(ITEMS_PARENT))
    messages_with(runtime, parent_id, "Started 3 subflow execution(s)", timeout=30)
    runtime.kill(parent_id)
    parent = wait(runtime, parent_id)
    runs = {r.task_id: r for r in parent.task_runs}
    assert parent.state.current is StateType.KILLED
    assert runs["each_items"].current is StateType.KILLED
    children = [wait(runtime, eid) for eid in runs["each_items"].outputs["executionIds"]]
    assert [c.state.current for c in children] == [StateType.KILLED] * 3


# -- resume with inputs ---------------------------------------------------------------------------

REVIEWED = """
id: reviewed
namespace: contract
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: review
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - {id: approved, type: BOOLEAN}
          - {id: note, type: STRING, defaults: fine}
      - id: by_task
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - {id: count, type: INT}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: >-
      {{ outputs.review.onResume.approved }} {{ outputs.review.onResume.note }}
      {{ outputs.by_task.onResume.count }}
finally:
  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}
"""


def test_resume_values_reach_the_next_tasks_and_a_refused_resume_keeps_the_pause(runtime: Any) -> None:
    from lanner.errors import ValidationErrors

    flow = runtime.save(REVIEWED)
    eid = runtime.start(flow)
    wait_state(runtime, eid, StateType.PAUSED)
    with pytest.raises(ValidationErrors):
        runtime.resume(flow, eid, {"approved": "perhaps", "count": "2"})
    assert runtime.get(eid).state.current is StateType.PAUSED  # typing refused it before anything was sent
    runtime.resume(flow, eid, {"approved": "true", "count": "2"})
    exe = wait(runtime, eid)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS
    assert runs["after"].outputs == {"value": "true fine 2"}
    assert runs["review"].outputs["resumed"]["by"] == "tester"
    assert runs["fin"].current is StateType.SUCCESS


RESUMED_BY_TASK = """
id: resumed_by_task
namespace: contract
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: hold
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - {id: count, type: INT}
      - id: resume
        type: io.kestra.plugin.core.execution.Resume
        inputs: {count: "41"}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.hold.onResume.count + 1 }}"}
"""


def test_the_resume_task_hands_its_typed_inputs_to_the_paused_execution(runtime: Any) -> None:
    flow = runtime.save(RESUMED_BY_TASK)
    exe = wait(runtime, runtime.start(flow))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert runs["after"].outputs == {"value": "42"}


# -- Approval ----------------------------------------------------------------------------------

APPROVALS = """
id: approvals
namespace: contract
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: first
        type: io.kestra.plugin.core.flow.Approval
        inputs:
          - {id: ticket, type: INT}
        onWait:
          - {id: asked, type: io.kestra.plugin.core.log.Log, message: asked}
        onApprove:
          - {id: approved, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.first.inputs.ticket + 1 }}"}
        finally:
          - {id: first_fin, type: io.kestra.plugin.core.log.Log, message: first cleanup}
      - id: second
        type: io.kestra.plugin.core.flow.Approval
        denyBehavior: CONTINUE
        onDeny:
          - {id: denied, type: io.kestra.plugin.core.log.Log, message: denied}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.first.decision }} {{ outputs.second.decision }}"
finally:
  - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}
"""


def wait_both_waiting(runtime: Any, execution_id: str, timeout: float = 30) -> None:
    """Until both Approvals wait (the execution is PAUSED as soon as the first one does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exe = runtime.get(execution_id)
        paused = {r.task_id for r in exe.task_runs if r.current is StateType.PAUSED} if exe else set()
        if paused == {"first", "second"}:
            return
        time.sleep(0.02)
    raise AssertionError(f"{execution_id}: both approvals never waited together")


def test_each_waiting_approval_is_decided_by_its_task_run_and_its_block_runs_once(runtime: Any) -> None:
    flow = runtime.save(APPROVALS)
    eid = runtime.start(flow)
    wait_both_waiting(runtime, eid)
    runtime.decide(flow, eid, "APPROVED", "first", {"ticket": "41"})
    runtime.decide(flow, eid, "DENIED", "second", {})
    exe = wait(runtime, eid)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert runs["approved"].outputs == {"value": "42"}
    assert runs["after"].outputs == {"value": "APPROVED DENIED"}
    assert (runs["first"].outputs["by"], runs["first"].outputs["comment"]) == ("reviewer", "noted")
    assert sorted(r.task_id for r in exe.task_runs) == sorted(
        ["parallel", "first", "asked", "approved", "first_fin", "second", "denied", "after", "fin"])


def test_an_approval_killed_while_waiting_runs_its_finally_once_and_ends_killed(runtime: Any) -> None:
    flow = runtime.save(APPROVALS)
    eid = runtime.start(flow)
    wait_both_waiting(runtime, eid)
    runtime.kill(eid)
    exe = wait(runtime, eid)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.KILLED
    assert runs["first"].current is StateType.KILLED and runs["first_fin"].current is StateType.SUCCESS
    assert [r.task_id for r in exe.task_runs].count("first_fin") == 1 and runs["fin"].current is StateType.SUCCESS


def test_an_approval_expires_after_its_timeout_and_cancels_the_execution(runtime: Any) -> None:
    flow = runtime.save(APPROVALS.replace("      - id: second\n", "      - id: second\n        timeout: PT1S\n"))
    exe = wait(runtime, runtime.start(flow))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.CANCELLED, [(r.task_id, r.current) for r in exe.task_runs]
    assert runs["second"].outputs["decision"] == "EXPIRED" and runs["second"].current is StateType.CANCELLED
    assert runs["first"].current is StateType.CANCELLED and runs["first_fin"].current is StateType.SUCCESS
    assert runs["fin"].current is StateType.SUCCESS and "after" not in runs


# -- Pause: onPause, and errors/finally of a pause that times out ----------------------------------

PAUSED_TWICE = """
id: paused_twice
namespace: contract
tasks:
  - {id: before, type: io.kestra.plugin.core.debug.Return, format: earlier}
  - id: first
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT0.2S
    onPause: {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
    tasks:
      - {id: inside, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.before.value }}"}
  - id: second
    type: io.kestra.plugin.core.flow.Pause
    timeout: PT0.2S
    onPause: {id: seen, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.inside.value }} seen"}
    errors:
      - {id: err, type: io.kestra.plugin.core.log.Log, message: timed out}
    finally:
      - {id: fin, type: io.kestra.plugin.core.log.Log, message: cleaned}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: never}
"""


def test_on_pause_runs_beside_the_wait_and_a_timed_out_pause_runs_its_errors_and_finally_once(runtime: Any) -> None:
    exe = wait(runtime, runtime.start(runtime.save(PAUSED_TWICE)))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.FAILED, [(r.task_id, r.current) for r in exe.task_runs]
    assert sorted(runs) == sorted(r.task_id for r in exe.task_runs)  # each ran once
    assert {t: r.current.value for t, r in runs.items()} == {
        "before": "SUCCESS", "first": "SUCCESS", "nap": "SUCCESS", "inside": "SUCCESS", "second": "FAILED",
        "seen": "SUCCESS", "err": "SUCCESS", "fin": "SUCCESS"}
    assert runs["nap"].parent_id == runs["first"].id and runs["seen"].parent_id == runs["second"].id
    # the first pause ended before its onPause did, and waited for it before its block
    assert runs["inside"].state.start_date >= runs["nap"].state.end_date  # type: ignore[operator]
    assert runs["seen"].outputs == {"value": "earlier seen"}


# -- Loop, onChildFailure, WorkingDirectory cache (issue 12) ---------------------------------------

LOOPED = """
id: looped
namespace: contract
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["a", "b", "c"]
    concurrencyLimit: 0
    outputs:
      - {id: said, type: STRING, value: "{{ outputs.word.value }}"}
    tasks:
      - {id: word, type: io.kestra.plugin.core.debug.Return, format: "{{ item.index }}-{{ item.value }}"}
      - {id: echo, type: io.kestra.plugin.core.log.Log, message: "own {{ outputs.word.value }}"}
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    onChildFailure: CANCELLED
    tasks:
      - task: {id: boom, type: io.kestra.plugin.core.execution.Fail}
      - task: {id: sleeper, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S}
    finally:
      - {id: tidy, type: io.kestra.plugin.core.log.Log, message: "seen {{ outputs.loop.outputs | length }}"}
"""


def test_a_loop_keeps_its_iterations_apart_and_a_dag_interrupts_its_sleeper_in_every_runtime(runtime: Any) -> None:
    from tests.integration.declared_plugins import register_declared

    register_declared(lambda name, target: name == "io.kestra.plugin.core.flow.Loop")
    eid = runtime.start(runtime.save(LOOPED))
    ended = wait(runtime, eid)
    runs = {r.task_id: r for r in ended.task_runs}
    assert ended.state.current is StateType.FAILED, runtime.messages(eid)
    assert runs["loop"].current is StateType.SUCCESS
    assert runs["loop"].outputs["terminatedIterations"] == {"SUCCESS": 3}
    assert sorted(o["outputs"]["said"] for o in runs["loop"].outputs["outputs"]) == ["0-a", "1-b", "2-c"]
    for word in ("0-a", "1-b", "2-c"):
        assert messages_with(runtime, eid, f"own {word}")
    assert runs["sleeper"].current is StateType.CANCELLED and runs["boom"].current is StateType.FAILED
    assert messages_with(runtime, eid, "seen 3")


STORED_LOOP = """
id: stored-loop
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b]
    fetchType: STORE
    outputs:
      - {id: said, type: STRING, value: "{{ outputs.say.value }}"}
    tasks:
      - {id: say, type: io.kestra.plugin.core.debug.Return, format: "said {{ item.value }}"}
  - id: reread
    type: io.kestra.plugin.core.log.Log
    message: "stored {{ read(outputs.loop.outputs[1].outputs.uri) }}"
  - id: slow
    type: io.kestra.plugin.core.flow.Loop
    values: [c]
    fetchType: STORE
    outputs:
      - {id: was, type: STRING, value: "{{ item.value }}"}
    tasks:
      - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.01S}
  - id: reread_slow
    type: io.kestra.plugin.core.log.Log
    message: "slow {{ read(outputs.slow.outputs[0].outputs.uri) }}"
"""


def test_a_loop_storing_its_outputs_writes_each_iterations_file_where_a_later_task_reads_it(runtime: Any) -> None:
    """`loop`'s iterations end on an instant task (run by the decider), `slow`'s on a worker's Sleep:
    either way the file is written before the Log that reads it runs."""
    from tests.integration.declared_plugins import register_declared

    register_declared(lambda name, target: name == "io.kestra.plugin.core.flow.Loop")
    eid = runtime.start(runtime.save(STORED_LOOP))
    ended = wait(runtime, eid)
    assert ended.state.current is StateType.SUCCESS, runtime.messages(eid)
    [loop] = [r for r in ended.task_runs if r.task_id == "loop"]
    uris = [o["outputs"]["uri"] for o in loop.outputs["outputs"]]
    assert len(uris) == 2 and all(u.startswith("kestra:///") and u.endswith(".ion") for u in uris)
    assert messages_with(runtime, eid, 'stored {said:"said b"}')
    assert messages_with(runtime, eid, 'slow {was:"c"}')


# -- logToFile: an attempt's lines in a file, whoever runs the attempt ---------------------------

LOGGED_TO_FILES = """
id: logged_to_files
namespace: contract
inputs:
  - {id: password, type: SECRET}
tasks:
  - {id: instant, type: io.kestra.plugin.core.log.Log, message: "said by the decider {{ inputs.password }}",
     logToFile: true}
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    logToFile: true
    commands: ["echo worker says {{ inputs.password }}"]
  - {id: stored, type: io.kestra.plugin.core.log.Log, message: "said to the store"}
"""


def test_log_to_file_keeps_an_attempts_masked_lines_in_its_file_not_the_store_for_instant_and_worker_tasks(
        runtime: Any, tmp_path: Path) -> None:
    """`instant` runs where the decision is taken (the embedded loop, a cluster executor's
    transaction), `shell` on a worker: both name their file on their attempt, it is there, and a
    SECRET input is masked in it as in the log store (the runtime's masking of stored lines never
    sees these)."""
    from lanner.storage.files import LocalFiles

    secret = "s3cr3t-Hunter2"
    eid = runtime.start(runtime.save(LOGGED_TO_FILES), {"password": secret})
    ended = wait(runtime, eid)
    assert ended.state.current is StateType.SUCCESS, runtime.messages(eid)
    by_task = {r.task_id: r for r in ended.task_runs}
    files = LocalFiles(tmp_path / "storage")
    [instant] = by_task["instant"].attempts
    assert instant.log_file is not None and instant.log_file.startswith("kestra:///contract/logged_to_files/")
    assert files.get(instant.log_file).decode().rstrip("\n").endswith(" INFO said by the decider ******")
    [shell] = by_task["shell"].attempts
    assert shell.log_file is not None
    assert files.get(shell.log_file).decode().rstrip("\n").endswith(" INFO worker says ******")
    assert by_task["stored"].attempts[0].log_file is None
    lines = messages_with(runtime, eid, "said to the store")
    assert not [m for m in lines if "said by the decider" in m or "worker says" in m]
