"""A flow's `concurrency.limit`: QUEUE waits for a slot, CANCEL and FAIL end the extra execution."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lanner.loading.flows import load_flow
from lanner.model.state import StateType
from lanner.runtime.local import LocalRuntime
from lanner.storage import db
from lanner.storage.files import LocalFiles
from lanner.storage.repository import Repository

FLOW = """
id: limited
namespace: company.team
concurrency:
  limit: 1
  behavior: {behavior}
tasks:
  - {{id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.3S}}
finally:
  - {{id: fin, type: io.kestra.plugin.core.log.Log, message: cleanup}}
"""


def run_three(tmp_path: Path, behavior: str) -> list:
    repo = Repository(db.connect(f"sqlite:///{tmp_path / 't.db'}"))
    runtime = LocalRuntime(repo, LocalFiles(tmp_path / "storage"))
    flow = load_flow(FLOW.format(behavior=behavior))
    runtime.serve()
    try:
        executions = [runtime.create(flow, {}) for _ in range(3)]
        for exe in executions:
            runtime.submit(flow, exe)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            stored = [repo.get(e.id) for e in executions]
            if all(s is not None and s.state.current.terminated for s in stored):
                return stored
            time.sleep(0.1)  # poll interval of a deadline-bounded wait on a positive signal
        raise AssertionError("the executions did not all end")
    finally:
        runtime.stop()
        runtime.close()


def test_queue_runs_one_at_a_time_and_every_execution_completes(tmp_path: Path) -> None:
    stored = run_three(tmp_path, "QUEUE")
    assert [s.state.current for s in stored] == [StateType.SUCCESS] * 3
    queued = [s for s in stored if StateType.QUEUED in [h.state for h in s.state.histories]]
    assert len(queued) == 2
    spans = sorted((s.task_runs[0].state.start_date, s.task_runs[0].state.end_date) for s in stored)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # never two naps at once


@pytest.mark.parametrize("behavior,state", [("CANCEL", StateType.CANCELLED), ("FAIL", StateType.FAILED)])
def test_cancel_and_fail_end_the_extra_executions_without_running_anything(
        tmp_path: Path, behavior: str, state: StateType) -> None:
    stored = run_three(tmp_path, behavior)
    assert stored[0].state.current is StateType.SUCCESS
    assert [s.state.current for s in stored[1:]] == [state, state]
    assert all(not s.task_runs for s in stored[1:])


def test_a_restart_stored_but_never_picked_up_is_continued_as_running(tmp_path: Path) -> None:
    """The process that stored a restart stopped before admitting it: `lanner execution continue`
    (`resume_stored`) moves it RESTARTED → RUNNING and runs the reopened task run once more."""
    from lanner.runtime.restart import plan_restart
    from lanner.storage.execution_queries import ExecutionQueries

    text = """
id: flaky
namespace: company.team
tasks:
  - {id: once, type: io.kestra.plugin.core.execution.Fail, condition: "{{ taskrun.attemptsCount == 0 }}"}
"""
    repo = Repository(db.connect(f"sqlite:///{tmp_path / 't.db'}"))
    flow = load_flow(text)
    first = LocalRuntime(repo, LocalFiles(tmp_path / "storage"))
    failed = first.run(flow, first.create(flow, {}))
    first.close()
    assert failed.state.current is StateType.FAILED
    restarted = plan_restart(flow, failed)
    ExecutionQueries(repo.engine).rewrite_task_runs(restarted)
    repo.save(restarted, (), header=True)
    later = LocalRuntime(repo, LocalFiles(tmp_path / "storage"))
    try:
        done = later.resume_stored(failed.id)
    finally:
        later.close()
    assert done.state.current is StateType.SUCCESS
    assert [h.state for h in done.state.histories][-4:] == [StateType.FAILED, StateType.RESTARTED,
                                                            StateType.RUNNING, StateType.SUCCESS]
    assert len(done.task_runs[0].attempts) == 2
