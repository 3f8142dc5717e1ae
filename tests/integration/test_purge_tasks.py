"""`…execution.PurgeExecutions` and `…log.PurgeLogs`: ended executions (rows, logs, files) and
log lines chosen by namespace, flow, states, levels and dates are deleted and counted; the
execution that purges is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.model.execution import Execution
from lanner.model.state import StateType
from tests.conftest import files_of, logs_of, repository_of, run_flow
from tests.integration.declared_plugins import register_mine
from tests.integration.refusals import refusal


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def _producer(home: Path, namespace: str, flow_id: str, fail: bool = False) -> Execution:
    last = ("\n  - id: fail\n    type: io.kestra.plugin.core.execution.Fail" if fail else "")
    return run_flow(f"""
id: {flow_id}
namespace: {namespace}
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: kept until purged
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hello{last}
""", home)


def _purger(home: Path, task: str) -> Execution:
    return run_flow(f"""
id: purger
namespace: company.team
tasks:
  - id: purge
{task}
""", home)


def test_purge_executions_deletes_ended_executions_of_the_namespace_and_its_children_in_the_chosen_states(
        tmp_path: Path) -> None:
    ok = _producer(tmp_path, "company.team", "a")
    child = _producer(tmp_path, "company.team.sub", "b")
    failed = _producer(tmp_path, "company.team", "a", fail=True)
    elsewhere = _producer(tmp_path, "other", "a")
    purger = _purger(tmp_path, """    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: company.team
    endDate: "{{ now() }}"
    states: [SUCCESS]""")
    repo = repository_of(tmp_path)
    counts = next(r for r in purger.task_runs if r.task_id == "purge").outputs
    assert purger.state.current is StateType.SUCCESS
    assert counts == {"executionsCount": 2, "taskOutputsCount": 0, "logsCount": counts["logsCount"],
                      "storagesCount": 2, "metricsCount": 0}
    assert counts["logsCount"] >= 4
    assert repo.get(ok.id) is None and repo.get(child.id) is None
    assert logs_of(tmp_path, ok.id) == []
    with pytest.raises(LannerError):
        files_of(tmp_path).get(next(r for r in ok.task_runs if r.task_id == "write").outputs["uri"])
    assert repo.get(failed.id) is not None and repo.get(elsewhere.id) is not None
    assert repo.get(purger.id) is not None


def test_a_flow_id_selects_its_namespace_exactly_and_a_start_date_after_the_runs_selects_nothing(
        tmp_path: Path) -> None:
    mine = _producer(tmp_path, "company.team", "a")
    child = _producer(tmp_path, "company.team.sub", "a")
    late = _purger(tmp_path, """    type: io.kestra.core.tasks.storages.Purge
    namespace: company.team
    startDate: "{{ now() | dateAdd(1, 'HOURS') }}"
    endDate: "{{ now() | dateAdd(2, 'HOURS') }}\"""")
    exact = _purger(tmp_path, """    type: io.kestra.plugin.core.storage.Purge
    namespace: company.team
    flowId: a
    purgeStorage: false
    endDate: "{{ now() }}\"""")
    repo = repository_of(tmp_path)
    assert next(r for r in late.task_runs if r.task_id == "purge").outputs["executionsCount"] == 0
    assert next(r for r in exact.task_runs if r.task_id == "purge").outputs["executionsCount"] == 1
    assert next(r for r in exact.task_runs if r.task_id == "purge").outputs["storagesCount"] == 0
    assert repo.get(mine.id) is None and repo.get(child.id) is not None
    assert files_of(tmp_path).get(next(r for r in mine.task_runs if r.task_id == "write").outputs["uri"])


def test_purge_logs_deletes_the_chosen_levels_and_keeps_the_executions_and_other_levels(tmp_path: Path) -> None:
    failed = _producer(tmp_path, "company.team", "a", fail=True)
    before = {e["level"] for e in logs_of(tmp_path, failed.id)}
    purger = _purger(tmp_path, """    type: io.kestra.plugin.core.log.PurgeLogs
    namespace: company
    endDate: "{{ now() }}"
    logLevels: [TRACE, DEBUG, INFO, WARN]""")
    counts = next(r for r in purger.task_runs if r.task_id == "purge").outputs
    after = {e["level"] for e in logs_of(tmp_path, failed.id)}
    assert {"INFO", "ERROR"} <= before
    assert after == {"ERROR"}
    assert counts["count"] == counts["executionLogsCount"] > 0 and counts["nonExecutionLogsCount"] == 0
    assert repository_of(tmp_path).get(failed.id) is not None
    assert logs_of(tmp_path, purger.id) != []


@pytest.mark.parametrize(("task", "said"), [
    ("io.kestra.plugin.core.execution.PurgeExecutions\n    flowId: a\n    endDate: x", "`flowId` needs `namespace`"),
    ("io.kestra.plugin.core.log.PurgeLogs", "endDate"),
])
def test_purge_selections_that_cannot_be_honoured_are_refused_by_validate(task: str, said: str) -> None:
    message = refusal(f"    type: {task}")
    assert "f.yaml:" in message and said in message
