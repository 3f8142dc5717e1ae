"""Flow `sla`: MAX_DURATION through a timer, EXECUTION_ASSERTION as the flow ends (Kestra's SLAs)."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.engine.executor import Executor
from lanner.model.state import StateType
from lanner.runtime.host import HOST
from tests.unit.engine.driver import Driver
from tests.unit.engine.test_crash_replay import reload
from tests.unit.engine.test_surroundings import Fixed

LOG = "io.kestra.plugin.core.log.Log"
SLEEP = "io.kestra.plugin.core.flow.Sleep"


def max_duration(behavior: str, labels: str = "") -> str:
    return f"""
id: f
namespace: company.team
sla:
  - {{id: too_long, type: MAX_DURATION, duration: PT1H, behavior: {behavior}{labels}}}
tasks:
  - {{id: slow, type: {SLEEP}, duration: PT2H}}
  - {{id: next, type: {LOG}, message: never}}
errors:
  - {{id: on_error, type: {LOG}, message: skipped}}
finally:
  - {{id: cleanup, type: {LOG}, message: always}}
"""


def test_max_duration_arms_one_timer_due_its_duration_after_the_execution_was_created() -> None:
    d = Driver(max_duration("FAIL"), surroundings=Fixed())
    d.start()
    [(sla_id, due)] = d.effects[0].slas
    assert sla_id == "too_long" and due == d.exe.state.start_date + dt.timedelta(hours=1)


@pytest.mark.parametrize("behavior,state", [("FAIL", StateType.FAILED), ("CANCEL", StateType.CANCELLED)])
def test_a_violated_max_duration_ends_the_execution_like_an_exit_and_finally_still_runs(
        behavior: str, state: StateType) -> None:
    d = Driver(max_duration(behavior, ", labels: {sla: missed}"))
    d.start()
    d._take(d.executor.on_sla_due("too_long"))
    exe = d.run()
    assert exe.state.current is state
    assert d.states() == {"slow": "KILLED", "cleanup": "SUCCESS"}  # errors skipped, `next` never starts
    assert exe.labels == {"sla": "missed"}
    [warning] = [m for m in d.logs("WARN") if m.startswith("SLA")]
    assert warning.startswith("SLA 'too_long' violated: execution duration of PT")
    assert warning.endswith("exceeds the maximum duration of PT1H")


def test_a_max_duration_with_behavior_none_only_logs_and_labels() -> None:
    d = Driver(max_duration("NONE", ", labels: [{key: sla, value: missed}]"))
    d.start()
    d._take(d.executor.on_sla_due("too_long"))
    exe = d.run()
    assert exe.state.current is StateType.SUCCESS and d.order == ["slow", "next", "cleanup"]
    assert exe.labels == {"sla": "missed"}


def test_a_max_duration_timer_firing_after_the_end_changes_nothing() -> None:
    d = Driver(max_duration("FAIL"))
    exe = d.run()
    fx = d.executor.on_sla_due("too_long")
    assert exe.state.current is StateType.SUCCESS and not fx.logs and not fx.execution_changed


def test_a_taken_over_execution_arms_its_max_duration_timer_again_from_the_original_start() -> None:
    d = Driver(max_duration("FAIL"))
    d.start()
    fresh = Executor(d.flow, reload(d.exe), surroundings=HOST)
    fx = fresh.start()
    assert fx.slas == d.effects[0].slas  # same due time: the duration counts from the first start
    fresh.on_sla_due("too_long")
    assert fresh.exe.exit_state is StateType.FAILED


def assertion_flow(assertion: str, behavior: str, main_state: str = "") -> str:
    return f"""
id: f
namespace: company.team
sla:
  - id: checked
    type: EXECUTION_ASSERTION
    behavior: {behavior}
    assert: "{assertion}"
    labels: {{sla: violated}}
tasks:
  - {{id: count, type: io.kestra.plugin.core.output.OutputValues, values: {{n: 3}}}}
afterExecution:
  - {{id: end, type: {LOG}, message: "{{{{ execution.state }}}}"}}
"""


@pytest.mark.parametrize("behavior,state", [("FAIL", StateType.FAILED), ("CANCEL", StateType.CANCELLED),
                                            ("NONE", StateType.SUCCESS)])
def test_a_false_assertion_decides_the_final_state_by_its_behavior_and_adds_its_labels(
        behavior: str, state: StateType) -> None:
    seen: list[str] = []
    d = Driver(assertion_flow("{{ false }}", behavior))
    d.outcomes["end"] = lambda run: seen.append(d.exe.state.current.value) or StateType.SUCCESS
    exe = d.run()
    assert exe.state.current is state and exe.labels == {"sla": "violated"}
    assert seen == [state.value]  # afterExecution sees the state the SLA decided
    assert "SLA 'checked' violated: assertion is false: {{ false }}" in d.logs("WARN")


def test_a_true_assertion_changes_nothing() -> None:
    d = Driver(assertion_flow("{{ flow.id == 'f' }}", "FAIL"))
    exe = d.run()
    assert exe.state.current is StateType.SUCCESS and exe.labels == {}
    assert not [m for m in d.logs("WARN") if m.startswith("SLA")]


def test_an_assertion_that_cannot_be_evaluated_is_ignored_saying_why() -> None:
    d = Driver(assertion_flow("{{ outputs.nothing.value }}", "FAIL"))
    exe = d.run()
    assert exe.state.current is StateType.SUCCESS
    assert any(m.startswith("Ignoring SLA 'checked' because of the error:") for m in d.logs("ERROR"))


def test_a_restarted_execution_gets_its_full_max_duration_again_and_reruns_its_listeners() -> None:
    from lanner.runtime.restart import admitted, plan_restart

    text = max_duration("FAIL") + f"""listeners:
  - tasks:
      - {{id: heard, type: {LOG}, message: ended}}
"""
    d = Driver(text, {"slow": StateType.FAILED})
    failed = d.run()
    assert failed.state.current is StateType.FAILED and d.order == ["slow", "on_error", "cleanup", "heard"]
    again = Executor(d.flow, plan_restart(d.flow, reload(failed)), surroundings=HOST)
    fx = admitted(again)
    restarted_at = [h.date for h in again.exe.state.histories if h.state is StateType.RESTARTED][-1]
    assert fx.slas == [("too_long", restarted_at + dt.timedelta(hours=1))]
    assert [r.task_id for r in again.exe.task_runs] == ["slow"]  # the listener's run is gone: it runs again
