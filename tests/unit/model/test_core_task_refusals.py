"""Properties of Kestra's core tasks that Lanner does not carry out are refused at their line.

Kestra accepts each of them; Lanner would otherwise accept and ignore them (the audit in
`tests/unit/test_core_properties_read_or_refused.py` keeps it so). Each message names the
property, says what Lanner does instead, and what to write.
"""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow


def _flow(task: str) -> str:
    return f"id: f\nnamespace: company.team\ntasks:\n  - id: t\n{task}"


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationErrors) as info:
        load_flow(text, file="f.yaml")
    return [e.render() for e in info.value.errors]


SUBFLOW = "    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.team\n    flowId: child\n"
PAUSE = "    type: io.kestra.plugin.core.flow.Pause\n"
KILL = "    type: io.kestra.plugin.core.execution.Kill\n"
WORKDIR = ("    type: io.kestra.plugin.core.flow.WorkingDirectory\n"
           "    tasks:\n      - {id: l, type: io.kestra.plugin.core.log.Log, message: x}\n")


@pytest.mark.parametrize("task,line,expected", [
    (SUBFLOW + "    scheduleDate: \"{{ now() | dateAdd(1, 'HOURS') }}\"\n", 8,
     "`scheduleDate`: is not supported by Lanner: it has no scheduled start for an execution"),
    (SUBFLOW + "    restartBehavior: NEW_EXECUTION\n", 8, "`restartBehavior`: is not supported by Lanner"),
    (KILL + "    propagateKill: false\n", 6, "`propagateKill`: `false` is not supported by Lanner"),
    (KILL + "    executionId: \"{{ inputs.other }}\"\n", 6,
     "`executionId`: is not supported by Lanner: the Kill task kills its own execution"),
    ("    type: io.kestra.plugin.core.flow.ForEach\n    values: [a]\n    childFailurePolicy: STOP\n"
     "    tasks:\n      - {id: l, type: io.kestra.plugin.core.log.Log, message: x}\n", 7,
     "`childFailurePolicy`: is a name from Kestra's development that its releases do not have (got `STOP`)"),
    ("    type: io.kestra.plugin.core.flow.ForEach\n    values: [a]\n    failFast: false\n"
     "    tasks:\n      - {id: l, type: io.kestra.plugin.core.log.Log, message: x}\n", 7,
     "`failFast`: is a name from Kestra's development that its releases do not have: pull request #15366"),
])
def test_a_kestra_property_lanner_does_not_carry_out_is_refused_at_its_line(task: str, line: int,
                                                                          expected: str) -> None:
    [problem] = _problems(_flow(task))
    assert problem.startswith(f"f.yaml:{line}:5: tasks[0] (t): {expected}"), problem
    assert "remove it" in problem


def test_kill_propagating_to_children_is_what_lanner_does_so_true_is_accepted() -> None:
    assert load_flow(_flow(KILL + "    propagateKill: true\n")).tasks[0].id == "t"
    assert load_flow(_flow(KILL)).tasks[0].id == "t"


def test_approval_custom_decision_names_are_refused_at_their_line() -> None:
    problems = _problems(_flow("    type: io.kestra.plugin.core.flow.Approval\n"
                               "    decisions: {approve: Continue, deny: Stop}\n"))
    assert len(problems) == 1
    assert problems[0].startswith("f.yaml:6:5: tasks[0] (t): `decisions`: is not supported by Lanner"), problems[0]
    assert "remove it" in problems[0]


def test_when_and_run_if_together_are_refused_as_one_condition_under_two_names() -> None:
    [problem] = _problems(_flow("    type: io.kestra.plugin.core.log.Log\n    message: x\n"
                                "    runIf: \"true\"\n    when: \"false\"\n"))
    assert problem.startswith("f.yaml:4:"), problem
    assert "`when` and `runIf` are the same condition under two names; keep one of them" in problem
