"""The runaway guard: an execution holds at most `max_task_runs` task runs, and cleanup still runs."""

from __future__ import annotations

import json

from lanner.engine.executor import CLEANUP_RESERVE, DEFAULT_MAX_TASK_RUNS
from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
LIMIT_SAID = "Failing the execution: it reached the maximum of {n:,} task runs per execution"


def log(i: str, indent: str = "  ") -> str:
    return f"{indent}- id: {i}\n{indent}  type: {LOG}\n{indent}  message: hi\n"


def for_each(i: str, n: int, concurrency: int = 1, indent: str = "  ") -> str:
    return (f"{indent}- id: {i}\n{indent}  type: io.kestra.plugin.core.flow.ForEach\n"
            f"{indent}  values: {json.dumps([str(v) for v in range(n)])}\n"
            f"{indent}  concurrencyLimit: {concurrency}\n{indent}  tasks:\n" + log(f"{i}_child", indent + "    "))


def flow(tasks: str, final: str = "", after: str = "") -> str:
    text = f"id: f\nnamespace: company.team\ntasks:\n{tasks}"
    if final:
        text += f"finally:\n{final}"
    if after:
        text += f"afterExecution:\n{after}"
    return text


def count(d: Driver, task_id: str) -> int:
    return sum(1 for r in d.exe.task_runs if r.task_id == task_id)


def test_default_limit_leaves_room_for_the_10000_value_foreach_bench() -> None:
    assert DEFAULT_MAX_TASK_RUNS >= 10_000 + 1 + 1  # ForEach + its children + the finally Log


def test_a_flow_of_exactly_the_limit_succeeds() -> None:
    d = Driver(flow(log("a") + log("b") + log("c")), max_task_runs=3)
    exe = d.run()
    assert exe.state.current is StateType.SUCCESS
    assert d.logs("ERROR") == []


def test_sequential_tasks_past_the_limit_fail_the_execution_and_finally_still_runs() -> None:
    d = Driver(flow(log("a") + log("b") + log("c") + log("d"), final=log("fin")), max_task_runs=2)
    exe = d.run()
    assert exe.state.current is StateType.FAILED
    assert d.created_order() == ["a", "b", "fin"]
    assert d.states()["fin"] == "SUCCESS"
    (said,) = d.logs("ERROR")[:1]
    assert said.startswith(LIMIT_SAID.format(n=2))
    assert any(n.startswith(LIMIT_SAID.format(n=2)) for n in exe.notes)


def test_a_sequential_foreach_stops_at_the_limit() -> None:
    d = Driver(flow(for_each("each", 50), final=log("fin"), after=log("after")), max_task_runs=10)
    exe = d.run()
    assert exe.state.current is StateType.FAILED
    assert count(d, "each_child") == 9  # the ForEach run itself is the tenth
    assert d.states()["each"] == "FAILED"
    assert (d.states()["fin"], d.states()["after"]) == ("SUCCESS", "SUCCESS")


def test_a_foreach_starting_everything_at_once_stops_at_the_limit() -> None:
    d = Driver(flow(for_each("each", 50, concurrency=0), final=log("fin")), max_task_runs=10)
    exe = d.run()
    assert exe.state.current is StateType.FAILED
    assert count(d, "each_child") == 9
    assert d.states()["fin"] == "SUCCESS"
    assert sum(1 for m in d.logs("ERROR") if m.startswith("Failing the execution")) == 1


def test_running_work_is_cancelled_when_the_limit_is_reached() -> None:
    d = Driver(f"""id: f
namespace: company.team
tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
{log("slow", "      ")}{for_each("each", 50, concurrency=0, indent="      ")}""", max_task_runs=10).start()
    slow = next(r for r in d.exe.task_runs if r.task_id == "slow")
    assert slow.id in [run_id for fx in d.effects for run_id in fx.cancel]
    exe = d.run()
    assert exe.state.current is StateType.FAILED
    assert d.states()["slow"] == "KILLED"


def test_cleanup_has_a_reserve_and_is_stopped_past_it() -> None:
    d = Driver(flow(log("a") + log("b"), final=for_each("cleanup", CLEANUP_RESERVE + 100) + log("last")),
               max_task_runs=2)
    exe = d.run(max_steps=5 * CLEANUP_RESERVE)
    assert exe.state.current is StateType.FAILED
    assert len(exe.task_runs) == 2 + CLEANUP_RESERVE
    assert d.states()["cleanup"] == "FAILED"
    assert any(m.startswith("Cleanup stopped: the execution has") for m in d.logs("ERROR"))
    assert "last" not in d.states()


def test_cleanup_fits_in_the_reserve_after_main_work_hit_the_limit() -> None:
    d = Driver(flow(for_each("each", 100), final=for_each("cleanup", 20)), max_task_runs=30)
    exe = d.run()
    assert exe.state.current is StateType.FAILED
    assert count(d, "cleanup_child") == 20
    assert d.states()["cleanup"] == "SUCCESS"
