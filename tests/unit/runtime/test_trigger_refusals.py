"""Trigger keys Kestra acts on and Lanner's scheduler does not are refused when the flow is
validated, at their line, instead of being accepted and never acted on."""

from __future__ import annotations

import pytest

from lanner.loading.flows import load_flow
from lanner.runtime.triggers import validate as validate_triggers

HEAD = "id: f\nnamespace: company.team\ntasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _problems(trigger: str) -> list[str]:
    flow = load_flow(HEAD + "triggers:\n" + trigger, file="f.yaml")
    return [problem.render() for problem in validate_triggers(flow)]


@pytest.mark.parametrize(("trigger", "expected"), [
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.ExecutionStatus\n        in: [FAILED]\n",
     "f.yaml:9:5: triggers[0] (s): conditions[0]: condition `io.kestra.plugin.core.condition.ExecutionStatus` is "
     "not evaluated on this trigger by Lanner; it evaluates DayWeek"),
    ("  - id: w\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: abc\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.Weekend\n",
     "f.yaml:9:5: triggers[0] (w): conditions[0]: `Weekend` needs `date` here (this trigger has no `trigger.date`)"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.Or\n        conditions:\n"
     "          - type: io.kestra.plugin.core.condition.DayWeekInMonth\n            dayOfWeek: MONDAY\n"
     "            dayInMonth: FIFTH\n",
     "f.yaml:9:5: triggers[0] (s): conditions[0].conditions[0]: `dayInMonth` of `DayWeekInMonth`: use FIRST, SECOND"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.TimeBetween\n        after: '8h'\n",
     "f.yaml:9:5: triggers[0] (s): conditions[0]: `after` of `TimeBetween`: `8h` is not a time with an offset"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.PublicHoliday\n        country: FR\n        region: IDF\n",
     "f.yaml:9:5: triggers[0] (s): conditions[0]: unknown property `region` of `PublicHoliday`"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    backfill:\n"
     "      start: 2024-01-01T00:00:00Z\n      end: 2024-02-01T00:00:00Z\n",
     "f.yaml:9:5: triggers[0] (s): `backfill` of a Schedule takes only `start`, not `end`"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    backfill:\n"
     "      start: 2024-01-01\n",
     "f.yaml:9:5: triggers[0] (s): backfill `start`=`2024-01-01` has no UTC offset"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    backfill: {}\n",
     "f.yaml:9:5: triggers[0] (s): `backfill` needs a `start` date"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    lateMaximumDelay: PT1H\n",
     "f.yaml:9:5: triggers[0] (s): `lateMaximumDelay` is not applied by Lanner"),
    ("  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
     "      - type: io.kestra.plugin.core.condition.DayWeek\n        dayOfWeek: MONDAY\n",
     "f.yaml:8:5: triggers[0] (up): conditions[0]: condition `io.kestra.plugin.core.condition.DayWeek` is not "
     "evaluated on this trigger by Lanner; it evaluates ExecutionStatus, ExecutionFlow"),
    ("  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n    preconditions:\n      resetOnSuccess: false\n"
     "      flows:\n        - {namespace: company.team, flowId: a}\n",
     "f.yaml:8:5: triggers[0] (up): `preconditions.resetOnSuccess: false` is not supported by Lanner"),
    ("  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n    logLevel: DEBUG\n",
     "f.yaml:9:5: triggers[0] (s): a trigger's `logLevel` is not applied by Lanner"),
    ("  - id: w\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: abc\n    workerGroup:\n      key: gpu\n",
     "f.yaml:9:5: triggers[0] (w): a trigger's `workerGroup` is not applied by Lanner"),
])
def test_a_trigger_key_the_scheduler_would_not_act_on_is_refused_at_its_line(trigger: str, expected: str) -> None:
    [problem] = _problems(trigger)
    assert problem.startswith(expected)


def test_trigger_conditions_lanner_evaluates_and_a_plain_schedule_stay_accepted() -> None:
    assert _problems(
        "  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.ExecutionStatusCondition\n        in: [FAILED]\n"
        "      - type: io.kestra.plugin.core.condition.ExecutionNamespace\n        namespace: company\n"
        "        prefix: true\n"
        "  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
        "    recoverMissedSchedules: NONE\n"
        "  - id: days\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '0 11 * * *'\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Not\n        conditions:\n"
        "          - type: io.kestra.plugin.core.condition.Weekend\n"
        "      - type: io.kestra.plugin.core.condition.DayWeekInMonth\n        date: '{{ trigger.date }}'\n"
        "        dayOfWeek: '{{ \"MON\" ~ \"DAY\" }}'\n        dayInMonth: LAST\n"
        "  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: abc\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Expression\n        expression: '{{ trigger.body.ok }}'\n"
        "  - id: not_mine\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Not\n        conditions:\n"
        "          - type: io.kestra.plugin.core.condition.ExecutionNamespace\n            namespace: company\n"
        "            comparison: PREFIX\n"
        "  - id: b\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
        "    backfill: {start: 2024-01-01T00:00:00Z}\n") == []
