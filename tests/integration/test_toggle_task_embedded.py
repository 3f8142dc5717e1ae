"""`…trigger.Toggle` under `lanner run` (no scheduler in the process): the toggle is written to
the trigger store, where a server's scheduler reads it when it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.state import StateType
from lanner.storage.trigger_store import TriggerStore
from tests.conftest import repository_of, run_flow
from tests.integration.declared_plugins import register_mine

FLOW = """
id: self_toggling
namespace: company.team
inputs:
  - {{id: enabled, type: BOOLEAN}}
tasks:
  - id: toggle
    type: io.kestra.plugin.core.trigger.Toggle
    trigger: nightly
    enabled: {enabled}
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
"""


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def test_toggle_of_the_running_flow_s_own_trigger_is_stored_and_enabling_restarts_the_schedule(
        tmp_path: Path) -> None:
    key = ("company.team", "self_toggling", "nightly")
    off = run_flow(FLOW.format(enabled="false"), tmp_path, inputs={"enabled": False})
    store = TriggerStore(repository_of(tmp_path).engine)
    assert off.state.current is StateType.SUCCESS
    assert store.get(key) == {"disabled": True}
    store.put(key, {"disabled": True, "nextDate": "2020-01-01T03:00:00Z", "stoppedBy": {"state": "FAILED"}})
    on = run_flow(FLOW.format(enabled="\"{{ inputs.enabled }}\""), tmp_path, inputs={"enabled": True})
    assert on.state.current is StateType.SUCCESS
    assert store.get(key) == {"disabled": False}
