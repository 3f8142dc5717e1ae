"""Subflow chains that come back to a flow are refused before anything runs, at the task that closes them."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.subflow_chains import check_chains


def flow(flow_id: str, *targets: str, file: str | None = None, kind: str = "io.kestra.plugin.core.flow.Subflow") -> str:
    text = (f"id: {flow_id}\nnamespace: ns\ntasks:\n"
            "  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    for i, target in enumerate(targets):
        namespace, _, target_id = target.rpartition(".")
        text += f"  - id: call{i}\n    type: {kind}\n    namespace: \"{namespace}\"\n    flowId: \"{target_id}\"\n"
    return text


@pytest.mark.parametrize("kind", ["io.kestra.plugin.core.flow.Subflow", "io.kestra.core.tasks.flows.Subflow",
                                  "io.kestra.core.tasks.flows.Flow"])
def test_a_flow_whose_subflow_starts_itself_does_not_load(kind: str) -> None:
    with pytest.raises(ValidationErrors) as caught:
        load_flow(flow("a", "ns.a", kind=kind), file="a.yaml")
    (problem,) = caught.value.errors
    assert problem.render().startswith("a.yaml:7:5: tasks[1] (call0): Subflow starts flow `ns.a` again "
                                       "(ns.a → ns.a); a flow cannot call itself")


def test_a_loop_across_flows_is_reported_at_the_call_that_closes_it() -> None:
    a = load_flow(flow("a", "ns.b"), file="a.yaml")
    b = load_flow(flow("b", "ns.other", "ns.c"), file="b.yaml")
    c = load_flow(flow("c", "ns.a"), file="c.yaml")
    (problem,) = check_chains([a], [a, b, c])
    assert problem.render().startswith("c.yaml:7:5: tasks[1] (call0): Subflow starts flow `ns.a` again "
                                       "(ns.a → ns.b → ns.c → ns.a)")


def test_a_nested_call_is_located_by_its_path() -> None:
    a = load_flow("id: a\nnamespace: ns\ntasks:\n  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n"
                  "    tasks:\n      - id: deep\n        type: io.kestra.plugin.core.flow.Subflow\n"
                  "        namespace: ns\n        flowId: b\n", file="a.yaml")
    b = load_flow(flow("b", "ns.a"), file="b.yaml")
    problems = [p.render() for p in check_chains([b], [a, b])]
    assert problems == [problems[0]]
    assert problems[0].startswith("a.yaml:7:9: tasks[0].tasks[0] (deep): Subflow starts flow `ns.b` again "
                                  "(ns.b → ns.a → ns.b)")


def test_shared_subflows_without_a_loop_are_fine() -> None:
    a = load_flow(flow("a", "ns.b", "ns.c"))
    b = load_flow(flow("b", "ns.d"))
    c = load_flow(flow("c", "ns.d"))
    d = load_flow(flow("d"))
    assert check_chains([a], [a, b, c, d]) == []


def test_a_computed_target_cannot_be_seen_and_is_left_to_the_runtime() -> None:
    text = flow("a").replace("  - id: hello", "  - id: maybe\n    type: io.kestra.plugin.core.flow.Subflow\n"
                             "    namespace: ns\n    flowId: \"{{ inputs.next }}\"\n  - id: hello")
    a = load_flow(text)
    assert check_chains([a], [a]) == []


def test_a_target_outside_the_known_flows_ends_the_chain() -> None:
    a = load_flow(flow("a", "ns.elsewhere"))
    assert check_chains([a], [a]) == []


def test_a_listener_that_starts_its_own_flow_is_refused_at_the_listener_task() -> None:
    text = (flow("a") + "listeners:\n  - tasks:\n      - id: again\n"
            "        type: io.kestra.plugin.core.flow.Subflow\n        namespace: ns\n        flowId: a\n")
    with pytest.raises(ValidationErrors) as caught:
        load_flow(text, file="a.yaml")
    (problem,) = caught.value.errors
    assert problem.render().startswith("a.yaml:9:9: listeners[0].tasks[0] (again): Subflow starts flow `ns.a` again")
