"""Data the database refuses blocks nothing behind it (SQLite and PostgreSQL, real roles as threads).

The refused data is real: a lone surrogate (what Python makes of undecodable bytes) cannot be
encoded in UTF-8 by either driver, so a log line carrying one used to fail every write it was
part of, again and again: a worker's result writes, or an executor's whole pass over many
executions. Such a line is now stored as a stand-in showing it escaped, and everything goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from lanner.model.execution import Execution
from lanner.model.results import WorkerResult
from lanner.model.state import StateType
from lanner.runtime.queues import events, jobs
from lanner.runtime.queues.base import Kind
from lanner.storage import tables
from tests.integration.cluster.inprocess import InProcessCluster, by_task
from tests.integration.cluster.inprocess import log_messages as _messages

LOG = "io.kestra.plugin.core.log.Log"
SURROGATE = "a\udcffb"  # `--input text=$'a\xffb'` reaches Lanner as this
STAND_IN = "[this log line could not be stored as written"


def _flow(flow_id: str, where: str) -> str:
    return f"""
id: {flow_id}
namespace: c
inputs:
  - {{id: text, type: STRING}}
tasks:
  - {{id: say, type: {LOG}, message: "said {{{{ inputs.text }}}}"{where}}}
finally:
  - {{id: bye, type: {LOG}, message: "bye"}}
"""


def test_a_refused_log_line_on_a_worker_is_stored_escaped_and_the_results_go_on(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker(worker_group="g")
    exe = cluster.run(_flow("refused_on_worker", ", workerGroup: {key: g}"), inputs={"text": SURROGATE}, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    said = _messages(cluster, exe.id, "say")
    assert len(said) == 1 and said[0].startswith(STAND_IN) and said[0].endswith("said a\\udcffb")
    assert _messages(cluster, exe.id, "bye") == ["bye"]
    after = cluster.run(_flow("after_refused", ", workerGroup: {key: g}"), inputs={"text": "fine"}, timeout=20)
    assert after.state.current is StateType.SUCCESS and _messages(cluster, after.id, "say") == ["said fine"]


def test_a_refused_log_line_in_an_executor_pass_blocks_no_other_execution(cluster: InProcessCluster) -> None:
    # started before the executor, so that one pass claims them all, the refused one first
    poisoned = cluster.start(_flow("refused_on_executor", ""), inputs={"text": SURROGATE})
    others = [cluster.start(_flow("beside_refused", ""), inputs={"text": f"fine {i}"}) for i in range(5)]
    cluster.start_executor()
    for i, other in enumerate(others):
        done = cluster.wait(other.id, timeout=20)
        assert done.state.current is StateType.SUCCESS and _messages(cluster, done.id, "say") == [f"said fine {i}"]
    exe = cluster.wait(poisoned.id, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    said = _messages(cluster, exe.id, "say")
    assert len(said) == 1 and said[0].startswith(STAND_IN) and said[0].endswith("said a\\udcffb")
    assert _messages(cluster, exe.id, "bye") == ["bye"]  # its finally ran, once


class _Unprintable:
    """A task output whose text form raises: the result it is in cannot be encoded for its row."""

    def __str__(self) -> str:
        raise RuntimeError("no text form")


def test_a_result_that_cannot_be_stored_fails_its_attempt_and_the_others_are_stored(
        cluster: InProcessCluster) -> None:
    """No database refuses a result's row today (its JSON is ASCII-escaped); the refusal here is
    the result's own (an output that cannot be encoded), which takes the same path."""
    flow = f"""
id: waits_for_a_worker
namespace: c
tasks:
  - {{id: work, type: {LOG}, message: hi, workerGroup: {{key: later}}}}
"""
    cluster.start_executor()
    first, second = cluster.start(flow), cluster.start(flow)
    cluster.wait(first.id, states=("RUNNING",), timeout=20)
    cluster.wait(second.id, states=("RUNNING",), timeout=20)
    from lanner.runtime.cluster_worker import ClusterWorker

    worker = ClusterWorker(cluster.db, cluster.settings_for(worker_group="later"))  # its loop is not run
    rows: list[jobs.JobRow] = []
    while len(rows) < 2:
        with cluster.db.transaction() as tx:
            if not rows:
                jobs.register(tx, worker.id, "later", 2)
            rows += jobs.claim(tx, worker.id, "later", 2) or []
    by_exe = {r.execution_id: r for r in rows}
    bad = WorkerResult(first.id, by_exe[first.id].task_run_id, 1, StateType.SUCCESS, {"x": _Unprintable()})
    good = WorkerResult(second.id, by_exe[second.id].task_run_id, 1, StateType.SUCCESS, {"x": "y"})
    stored: list[list[bool]] = []
    storing = threading.Thread(target=lambda: stored.append(worker._store_group([(bad, worker.id),
                                                                                  (good, worker.id)])), daemon=True)
    storing.start()
    storing.join(timeout=60)  # not a speed figure: before, this retried the pair forever
    assert stored == [[True, True]]

    failed, fine = cluster.wait(first.id, timeout=20), cluster.wait(second.id, timeout=20)
    assert fine.state.current is StateType.SUCCESS and by_task(fine)["work"].outputs == {"x": "y"}
    assert failed.state.current is StateType.FAILED
    run = by_task(failed)["work"]
    assert len(run.attempts) == 1 and run.current is StateType.FAILED  # stored once, as FAILED
    assert any("could not be stored after 3 tries (RuntimeError: no text form)" in m
               for m in _messages(cluster, first.id))
    with cluster.db.reader.connect() as conn:  # both jobs gone: neither attempt runs again
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.queue_jobs)).scalar() == 0


BAD_EVENT_FLOW = f"""
id: gets_a_bad_event
namespace: c
tasks:
  - {{id: work, type: {LOG}, message: hi, workerGroup: {{key: nobody}}}}
finally:
  - {{id: bye, type: {LOG}, message: bye}}
"""


def _bad_event(cluster: InProcessCluster, monkeypatch: pytest.MonkeyPatch, kind: str,
               payload: Callable[[str], dict[str, Any]]) -> Execution:
    """Run BAD_EVENT_FLOW up to its task waiting for a worker, give it the event `payload(run id)`,
    check that an execution beside it still runs, and return it once ended."""
    from lanner.runtime import cluster_executor

    monkeypatch.setattr(cluster_executor, "REFUSED_DELAY", 0.02)  # the waits between tries, not what is tried
    cluster.start_executor()
    exe = cluster.wait(cluster.start(BAD_EVENT_FLOW).id, states=("RUNNING",), timeout=20)
    with cluster.db.transaction() as tx:
        events.put(tx, exe.id, kind, payload(by_task(exe)["work"].id))
    beside = cluster.run(f"id: beside_bad_event\nnamespace: c\ntasks: [{{id: t, type: {LOG}, message: ok}}]\n",
                         timeout=20)
    assert beside.state.current is StateType.SUCCESS
    ended = cluster.wait(exe.id, timeout=20)
    with cluster.db.reader.connect() as conn:  # its job cancelled, its events gone
        for table in (tables.queue_jobs, tables.queue_events):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(table.c.execution_id == exe.id)).scalar() == 0
    return ended


def test_an_event_that_cannot_be_applied_fails_its_task_run_after_a_few_tries(
        cluster: InProcessCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault is a stored event whose payload does not parse (a state no Lanner writes), as a
    hand-edited row or a bug would leave; before, it was put back every 5 s, forever."""
    failed = _bad_event(cluster, monkeypatch, Kind.RESULT,
                        lambda run_id: {"taskRunId": run_id, "attempt": 1, "state": "DONE-ISH"})
    assert failed.state.current is StateType.FAILED
    assert by_task(failed)["work"].current is StateType.FAILED
    assert _messages(cluster, failed.id, "bye") == ["bye"]  # its finally ran, once
    reason = _messages(cluster, failed.id, "work")
    assert reason and "could not apply this execution's events 4 times" in reason[0]
    assert "ValueError: 'DONE-ISH' is not a valid StateType" in reason[0]


def test_an_event_naming_no_task_run_that_cannot_be_applied_ends_its_execution(
        cluster: InProcessCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = _bad_event(cluster, monkeypatch, Kind.SLA_DUE, lambda _run_id: {"sla": "no id"})
    assert failed.state.current is StateType.FAILED
    assert by_task(failed)["work"].current is StateType.FAILED and "bye" not in by_task(failed)
    reason = _messages(cluster, failed.id, "work")
    assert reason and "could not apply this execution's events 4 times (KeyError: 'slaId')" in reason[0]
    assert "its finally tasks did not run" in reason[0]


def test_an_execution_is_not_given_up_while_no_other_execution_is_stored(
        cluster: InProcessCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """When nothing else is stored either, the fault may not be the execution's (a schema that
    does not match, a bug in every pass): it is tried again, not failed."""
    from lanner.runtime import cluster_executor

    monkeypatch.setattr(cluster_executor, "REFUSED_DELAY", 0.02)
    executor = cluster.start_executor()
    exe = cluster.wait(cluster.start(BAD_EVENT_FLOW).id, states=("RUNNING",), timeout=20)
    with cluster.db.transaction() as tx:
        events.put(tx, exe.id, Kind.SLA_DUE, {"sla": "no id"})
    deadline = time.monotonic() + 20
    while executor._refused.get(exe.id, (0, 0))[0] < cluster_executor.REFUSED_TRIES + 1:
        assert time.monotonic() < deadline, "the bad event was not tried again"
        time.sleep(0.01)
    waiting = cluster.client.get(exe.id)
    assert waiting is not None and waiting.state.current is StateType.RUNNING
    cluster.run(f"id: now_beside\nnamespace: c\ntasks: [{{id: t, type: {LOG}, message: ok}}]\n", timeout=20)
    assert cluster.wait(exe.id, timeout=20).state.current is StateType.FAILED  # others are stored: its own fault
