"""`io.kestra.core.tasks.debugs.Fetch`, the first name of Kestra's log Fetch task (its class before
it moved to `core.tasks.log`, then `plugin.core.log`), with the same `tasksId` and `level`: flows
written with it run as with today's name. Run on the embedded runtime with real workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.state import StateType
from tests.conftest import run_flow
from tests.integration.declared_plugins import register_declared


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    """The old name, as this checkout's pyproject.toml declares it (see declared_plugins.py)."""
    register_declared(lambda name, _target: name.endswith(".Fetch"))


def _flow(fetch: str) -> str:
    return f"""
id: get-log
namespace: company.team
tasks:
  - {{id: one, type: io.kestra.core.tasks.debugs.Echo, format: first}}
  - {{id: two, type: io.kestra.core.tasks.debugs.Echo, format: second}}
  - id: fetch
    type: io.kestra.core.tasks.debugs.Fetch
{fetch}"""


@pytest.mark.parametrize("fetch,size", [("", 3), ("    tasksId: [one]\n", 1), ("    level: ERROR\n", 0)])
def test_the_old_debugs_fetch_name_collects_the_execution_logs_as_kestras_fetch_does(
        tmp_path: Path, fetch: str, size: int) -> None:
    # without a filter: the execution's start line and both Echo lines (3, as Kestra's FetchTest counts)
    exe = run_flow(_flow(fetch), tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert len(exe.task_runs) == 3
    assert exe.task_runs[-1].outputs["size"] == size
    assert exe.task_runs[-1].outputs["uri"].startswith("kestra:///")
