"""The scheduler's rules as pure functions: cron catch-up policy, time zones, Flow-trigger matching,
restart planning. No server needed; these pin the decisions the server tests exercise end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.errors import LannerError
from lanner.loading.flows import load_flow
from lanner.model.flow import Trigger
from lanner.model.state import StateType
from lanner.runtime import flow_trigger, schedule, triggers
from lanner.runtime.flow_trigger import Ended
from lanner.runtime.launch import trigger_execution_id
from lanner.runtime.restart import plan_restart
from tests.conftest import run_flow

UTC = dt.UTC


def spec(**keys: object) -> triggers.ScheduleSpec:
    parsed = triggers.parse(Trigger.model_validate({"id": "s", "type": triggers.SCHEDULE, **keys}))
    assert isinstance(parsed, triggers.ScheduleSpec)
    return parsed


@pytest.mark.parametrize(("policy", "fired", "skipped"), [("ALL", 5, 0), ("LAST", 2, 3), ("NONE", 1, 4)])
def test_missed_schedules_follow_the_policy(policy: str, fired: int, skipped: int) -> None:
    hourly = spec(cron="0 * * * *", recoverMissedSchedules=policy)
    due_since = dt.datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    at = dt.datetime(2024, 1, 1, 4, 0, 30, tzinfo=UTC)  # down from 00:00 to 04:00:30
    plan = schedule.due(hourly, due_since, at)
    assert len(plan.fire) == fired and plan.skipped == skipped
    assert plan.fire[-1] == dt.datetime(2024, 1, 1, 4, 0, tzinfo=UTC)  # the on-time one always fires
    assert plan.next_date == dt.datetime(2024, 1, 1, 5, 0, tzinfo=UTC)


def test_cron_in_a_time_zone_across_daylight_saving() -> None:
    nine = spec(cron="0 9 * * *", timezone="Europe/Paris")
    before = schedule.next_after(nine, dt.datetime(2024, 3, 30, 12, 0, tzinfo=UTC))
    after = schedule.next_after(nine, before)
    assert before == dt.datetime(2024, 3, 31, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert after == dt.datetime(2024, 4, 1, 7, 0, tzinfo=UTC)
    assert schedule.variables(nine, before)["previous"] == "2024-03-30T08:00:00Z"  # 09:00 CET


def test_cron_checks_and_seconds_first_when_with_seconds() -> None:
    assert schedule.check_cron(spec(cron="*/5 * * * *")) is None
    assert schedule.check_cron(spec(cron="@daily")) is None
    assert "6 fields" in schedule.check_cron(spec(cron="* * * * * *"))  # type: ignore[operator]
    assert "not a valid" in schedule.check_cron(spec(cron="61 * * * *"))  # type: ignore[operator]
    every_ten = spec(cron="*/10 * * * * *", withSeconds=True)
    assert schedule.next_after(every_ten, dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)).second == 10


def _ended(state: str = "SUCCESS", ns: str = "company.a", flow: str = "up") -> Ended:
    return Ended("E1", ns, flow, 1, state, {"team": "data"}, {}, None)


def test_flow_trigger_conditions_and_states() -> None:
    def make(**keys: object) -> triggers.FlowSpec:
        parsed = triggers.parse(Trigger.model_validate({"id": "f", "type": triggers.FLOW, **keys}))
        assert isinstance(parsed, triggers.FlowSpec)
        return parsed

    any_end = make()
    assert flow_trigger.matches(any_end, "company.b", "down", _ended())
    assert not flow_trigger.matches(any_end, "company.b", "down", _ended("RUNNING"))
    assert not flow_trigger.matches(any_end, "company.a", "up", _ended())  # never itself
    only_failed = make(conditions=[{"type": "io.kestra.plugin.core.condition.ExecutionStatusCondition",
                                    "in": ["FAILED"]}])
    assert not flow_trigger.matches(only_failed, "x", "y", _ended())
    assert flow_trigger.matches(only_failed, "x", "y", _ended("FAILED"))
    prefix = make(conditions=[{"type": "io.kestra.plugin.core.condition.ExecutionNamespace",
                               "namespace": "company", "comparison": "PREFIX"},
                              {"type": "io.kestra.plugin.core.condition.ExecutionLabels", "labels": {"team": "data"}}])
    assert flow_trigger.matches(prefix, "x", "y", _ended())
    unknown = make(conditions=[{"type": "io.kestra.plugin.core.condition.Weekend"}])
    assert not flow_trigger.matches(unknown, "x", "y", _ended())  # unknown conditions never hold


def test_preconditions_expire_outside_their_window() -> None:
    pre = triggers.parse(Trigger.model_validate({
        "id": "f", "type": triggers.FLOW, "preconditions": {
            "id": "p", "timeWindow": {"window": "PT1H"},
            "flows": [{"namespace": "company.a", "flowId": "up"}, {"namespace": "company.a", "flowId": "other"}]}}))
    assert isinstance(pre, triggers.FlowSpec)
    t0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
    fire, state = flow_trigger.advance_preconditions(pre, {}, _ended(), t0)
    assert not fire
    fire, state = flow_trigger.advance_preconditions(pre, state, _ended(flow="other"), t0 + dt.timedelta(hours=2))
    assert not fire  # the first one expired
    fire, state = flow_trigger.advance_preconditions(pre, state, _ended(), t0 + dt.timedelta(hours=2, minutes=5))
    assert fire and state == {"seen": {}}


def test_trigger_validation_is_located() -> None:
    flow = load_flow("""id: f
namespace: company.a
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}
triggers:
  - id: s
    type: io.kestra.plugin.core.trigger.Schedule
    crn: "* * * * *"
  - id: w
    type: io.kestra.plugin.core.trigger.Webhook
    key: abc
""")
    problems = triggers.validate(flow)
    assert {p.where.line for p in problems} >= {6, 8}
    assert any("unknown property `crn`" in p.message for p in problems)
    assert any("missing required property `cron`" in p.message for p in problems)


def test_trigger_execution_ids_are_stable_and_distinct() -> None:
    a = trigger_execution_id("ns", "f", "t", "2024-01-01T00:00:00Z")
    assert a == trigger_execution_id("ns", "f", "t", "2024-01-01T00:00:00Z") and len(a) == 22
    assert a != trigger_execution_id("ns", "f", "t", "2024-01-01T00:01:00Z")


def test_restart_plan_keeps_successes_and_drops_cleanup(tmp_path) -> None:
    text = """id: f
namespace: company.a
tasks:
  - {id: ok, type: io.kestra.plugin.core.log.Log, message: x}
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {id: bad, type: io.kestra.plugin.core.execution.Fail}
    finally:
      - {id: inner_clean, type: io.kestra.plugin.core.log.Log, message: x}
finally:
  - {id: clean, type: io.kestra.plugin.core.log.Log, message: x}
"""
    exe = run_flow(text, tmp_path)
    assert exe.state.current is StateType.FAILED
    planned = plan_restart(load_flow(text), exe)
    states = {r.task_id: r.current for r in planned.task_runs}
    assert states == {"ok": StateType.SUCCESS, "seq": StateType.RUNNING, "bad": StateType.CREATED}
    assert planned.state.current is StateType.RESTARTED  # RUNNING once its flow's concurrency limit admits it
    with pytest.raises(LannerError, match="only a FAILED or KILLED"):
        plan_restart(load_flow(text), run_flow(text.replace("io.kestra.plugin.core.execution.Fail",
                                                            "io.kestra.plugin.core.log.Log, message: y"),
                                               tmp_path / "ok"))
