"""tasks → errors → finally → final state → afterExecution, at the flow level (Kestra + Lanner rules)."""

from __future__ import annotations

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

LOG = "io.kestra.plugin.core.log.Log"
FAIL = "io.kestra.plugin.core.execution.Fail"


def flow(tasks: str, errors: str = "", final: str = "", after: str = "") -> str:
    text = f"id: f\nnamespace: company.team\ntasks:\n{tasks}"
    if errors:
        text += f"errors:\n{errors}"
    if final:
        text += f"finally:\n{final}"
    if after:
        text += f"afterExecution:\n{after}"
    return text


def log(i: str) -> str:
    return f"  - id: {i}\n    type: {LOG}\n    message: hi\n"


def fail(i: str) -> str:
    return f"  - id: {i}\n    type: {FAIL}\n"


def test_seed_failure_example_runs_errors_then_finally_and_ends_failed() -> None:
    d = Driver(flow(fail("fail"), log("send_alert"), log("cleanup_task")), {"fail": StateType.FAILED})
    exe = d.run()
    assert d.order == ["fail", "send_alert", "cleanup_task"]
    assert d.states() == {"fail": "FAILED", "send_alert": "SUCCESS", "cleanup_task": "SUCCESS"}
    assert exe.state.current is StateType.FAILED
    assert [h.state.value for h in exe.state.histories] == ["CREATED", "RUNNING", "FAILED"]


def test_seed_success_example_skips_errors_and_still_runs_finally() -> None:
    d = Driver(flow(log("log"), log("send_alert"), log("cleanup_task")))
    exe = d.run()
    assert d.order == ["log", "cleanup_task"]
    assert exe.state.current is StateType.SUCCESS


def test_finally_runs_while_execution_is_still_running() -> None:
    seen: list[str] = []
    d = Driver(flow(log("a"), final=log("fin")))

    def at_finally(run):  # the execution state when the finally task is handed to a worker
        seen.append(d.exe.state.current.value)
        return StateType.SUCCESS

    d.outcomes["fin"] = at_finally
    d.run()
    assert seen == ["RUNNING"]


def test_failure_stops_the_remaining_tasks() -> None:
    d = Driver(flow(fail("ko") + log("ok"), final=log("a1")), {"ko": StateType.FAILED})
    exe = d.run()
    assert d.created_order() == ["ko", "a1"]
    assert exe.state.current is StateType.FAILED


def test_every_finally_task_is_attempted_even_after_one_fails() -> None:
    d = Driver(flow(log("a"), final=fail("f1") + log("f2")), {"f1": StateType.FAILED})
    exe = d.run()
    assert d.order == ["a", "f1", "f2"]
    assert d.states()["f2"] == "SUCCESS"
    assert exe.state.current is StateType.FAILED  # and the failed cleanup shows


def test_a_failing_finally_task_makes_the_execution_failed() -> None:
    d = Driver(flow(log("a"), final=fail("f1")), {"f1": StateType.FAILED})
    assert d.run().state.current is StateType.FAILED


def test_a_finally_task_allowed_to_fail_leaves_a_warning() -> None:
    text = flow(log("a"), final=f"  - id: f1\n    type: {FAIL}\n    allowFailure: true\n")
    d = Driver(text, {"f1": StateType.FAILED})
    exe = d.run()
    assert d.states()["f1"] == "WARNING"
    assert exe.state.current is StateType.WARNING


def test_errors_never_rescue_a_failure_and_their_failure_changes_nothing() -> None:
    d = Driver(flow(fail("ko"), fail("e1") + log("e2")), {"ko": StateType.FAILED, "e1": StateType.FAILED})
    exe = d.run()
    assert d.order == ["ko", "e1", "e2"]
    assert exe.state.current is StateType.FAILED


def test_after_execution_runs_after_the_final_state_and_does_not_change_it() -> None:
    states_seen: list[str] = []
    d = Driver(flow(log("a"), final=log("fin"), after=fail("after")), {"after": StateType.FAILED})

    def at_after(run):
        states_seen.append(d.exe.state.current.value)
        return StateType.FAILED

    d.outcomes["after"] = at_after
    exe = d.run()
    assert d.order == ["a", "fin", "after"]
    assert states_seen == ["SUCCESS"]
    assert exe.state.current is StateType.SUCCESS


def test_allow_failure_turns_the_execution_warning_and_continues() -> None:
    text = flow(f"  - id: ko\n    type: {FAIL}\n    allowFailure: true\n" + log("next"))
    d = Driver(text, {"ko": StateType.FAILED})
    exe = d.run()
    assert d.states() == {"ko": "WARNING", "next": "SUCCESS"}
    assert exe.state.current is StateType.WARNING


def test_allow_warning_turns_a_warning_into_success() -> None:
    text = flow(f"  - id: w\n    type: {LOG}\n    message: x\n    allowWarning: true\n")
    d = Driver(text, {"w": StateType.WARNING})
    assert d.run().state.current is StateType.SUCCESS


def test_run_if_false_skips_the_task_and_the_flow_goes_on() -> None:
    text = flow(f"  - id: s\n    type: {LOG}\n    message: x\n    runIf: \"false\"\n" + log("next"))
    d = Driver(text)
    exe = d.run()
    assert d.states() == {"s": "SKIPPED", "next": "SUCCESS"}
    assert d.order == ["next"]
    assert exe.state.current is StateType.SUCCESS


def test_when_is_run_if_under_the_newest_kestra_name() -> None:
    text = flow(f"  - id: s\n    type: {LOG}\n    message: x\n    when: \"false\"\n"
                f"  - id: t\n    type: {LOG}\n    message: x\n    when: \"{{{{ 1 == 1 }}}}\"\n")
    d = Driver(text)
    exe = d.run()
    assert d.states() == {"s": "SKIPPED", "t": "SUCCESS"}
    assert exe.state.current is StateType.SUCCESS


def test_disabled_tasks_get_no_task_run() -> None:
    text = flow(f"  - id: off\n    type: {LOG}\n    message: x\n    disabled: true\n" + log("on"),
                errors=log("e"))
    d = Driver(text)
    d.run()
    assert d.created_order() == ["on"]


def test_retries_add_attempts_to_the_same_task_run_then_errors_run() -> None:
    text = flow(f"  - id: ko\n    type: {FAIL}\n    retry:\n      type: constant\n      interval: PT0S\n"
                f"      maxAttempts: 3\n", errors=log("e"))
    d = Driver(text, {"ko": StateType.FAILED})
    exe = d.run()
    ko = exe.task_runs[0]
    assert len(ko.attempts) == 3
    assert ko.current is StateType.FAILED
    assert d.order == ["ko", "ko", "ko", "e"]
    hist = [h.state.value for h in ko.state.histories]
    assert hist[:5] == ["CREATED", "RUNNING", "FAILED", "RETRYING", "CREATED"]


def test_retry_success_with_warning_on_retry_ends_warning() -> None:
    text = flow(f"  - id: t\n    type: {LOG}\n    message: x\n    retry:\n      type: constant\n      interval: PT0S\n"
                f"      maxAttempt: 4\n      warningOnRetry: true\n")
    d = Driver(text, {"t": lambda run: StateType.SUCCESS if len(run.attempts) == 4 else StateType.FAILED})
    exe = d.run()
    assert len(exe.task_runs[0].attempts) == 4
    assert exe.state.current is StateType.WARNING


def test_graceful_kill_cancels_running_work_skips_errors_and_runs_finally() -> None:
    d = Driver(flow(log("long") + log("never"), log("e"), log("fin")))
    d.start()
    assert [r.task_id for r in d.pending] == ["long"]
    d.kill()
    while d.step():
        pass
    assert d.states() == {"long": "KILLED", "fin": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED
    assert [h.state.value for h in d.exe.state.histories] == ["CREATED", "RUNNING", "KILLING", "KILLED"]


def test_a_kill_during_finally_lets_the_cleanup_finish() -> None:
    d = Driver(flow(log("a"), final=log("f1") + log("f2")))
    d.start()
    d.step()  # a
    assert [r.task_id for r in d.pending] == ["f1"]
    d.kill()
    assert [r.task_id for r in d.pending] == ["f1"]  # not cancelled
    while d.step():
        pass
    assert d.states() == {"a": "SUCCESS", "f1": "SUCCESS", "f2": "SUCCESS"}
    assert d.exe.state.current is StateType.KILLED


def test_hard_kill_stops_at_once_and_records_the_skipped_cleanup() -> None:
    d = Driver(flow(log("long"), final=log("fin")))
    d.start()
    fx = d.kill(hard=True)
    assert fx.ended
    assert d.exe.state.current is StateType.KILLED
    assert "fin" in d.exe.notes[0]
    assert d.created_order() == ["long"]


def test_results_are_idempotent_a_duplicate_report_changes_nothing() -> None:
    from lanner.model.results import WorkerResult

    d = Driver(flow(log("a") + log("b")))
    d.start()
    run = d.pending[0]
    d.step()
    before = len(d.exe.task_runs)
    d.executor.on_result(WorkerResult(d.exe.id, run.id, 1, StateType.FAILED))
    assert len(d.exe.task_runs) == before
    assert run.current is StateType.SUCCESS
