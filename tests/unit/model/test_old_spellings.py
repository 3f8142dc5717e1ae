"""Older Kestra spellings whose meaning is unchanged are read as today's names.

Kestra's own test flows, in the versions the index holds, still use them: a retry `behavior` of
`RETRY_FAILED` (its first name, before the release called it `RETRY_FAILED_TASK`) and ForEach's
`concurrency` (before `concurrencyLimit`). A user's flow written then means the same today.
"""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow

FAIL = "  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n"


@pytest.mark.parametrize("old,new", [("RETRY_FAILED", "RETRY_FAILED_TASK"),
                                     ("NEW_EXECUTION", "CREATE_NEW_EXECUTION")])
def test_old_retry_behavior_names_mean_todays(old: str, new: str) -> None:
    retry = f"retry:\n  behavior: {old}\n  type: constant\n  maxAttempt: 2\n  interval: PT1S\n"
    flow = load_flow(f"id: f\nnamespace: company.team\n{retry}tasks:\n{FAIL}", file="f.yaml")
    assert flow.retry is not None and flow.retry.behavior == new
    task_retry = f"    retry:\n      behavior: {old}\n      type: constant\n      maxAttempt: 2\n      interval: PT1S\n"
    flow = load_flow(f"id: f\nnamespace: company.team\ntasks:\n{FAIL}{task_retry}", file="f.yaml")
    assert flow.tasks[0].retry is not None and flow.tasks[0].retry.behavior == new


def test_an_unknown_retry_behavior_is_still_refused() -> None:
    text = ("id: f\nnamespace: company.team\ntasks:\n" + FAIL +
            "    retry:\n      behavior: RETRY_SOMETIMES\n      type: constant\n      maxAttempt: 2\n"
            "      interval: PT1S\n")
    with pytest.raises(ValidationErrors) as info:
        load_flow(text, file="f.yaml")
    assert "RETRY_SOMETIMES" in info.value.errors[0].render()


EACH = ("id: f\nnamespace: company.team\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
        "    values: [a, b, c]\n{limits}    tasks:\n"
        "      - {{id: l, type: io.kestra.plugin.core.log.Log, message: x}}\n")


def test_for_each_concurrency_is_the_old_name_of_concurrency_limit() -> None:
    flow = load_flow(EACH.format(limits="    concurrency: 2\n"), file="f.yaml")
    assert flow.tasks[0].concurrencyLimit == 2
    assert load_flow(EACH.format(limits=""), file="f.yaml").tasks[0].concurrencyLimit == 1


def test_for_each_refuses_both_names_at_once() -> None:
    with pytest.raises(ValidationErrors) as info:
        load_flow(EACH.format(limits="    concurrency: 2\n    concurrencyLimit: 3\n"), file="f.yaml")
    message = info.value.errors[0].render()
    assert "f.yaml:4" in message and "give only `concurrencyLimit`" in message
