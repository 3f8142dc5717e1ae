"""Which earlier attempts' notes a new attempt may adopt: only those cut off, never a retried failure.

Driven through the real executor (its cut-off and retry paths), since the rule reads the task
run's states as the executor writes them.
"""

from __future__ import annotations

from lanner.model.execution import TaskRun
from lanner.model.results import WorkerResult
from lanner.model.state import StateType
from lanner.worker.attempt_notes import cut_off_predecessors
from tests.unit.engine.driver import Driver

FLOW = """
id: notes
namespace: lanner.test
tasks:
  - id: work
    type: io.kestra.plugin.core.log.Log
    message: hi
    retry:
      type: constant
      interval: PT1S
      maxAttempts: 5
"""


def dispatched(driver: Driver) -> TaskRun:
    (run,) = driver.pending
    return run


def fail_and_retry(driver: Driver) -> TaskRun:
    run = driver.pending.pop(0)
    driver._take(driver.executor.on_result(WorkerResult(driver.exe.id, run.id, len(run.attempts),
                                                        StateType.FAILED)))
    driver._take(driver.executor.on_retry_due(driver.retries.pop(0)))
    return dispatched(driver)


def lose_worker(driver: Driver) -> TaskRun:
    run = driver.pending.pop(0)
    driver._take(driver.executor.on_worker_lost(run.id, len(run.attempts)))
    return dispatched(driver)


def test_a_first_attempt_has_nothing_to_adopt() -> None:
    assert cut_off_predecessors(dispatched(Driver(FLOW).start())) == ()


def test_attempts_cut_off_in_a_row_may_all_be_adopted() -> None:
    driver = Driver(FLOW).start()
    lose_worker(driver)
    assert cut_off_predecessors(lose_worker(driver)) == (1, 2)


def test_a_retry_after_a_stored_failure_adopts_nothing() -> None:
    assert cut_off_predecessors(fail_and_retry(Driver(FLOW).start())) == ()


def test_only_the_attempts_cut_off_since_the_last_retry_may_be_adopted() -> None:
    driver = Driver(FLOW).start()
    fail_and_retry(driver)
    assert cut_off_predecessors(lose_worker(driver)) == (2,)
