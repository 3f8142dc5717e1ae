"""Kestra's Schedule and Webhook trigger conditions hold or not as Kestra's condition classes say,
for the date a schedule fires at (in its own time zone) or the values a webhook call carries."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.model.listener import holds as listener_holds
from lanner.runtime import schedule
from lanner.runtime.trigger_conditions import ConditionError, all_hold, holds
from lanner.runtime.triggers import ScheduleSpec

C = "io.kestra.plugin.core.condition."
MONDAY_PARIS = {"date": "2025-01-06T11:00:00+01:00"}  # Monday 6 January 2025, the first Monday


@pytest.mark.parametrize(("condition", "expected"), [
    ({"type": C + "DayWeek", "dayOfWeek": "MONDAY"}, True),
    ({"type": C + "DayWeek", "dayOfWeek": "tuesday"}, False),
    ({"type": C + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "FIRST"}, True),
    ({"type": C + "DayWeekInMonth", "dayOfWeek": "MONDAY", "dayInMonth": "LAST"}, False),
    ({"type": C + "Weekend"}, False),
    ({"type": C + "Weekend", "date": "2025-01-04T10:00:00Z"}, True),
    ({"type": C + "PublicHoliday", "country": "FR"}, False),
    ({"type": C + "PublicHoliday", "country": "FR", "date": "2025-07-14T09:00:00+02:00"}, True),
    ({"type": "io.kestra.core.models.conditions.types.DayWeekCondition", "dayOfWeek": "MONDAY"}, True),
    ({"type": C + "Expression", "expression": "{{ trigger.date | date('yyyy') == '2025' }}"}, True),
])
def test_a_date_condition_reads_the_trigger_date_by_default(condition: dict[str, str], expected: bool) -> None:
    assert holds(condition, MONDAY_PARIS) is expected


def test_date_time_between_includes_its_bounds_and_one_bound_is_enough() -> None:
    at = {"date": "2025-01-01T00:00:00Z"}
    assert holds({"type": C + "DateTimeBetween", "after": "2025-01-01T00:00:00Z"}, at)
    assert holds({"type": C + "DateTimeBetween", "before": "2025-01-01T01:00:00+01:00"}, at)  # the same instant
    assert not holds({"type": C + "DateTimeBetween", "after": "2025-01-01T00:00:01Z"}, at)
    # the blueprint that names its bounds the wrong way round never fires, as in Kestra
    assert not holds({"type": C + "DateTimeBetween", "before": "2025-01-01T00:00:00Z",
                      "after": "2025-12-31T23:59:59Z"}, {"date": "2025-06-01T11:00:00Z"})


def test_time_between_excludes_its_bounds_and_compares_instants_across_offsets() -> None:
    window = {"type": C + "TimeBetween", "after": "08:00:00+02:00", "before": "17:00:00+02:00"}
    assert holds(window, {"date": "2025-01-06T11:00:00+01:00"})  # 12:00 at +02:00
    assert not holds(window, {"date": "2025-01-06T06:00:00Z"})  # exactly 08:00+02:00: excluded
    assert not holds(window, {"date": "2025-01-06T19:30:00+02:00"})
    assert holds({"type": C + "TimeBetween", "after": "08:00:00Z"}, {"date": "2025-01-06T08:00:01Z"})


def test_not_holds_when_none_of_its_conditions_does_and_or_when_one_does() -> None:
    weekend, monday = {"type": C + "Weekend"}, {"type": C + "DayWeek", "dayOfWeek": "MONDAY"}
    assert holds({"type": C + "Not", "conditions": [weekend]}, MONDAY_PARIS)
    assert not holds({"type": C + "Not", "conditions": [weekend, monday]}, MONDAY_PARIS)
    assert holds({"type": C + "Or", "conditions": [weekend, monday]}, MONDAY_PARIS)
    assert not all_hold([monday, weekend], MONDAY_PARIS)


def test_a_condition_that_cannot_be_evaluated_says_why() -> None:
    with pytest.raises(ConditionError, match="not a day of the week"):
        holds({"type": C + "DayWeek", "dayOfWeek": "{{ 'someday' }}"}, MONDAY_PARIS)
    with pytest.raises(ConditionError, match="DayWeek"):
        holds({"type": C + "DayWeek", "dayOfWeek": "MONDAY", "date": "not a date"}, MONDAY_PARIS)
    with pytest.raises(ConditionError, match="not a time with an offset"):
        holds({"type": C + "TimeBetween", "after": "{{ '8h' }}"}, MONDAY_PARIS)


def test_a_schedule_condition_sees_the_date_in_the_schedule_time_zone() -> None:
    spec = ScheduleSpec(id="s", type="io.kestra.plugin.core.trigger.Schedule", cron="30 0 * * *",
                        timezone="Europe/Paris")
    fire = dt.datetime(2025, 1, 5, 23, 30, tzinfo=dt.UTC)  # Sunday in UTC, Monday 00:30 in Paris
    variables = schedule.condition_variables(spec, fire)
    assert variables["date"] == "2025-01-06T00:30:00+01:00"
    assert holds({"type": C + "DayWeek", "dayOfWeek": "MONDAY"}, variables)
    assert schedule.variables(spec, fire)["date"].startswith("2025-01-05T23:30")  # the execution's own is UTC


def test_flow_trigger_not_and_or_wrap_execution_conditions() -> None:
    analytics = {"type": C + "ExecutionNamespace", "namespace": "company.analytics", "comparison": "PREFIX"}

    def check(cond: dict[str, object], namespace: str) -> bool:
        return listener_holds(cond, "SUCCESS", namespace, "f", {}, lambda _: False)

    assert check({"type": C + "Not", "conditions": [analytics]}, "company.team")
    assert not check({"type": C + "Not", "conditions": [analytics]}, "company.analytics.daily")
    assert check({"type": C + "Or", "conditions": [analytics, {"type": C + "ExecutionStatus", "in": ["SUCCESS"]}]},
                 "company.team")
