"""`onPause` is one runnable task (Kestra hands it to a worker when the pause starts waiting):
validation refuses a list or a task that is not runnable at its line, and counts its id with the
flow's others."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow

LOG = "io.kestra.plugin.core.log.Log"


def _flow(on_pause: str) -> str:
    return ("id: f\nnamespace: company.team\ntasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n"
            f"    onPause:\n{on_pause}")


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationErrors) as info:
        load_flow(text, file="f.yaml")
    return [e.render() for e in info.value.errors]


def test_one_runnable_on_pause_task_is_a_child_of_the_pause_in_the_flows_index() -> None:
    flow = load_flow(_flow(f"      id: hello\n      type: {LOG}\n      message: hi\n"))
    place = flow.index()["hello"]
    assert (place.parent_id, place.block) == ("wait", "onPause")


def test_a_list_of_on_pause_tasks_is_refused_at_its_line_saying_kestra_runs_one() -> None:
    [problem] = _problems(_flow(f"      - {{id: hello, type: {LOG}, message: hi}}\n"))
    assert problem.startswith("f.yaml:6:5: tasks[0] (wait): `onPause`: is one task (a map with `id` and `type`), "
                              "not a list"), problem


def test_a_flowable_on_pause_is_refused_as_not_runnable_without_quoting_the_built_task() -> None:
    [problem] = _problems(_flow("      id: seq\n      type: io.kestra.plugin.core.flow.Sequential\n"
                                f"      tasks:\n        - {{id: x, type: {LOG}, message: hi}}\n"))
    assert problem.startswith("f.yaml:6:5: tasks[0] (wait): `onPause`: `io.kestra.plugin.core.flow.Sequential` "
                              "(seq) is not a runnable task"), problem
    assert "got" not in problem and "use a runnable task" in problem


def test_an_on_pause_id_used_elsewhere_in_the_flow_is_a_duplicate() -> None:
    [problem] = _problems(_flow(f"      id: wait\n      type: {LOG}\n      message: hi\n"))
    assert "tasks[0].onPause (wait): duplicate task id `wait`" in problem, problem
