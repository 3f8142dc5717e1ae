"""Flow `listeners` (Kestra's deprecated, still run): after the execution ended, by their conditions."""

from __future__ import annotations

from lanner.engine.executor import Executor
from lanner.model.results import WorkerResult
from lanner.model.state import StateType
from lanner.runtime.host import HOST
from tests.unit.engine.driver import Driver
from tests.unit.engine.test_crash_replay import reload

LOG = "io.kestra.plugin.core.log.Log"


def flow(listeners: str, after: bool = True, main: str = "ok") -> str:
    text = f"""
id: f
namespace: company.team
tasks:
  - {{id: {main}, type: {LOG}, message: hi}}
listeners:
{listeners}"""
    if after:
        text += f"afterExecution:\n  - {{id: end, type: {LOG}, message: end}}\n"
    return text


def listener(task_id: str, *conditions: str) -> str:
    conds = "".join(f"      - {c}\n" for c in conditions)
    return (f"  - conditions:\n{conds}" if conds else "  - description: always\n") + \
        f"    tasks:\n      - {{id: {task_id}, type: {LOG}, message: x}}\n"


STATUS = "{{type: io.kestra.plugin.core.condition.ExecutionStatus, in: [{}]}}"


def test_listener_tasks_run_after_the_execution_ended_and_before_after_execution() -> None:
    seen: list[str] = []
    d = Driver(flow(listener("l")))
    d.outcomes["l"] = lambda run: seen.append(d.exe.state.current.value) or StateType.SUCCESS
    exe = d.run()
    assert d.order == ["ok", "l", "end"]
    assert seen == ["SUCCESS"]  # the execution had ended when its listener ran
    assert {r.task_id: r.block for r in exe.task_runs} == {"ok": "tasks", "l": "listeners", "end": "afterExecution"}


def test_a_listener_runs_only_when_all_its_conditions_hold_on_the_final_state() -> None:
    listeners = (listener("on_failure", STATUS.format("FAILED")) + listener("on_success", STATUS.format("SUCCESS"))
                 + listener("on_both", STATUS.format("SUCCESS"),
                            "{type: io.kestra.core.models.conditions.types.ExecutionNamespaceCondition, "
                            "namespace: company, prefix: true}")
                 + listener("other_ns", STATUS.format("SUCCESS"),
                            "{type: io.kestra.plugin.core.condition.ExecutionNamespace, namespace: other}"))
    d = Driver(flow(listeners, after=False))
    d.run()
    assert d.order == ["ok", "on_success", "on_both"]
    failed = Driver(flow(listeners, after=False), {"ok": StateType.FAILED})
    failed.run()
    assert failed.order == ["ok", "on_failure"]


def test_expression_and_label_conditions_read_the_ended_execution() -> None:
    expression = "{{ execution.state == 'SUCCESS' and flow.namespace == 'company.team' }}"
    listeners = (listener("by_expression", f"{{type: io.kestra.plugin.core.condition.Expression, "
                                           f"expression: \"{expression}\"}}")
                 + listener("by_label", "{type: io.kestra.plugin.core.condition.ExecutionLabels, labels: {team: ops}}"))
    d = Driver(flow(listeners, after=False))
    d.exe.labels = {"team": "data"}
    d.run()
    assert d.order == ["ok", "by_expression"]
    labelled = Driver(flow(listeners, after=False))
    labelled.exe.labels = {"team": "ops"}
    labelled.run()
    assert labelled.order == ["ok", "by_expression", "by_label"]


def test_a_condition_that_cannot_be_evaluated_keeps_its_listener_from_running_and_says_why() -> None:
    d = Driver(flow(listener("l", "{type: io.kestra.plugin.core.condition.Expression, "
                                  "expression: \"{{ outputs.missing.value }}\"}"), after=False))
    exe = d.run()
    assert d.order == ["ok"] and exe.state.current is StateType.SUCCESS
    assert any(m.startswith("listeners[0]: a condition could not be evaluated") for m in d.logs("ERROR"))


def test_a_failing_listener_task_never_changes_the_final_state() -> None:
    d = Driver(flow(listener("l")), {"l": StateType.FAILED})
    exe = d.run()
    assert d.order == ["ok", "l", "end"]
    assert exe.state.current is StateType.SUCCESS


def test_a_listener_interrupted_by_a_crash_is_picked_up_once_by_a_fresh_executor() -> None:
    d = Driver(flow(listener("l1") + listener("l2")))
    d.start()
    d.step()  # ok ends; l1 is dispatched
    assert [r.task_id for r in d.pending] == ["l1"]
    stored = reload(d.exe)
    fresh = Executor(d.flow, stored, surroundings=HOST)
    fx = fresh.start()
    assert [r.task_id for r in fx.dispatch] == ["l1"]  # cut off: it runs again, nothing else starts
    run = fx.dispatch[0]
    fx = fresh.on_result(WorkerResult(stored.id, run.id, len(run.attempts), StateType.SUCCESS))
    assert [r.task_id for r in fx.dispatch] == ["l2"]
    fx = fresh.on_result(WorkerResult(stored.id, fx.dispatch[0].id, 1, StateType.SUCCESS))
    assert [r.task_id for r in fx.dispatch] == ["end"]
    fx = fresh.on_result(WorkerResult(stored.id, fx.dispatch[0].id, 1, StateType.SUCCESS))
    assert fx.ended and [r.task_id for r in stored.task_runs] == ["ok", "l1", "l2", "end"]


def test_a_hard_kill_skips_listeners_like_every_cleanup() -> None:
    d = Driver(flow(listener("l")))
    d.start()
    d.kill(hard=True)
    assert d.run().state.current is StateType.KILLED and d.order == []
