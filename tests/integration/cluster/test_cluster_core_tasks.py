"""The storage, state and Resume tasks on cluster workers: the same outcomes as embedded."""

from __future__ import annotations

import pytest

from lanner.model.state import StateType
from tests.integration.cluster.inprocess import InProcessCluster, by_task
from tests.integration.declared_plugins import register_mine


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def test_resume_and_state_tasks_work_on_cluster_workers(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    exe = cluster.run("""
id: core_tasks
namespace: c
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Pause
      - id: resume
        type: io.kestra.plugin.core.execution.Resume
  - id: set
    type: io.kestra.plugin.core.state.Set
    data: {seen: "{{ execution.id }}"}
  - id: get
    type: io.kestra.plugin.core.state.Get
""")
    runs = by_task(exe)
    assert exe.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in exe.task_runs]
    assert runs["resume"].outputs["id"] == exe.id
    assert runs["get"].outputs == {"count": 1, "data": {"seen": exe.id}}


def test_purge_executions_on_a_cluster_worker_deletes_an_ended_execution(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    old = cluster.run("""
id: old
namespace: c
tasks: [{id: write, type: io.kestra.plugin.core.storage.Write, content: x}]
""")
    purger = cluster.run("""
id: purger
namespace: c
tasks:
  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: c
    flowId: old
    endDate: "{{ now() }}"
""")
    counts = by_task(purger)["purge"].outputs
    assert purger.state.current is StateType.SUCCESS, [(r.task_id, r.current) for r in purger.task_runs]
    assert counts["executionsCount"] == 1 and counts["storagesCount"] == 1
    assert cluster.client.get(old.id) is None
