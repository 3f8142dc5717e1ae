"""A Pause with Kestra's deprecated `tasks`, on the embedded runtime: its duration ends, then its block runs."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import run_flow

RETURN = "io.kestra.plugin.core.debug.Return"


def test_a_pause_block_runs_after_the_duration_and_the_flow_goes_on_with_its_outputs(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT0.2S
    behavior: WARN
    tasks:
      - {{id: inside, type: {RETURN}, format: "after {{{{ taskrun.parentId }}}}"}}
    finally:
      - {{id: fin, type: {RETURN}, format: cleanup}}
  - {{id: next, type: {RETURN}, format: "{{{{ outputs.inside.value }}}}"}}
""", tmp_path)
    runs = {r.task_id: r for r in exe.task_runs}
    assert [r.task_id for r in exe.task_runs] == ["wait", "inside", "fin", "next"]
    assert runs["wait"].current is StateType.WARNING
    assert runs["inside"].parent_id == runs["wait"].id
    assert runs["next"].outputs["value"] == f"after {runs['wait'].id}"
    assert exe.state.current is StateType.WARNING
    assert StateType.PAUSED in [h.state for h in exe.state.histories]
