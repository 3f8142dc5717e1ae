"""A Flow trigger's `dependsOn` (Kestra's newest spelling of `preconditions`) starts the flow as
its preconditions would: once every listed upstream flow has ended in one of its states."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.loading.flows import load_flow
from lanner.model.flow import Trigger
from lanner.runtime import flow_trigger, triggers
from lanner.runtime.flow_trigger import Ended
from lanner.runtime.triggers import validate as validate_triggers

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _spec(**keys: object) -> triggers.FlowSpec:
    parsed = triggers.parse(Trigger.model_validate({"id": "up", "type": triggers.FLOW, **keys}))
    assert isinstance(parsed, triggers.FlowSpec)
    return parsed


def _ended(flow: str = "a", state: str = "SUCCESS", labels: dict[str, str] | None = None) -> Ended:
    return Ended(id=f"e-{flow}-{state}", namespace="company.team", flow_id=flow, flow_revision=1, state=state,
                 labels=labels or {}, outputs={}, trigger=None)


def test_the_trigger_starts_once_every_dependency_has_ended_in_its_states() -> None:
    spec = _spec(dependsOn=[{"namespace": "company.team", "flowId": "a", "states": ["SUCCESS"]},
                            {"namespace": "company.team", "flowId": "b", "labels": {"type": "etl"}}])
    assert not flow_trigger.matches(spec, "company.team", "down", _ended("a", "FAILED"))
    assert flow_trigger.matches(spec, "company.team", "down", _ended("a"))
    fire, state = flow_trigger.advance_preconditions(spec, {}, _ended("a"), AT)
    assert not fire
    assert not flow_trigger.matches(spec, "company.team", "down", _ended("b"))  # its label is missing
    fire, state = flow_trigger.advance_preconditions(spec, state, _ended("b", labels={"type": "etl"}), AT)
    assert fire and state == {"seen": {}}


def test_a_dependency_without_states_takes_the_triggers_and_both_must_hold() -> None:
    spec = _spec(states=["FAILED"], dependsOn=[{"namespace": "company.team", "flowId": "a"}])
    assert flow_trigger.matches(spec, "company.team", "down", _ended("a", "FAILED"))
    assert not flow_trigger.matches(spec, "company.team", "down", _ended("a", "SUCCESS"))
    both = _spec(states=["FAILED"], dependsOn=[{"flowId": "a", "states": ["FAILED", "SUCCESS"]}])
    assert not flow_trigger.matches(both, "company.team", "down", _ended("a", "SUCCESS"))
    default = _spec(dependsOn=[{"flowId": "a"}])  # the trigger's default states: the terminal ones
    assert flow_trigger.matches(default, "company.team", "down", _ended("a", "WARNING"))


HEAD = "id: f\nnamespace: company.team\ntasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _problems(trigger: str) -> list[str]:
    flow = load_flow(HEAD + "triggers:\n" + trigger, file="f.yaml")
    return [problem.render() for problem in validate_triggers(flow)]


DEP = "    dependsOn:\n      - {namespace: company.team, flowId: a}\n"


@pytest.mark.parametrize(("extra", "expected"), [
    ("    window:\n      deadline: '09:00:00'\n", "f.yaml:10:5: triggers[0] (up): a Flow trigger's `window` is not"),
    ("    mode: ANY\n", "f.yaml:10:5: triggers[0] (up): `mode: ANY` is not supported by Lanner"),
    ("    minSatisfied: 1\n", "f.yaml:10:5: triggers[0] (up): `minSatisfied` is not supported by Lanner"),
    ("    preconditions:\n      flows: [{namespace: company.team, flowId: b}]\n",
     "f.yaml:6:5: triggers[0] (up): `dependsOn` and `preconditions` both list upstream flows"),
])
def test_what_lanner_does_not_carry_out_of_depends_on_is_refused(extra: str, expected: str) -> None:
    trigger = "  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n" + DEP + extra
    problems = _problems(trigger)
    assert any(expected in p for p in problems), problems


def test_a_dependency_when_is_refused_and_a_plain_depends_on_accepted() -> None:
    trigger = "  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n    dependsOn:\n"
    assert _problems(trigger + "      - {namespace: company.team, flowId: a, states: [SUCCESS]}\n") == []
    [problem] = _problems(trigger + "      - {flowId: a, when: '{{ true }}'}\n")
    assert "`when` is not evaluated by Lanner's scheduler" in problem
