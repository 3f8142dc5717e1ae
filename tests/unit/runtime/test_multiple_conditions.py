"""MultipleCondition in a Flow trigger: marks per condition, kept within the window its `sla` says."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from lanner.model.flow import Trigger
from lanner.runtime import flow_trigger, triggers
from lanner.runtime.flow_trigger import Ended
from lanner.runtime.multiple_conditions import MultipleCondition, Window

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def flow_spec(**multiple: object) -> triggers.FlowSpec:
    cond = {"id": "multiple", "type": "io.kestra.plugin.core.condition.MultipleCondition",
            "conditions": {
                "flow-a": {"type": "io.kestra.plugin.core.condition.ExecutionFlowCondition",
                           "namespace": "company.a", "flowId": "a"},
                "flow-b": {"type": "io.kestra.plugin.core.condition.ExecutionFlowCondition",
                           "namespace": "company.a", "flowId": "b"}},
            **multiple}
    parsed = triggers.parse(Trigger.model_validate({
        "id": "t", "type": triggers.FLOW,
        "conditions": [{"type": "io.kestra.plugin.core.condition.ExecutionStatusCondition", "in": ["SUCCESS"]},
                       cond]}))
    assert isinstance(parsed, triggers.FlowSpec)
    return parsed


def ended(flow: str, state: str = "SUCCESS") -> Ended:
    return Ended(f"E-{flow}", "company.a", flow, 1, state, {}, {}, None)


def feed(spec: triggers.FlowSpec, *events: tuple[str, dt.datetime]) -> list[bool]:
    """Each execution that counts for the trigger, in order: did it fire?"""
    state: dict = {}
    fired = []
    for flow, at in events:
        e = ended(flow)
        if not flow_trigger.matches(spec, "company.x", "waiter", e):
            fired.append(False)
            continue
        fire, state = flow_trigger.advance_multiple(spec, state, e, at)
        fired.append(fire)
    return fired


def test_it_fires_when_every_condition_was_met_then_starts_over() -> None:
    spec = flow_spec()
    hour = dt.timedelta(hours=1)
    assert feed(spec, ("a", T0), ("a", T0 + hour), ("b", T0 + 2 * hour), ("b", T0 + 3 * hour), ("a", T0 + 4 * hour)) \
        == [False, False, True, False, True]


def test_the_other_conditions_of_the_trigger_still_filter_the_executions() -> None:
    spec = flow_spec()
    state: dict = {}
    failed = ended("b", "FAILED")
    assert not flow_trigger.matches(spec, "company.x", "waiter", failed)  # ExecutionStatus in [SUCCESS]
    assert flow_trigger.matches(spec, "company.x", "waiter", ended("b"))
    fire, state = flow_trigger.advance_multiple(spec, state, ended("c"), T0)  # meets none of the conditions
    assert not fire and state["multiple"]["marks"] == {}


def test_a_duration_window_starts_at_midnight_plus_the_advance_and_drops_older_marks() -> None:
    spec = flow_spec(sla={"window": "PT6H", "windowAdvance": "PT6H"})
    # windows 06-12, 12-18: `a` at 11:00 and `b` at 12:30 are in different windows
    assert feed(spec, ("a", T0.replace(hour=11)), ("b", T0.replace(hour=12, minute=30))) == [False, False]
    assert feed(spec, ("a", T0.replace(hour=6)), ("b", T0.replace(hour=11, minute=59))) == [False, True]
    assert Window(windowAdvance="PT6H").current(T0.replace(hour=3)) == (  # a day from 06:00
        T0.replace(day=1, hour=6), T0.replace(hour=6))


def test_a_sliding_window_keeps_each_mark_for_the_window_after_it_was_made() -> None:
    spec = flow_spec(sla={"type": "SLIDING_WINDOW", "window": "PT1H"})
    assert feed(spec, ("a", T0), ("b", T0 + dt.timedelta(minutes=59))) == [False, True]
    assert feed(spec, ("a", T0), ("b", T0 + dt.timedelta(minutes=61))) == [False, False]


def test_daily_windows_count_only_marks_made_inside_their_hours() -> None:
    deadline = flow_spec(sla={"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00"})
    assert feed(deadline, ("a", T0.replace(hour=8)), ("b", T0.replace(hour=8, minute=30))) == [False, True]
    assert feed(deadline, ("a", T0.replace(hour=8)), ("b", T0.replace(hour=9, minute=30))) == [False, False]
    daily = flow_spec(sla={"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"})
    assert feed(daily, ("a", T0.replace(hour=5)), ("b", T0.replace(hour=7)), ("a", T0.replace(hour=8))) == \
        [False, False, True]


def test_without_reset_on_success_each_later_match_fires_again_in_the_window() -> None:
    spec = flow_spec(resetOnSuccess=False)
    hour = dt.timedelta(hours=1)
    assert feed(spec, ("a", T0), ("b", T0 + hour), ("b", T0 + 2 * hour)) == [False, True, True]


def test_the_older_spellings_of_the_window_are_read() -> None:
    base = {"id": "m", "type": "MultipleCondition",
            "conditions": {"x": {"type": "ExecutionFlowCondition", "namespace": "n", "flowId": "f"}}}
    assert MultipleCondition.model_validate({**base, "timeSLA": {"window": "PT2H"}}).sla.window == "PT2H"
    old = MultipleCondition.model_validate({**base, "window": "PT3H", "windowAdvance": "PT1H"})
    assert (old.sla.window, old.sla.windowAdvance) == ("PT3H", "PT1H")


@pytest.mark.parametrize("sla,message", [
    ({"type": "DAILY_TIME_DEADLINE"}, "needs `deadline`"),
    ({"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00"}, "needs `startTime` and `endTime`"),
    ({"window": "PT0S"}, "must be a positive duration"),
])
def test_a_window_that_cannot_be_computed_is_refused(sla: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Window.model_validate(sla)


def test_an_unevaluated_condition_inside_is_refused_at_validation_with_its_line() -> None:
    from lanner.loading.flows import load_flow

    flow = load_flow("""id: waiter
namespace: company.x
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}
triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - id: multiple
        type: io.kestra.plugin.core.condition.MultipleCondition
        conditions:
          weekday: {type: io.kestra.plugin.core.condition.DayWeekCondition, dayOfWeek: MONDAY}
""")
    problems = triggers.validate(flow)
    assert len(problems) == 1 and problems[0].where.line == 8
    assert "MultipleCondition `multiple`: conditions: condition `weekday`" in problems[0].message
    assert "is not evaluated by Lanner" in problems[0].message
