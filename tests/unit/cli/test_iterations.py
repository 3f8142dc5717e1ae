"""A loop's iterations are counted per task under the loop's own run, once each, whatever order
their changes come in; only the ones that did not end well are kept to be shown one by one."""

from __future__ import annotations

import datetime as dt

from lanner.cli.iterations import Iterations, grouped, state_counts
from lanner.model.execution import TaskRun
from lanner.model.state import State, StateType

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _run(run_id: str, task_id: str, parent: str | None = None, value: str | None = None) -> TaskRun:
    return TaskRun(id=run_id, execution_id="e", namespace="n", flow_id="f", task_id=task_id, parent_id=parent,
                   block="tasks", value=value, state=State.created(T0))


def _end(run: TaskRun, state: StateType, seconds: int = 1) -> TaskRun:
    run.state.to(StateType.RUNNING, T0)
    run.state.to(state, T0 + dt.timedelta(seconds=seconds))
    return run


def test_each_iteration_is_counted_once_as_it_moves_from_state_to_state() -> None:
    loop = _run("L", "each")
    say = _run("s1", "say", "L", "1")
    runs = {"L": loop, "s1": say}
    its = Iterations()
    assert its.count(loop, runs) is None  # the loop's own run is no iteration
    its.count(say, runs)
    say.state.to(StateType.RUNNING, T0)
    its.count(say, runs)
    say.state.to(StateType.FAILED, T0 + dt.timedelta(seconds=2))
    group = its.count(say, runs)
    assert group is not None
    assert group.states == {"CREATED": 0, "RUNNING": 0, "FAILED": 1}
    assert state_counts(group) == [("FAILED", 1)]
    assert list(group.listed) == ["s1"]
    assert group.unfinished == 0 and group.duration() == dt.timedelta(seconds=2)
    assert its.anchored_at("L") == [group]


def test_nested_loops_group_under_the_outermost_run_that_is_no_iteration() -> None:
    outer = _run("O", "outer")
    inner = [_end(_run(f"i{v}", "inner", "O", v), StateType.SUCCESS) for v in "ab"]
    says = [_end(_run(f"s{v}{w}", "say", f"i{v}", w), StateType.SUCCESS if w != "2" or v != "b" else StateType.FAILED)
            for v in "ab" for w in "123"]
    rows, its = grouped([_end(outer, StateType.FAILED), *inner, *says])
    assert [getattr(r, "task_id", None) for r in rows] == ["outer", "inner", "say"]
    say_group = rows[2]
    assert not isinstance(say_group, TaskRun)
    assert say_group.size == 6 and state_counts(say_group) == [("SUCCESS", 5), ("FAILED", 1)]
    assert [r.value for r in say_group.listed.values()] == ["2"]
    assert {g.task_id for g in its.anchored_at("O")} == {"inner", "say"}
