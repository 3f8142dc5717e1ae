"""The embedded runtime end to end: real worker threads, real SQLite, real time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lanner.model.state import StateType
from lanner.runtime.catalog import FlowCatalog
from tests.conftest import logs_of, repository_of, run_flow

SLEEP = "io.kestra.plugin.core.flow.Sleep"
LOG = "io.kestra.plugin.core.log.Log"


def by_task(exe) -> dict:
    return {r.task_id if r.value is None else f"{r.task_id}[{r.value}]": r for r in exe.task_runs}


def test_parallel_branches_really_overlap(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {{id: s1, type: {SLEEP}, duration: PT0.5S}}
      - {{id: s2, type: {SLEEP}, duration: PT0.5S}}
      - {{id: s3, type: {SLEEP}, duration: PT0.5S}}
      - {{id: s4, type: {SLEEP}, duration: PT0.5S}}
""", tmp_path)
    runs = [r for r in exe.task_runs if r.task_id.startswith("s")]
    first_end = min(r.state.end_date for r in runs)
    assert all(r.attempts[0].state.start_date < first_end for r in runs)  # all four were running at once
    assert exe.state.current is StateType.SUCCESS


def test_concurrent_foreach_overlaps_and_sequential_foreach_does_not(tmp_path: Path) -> None:
    def flow(limit: int) -> str:
        return f"""
id: f
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c"]
    concurrencyLimit: {limit}
    tasks:
      - {{id: s, type: {SLEEP}, duration: PT0.3S}}
"""
    runs = run_flow(flow(0), tmp_path / "c").task_runs[1:]
    assert all(r.attempts[0].state.start_date < min(x.state.end_date for x in runs) for r in runs)
    runs = run_flow(flow(1), tmp_path / "s").task_runs[1:]
    assert all(a.state.end_date <= b.attempts[0].state.start_date for a, b in zip(runs, runs[1:], strict=False))


def test_a_timeout_fails_the_attempt_then_errors_and_finally_run(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - {{id: slow, type: {SLEEP}, duration: PT30S, timeout: PT0.2S}}
errors:
  - {{id: e, type: {LOG}, message: after timeout}}
finally:
  - {{id: fin, type: {LOG}, message: cleanup}}
""", tmp_path)
    runs = by_task(exe)
    assert runs["slow"].current is StateType.FAILED
    assert runs["slow"].state.duration().total_seconds() < 5
    assert runs["e"].current is StateType.SUCCESS and runs["fin"].current is StateType.SUCCESS
    assert any("Timeout after" in line["message"] for line in logs_of(tmp_path, exe.id, "slow"))


def _started(task_id: str) -> Callable[[str, Any], bool]:
    """A `kill_when` that kills once `task_id` (in the flow or a subflow) is running."""
    return lambda kind, item: kind == "run" and item.task_id == task_id and item.current is StateType.RUNNING


def test_a_graceful_kill_mid_sleep_still_runs_finally(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - {{id: slow, type: {SLEEP}, duration: PT30S}}
  - {{id: never, type: {LOG}, message: x}}
finally:
  - {{id: fin, type: {LOG}, message: cleanup}}
""", tmp_path, kill_when=_started("slow"))
    runs = by_task(exe)
    assert exe.state.current is StateType.KILLED
    assert runs["slow"].current is StateType.KILLED and "never" not in runs
    assert runs["fin"].current is StateType.SUCCESS


def test_retries_wait_their_interval_on_the_same_task_run(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: flaky
    type: {LOG}
    message: "{{{{ taskrun.attemptsCount == 2 ? 'ok' : undefinedVariable }}}}"
    retry: {{type: constant, interval: PT0.1S, maxAttempts: 5}}
""", tmp_path)
    run = exe.task_runs[0]
    assert len(run.attempts) == 3 and run.current is StateType.SUCCESS
    gap = run.attempts[1].state.start_date - run.attempts[0].state.end_date
    assert gap.total_seconds() >= 0.1


def test_a_pause_with_a_duration_resumes_by_itself(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - {{id: wait, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT0.2S}}
  - {{id: next, type: {LOG}, message: resumed}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert [h.state.value for h in exe.state.histories] == ["CREATED", "RUNNING", "PAUSED", "RUNNING", "SUCCESS"]


def test_a_subflow_runs_the_child_and_returns_its_outputs(tmp_path: Path) -> None:
    from lanner.loading.flows import load_flow

    child = load_flow("""
id: child
namespace: company.team
inputs:
  - {id: who, type: STRING}
tasks:
  - {id: hello, type: io.kestra.plugin.core.debug.Return, format: "hello {{ inputs.who }}"}
outputs:
  - {id: said, type: STRING, value: "{{ outputs.hello.value }}"}
""")
    exe = run_flow("""
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs: {who: parent}
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.call.outputs.said }}"}
""", tmp_path, catalog=FlowCatalog(flows=[child]))
    runs = by_task(exe)
    assert exe.state.current is StateType.SUCCESS
    assert runs["show"].outputs == {"value": "hello parent"}
    assert runs["call"].outputs["state"] == "SUCCESS"


def test_a_failing_subflow_fails_its_task_and_a_missing_one_says_so(tmp_path: Path) -> None:
    from lanner.loading.flows import load_flow

    child = load_flow("""
id: child
namespace: company.team
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail}
""")
    parent = """
id: parent
namespace: company.team
tasks:
  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: company.team, flowId: FLOW}
"""
    exe = run_flow(parent.replace("FLOW", "child"), tmp_path / "a", catalog=FlowCatalog(flows=[child]))
    assert exe.state.current is StateType.FAILED
    exe = run_flow(parent.replace("FLOW", "ghost"), tmp_path / "b")
    assert exe.state.current is StateType.FAILED
    assert any("`company.team.ghost` was not found" in line["message"]
               for line in logs_of(tmp_path / "b", exe.id, "call"))


def test_killing_a_parent_kills_its_waiting_subflow_and_both_run_finally(tmp_path: Path) -> None:
    from lanner.loading.flows import load_flow

    child = load_flow(f"""
id: child
namespace: company.team
tasks:
  - {{id: slow, type: {SLEEP}, duration: PT30S}}
finally:
  - {{id: child_fin, type: {LOG}, message: child cleanup}}
""")
    exe = run_flow(f"""
id: parent
namespace: company.team
tasks:
  - {{id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: company.team, flowId: child}}
finally:
  - {{id: fin, type: {LOG}, message: parent cleanup}}
""", tmp_path, catalog=FlowCatalog(flows=[child]), kill_when=_started("slow"))
    runs = by_task(exe)
    assert exe.state.current is StateType.KILLED
    assert runs["call"].current is StateType.KILLED and runs["fin"].current is StateType.SUCCESS
    stored = repository_of(tmp_path).get(runs["call"].outputs["executionId"])
    assert stored is not None and stored.state.current is StateType.KILLED
    assert by_task(stored)["child_fin"].current is StateType.SUCCESS


def test_loop_until_repeats_with_real_intervals_and_reads_the_latest_iteration(tmp_path: Path) -> None:
    exe = run_flow("""
id: f
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.LoopUntil
    condition: "{{ outputs.return.value == '3' }}"
    checkFrequency: {interval: PT0.1S}
    tasks:
      - {id: return, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.loop.iterationCount }}"}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.return.value }}"}
""", tmp_path)
    returns = [r for r in exe.task_runs if r.task_id == "return"]
    assert exe.state.current is StateType.SUCCESS and [r.outputs["value"] for r in returns] == ["1", "2", "3"]
    assert (returns[1].state.start_date - returns[0].state.end_date).total_seconds() >= 0.1
    assert by_task(exe)["after"].outputs == {"value": "3"}


def test_an_ended_execution_has_no_owner_and_no_kept_results(tmp_path: Path) -> None:
    """Its last write releases it and drops the results kept for a takeover (one transaction):
    a restart later takes it freely, and the kept results of a task that acts outside are gone."""
    exe = run_flow("""
id: f
namespace: company.team
tasks:
  - id: outside
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    commands: ["echo hi"]
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: done
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    with repository_of(tmp_path).db.reading() as rd:
        owner = rd.run("SELECT owner FROM executions WHERE id = :id", {"id": exe.id}).first()
        kept = rd.run("SELECT count(*) AS n FROM attempt_results WHERE execution_id = :id", {"id": exe.id}).first()
    assert owner is not None and owner["owner"] is None
    assert kept is not None and kept["n"] == 0
