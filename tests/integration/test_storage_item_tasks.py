"""`…storage.FilterItems` and `…storage.DeduplicateItems` on Ion files of items, with the
outcomes of Kestra's own tests (kept lines, processed and dropped counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanner.model.execution import Execution
from lanner.model.state import StateType
from tests.conftest import files_of, logs_of, run_flow
from tests.integration.declared_plugins import register_mine

VALID = ['{key:"k1",value:1}', '{key:"k2",value:2}', '{key:"k3",value:3}', '{key:"k4",value:4}']
INVALID = ['{key:"k1",value:1}', '{key:"k2",value:"dummy"}', '{key:"k3",value:3}', '{key:"k4",value:4}']


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    register_mine()


def _filter(home: Path, content: list[str], extra: str) -> tuple[Execution, dict[str, Any], list[str]]:
    body = "".join(f"      {line}\n" for line in content)
    exe = run_flow(f"""
id: filter
namespace: company.team
tasks:
  - id: items
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
{body}  - id: filter
    type: io.kestra.plugin.core.storage.FilterItems
    from: "{{{{ outputs.items.uri }}}}"
    filterCondition: " {{{{ value % 2 == 0 }}}} "
{extra}
""", home)
    run = next((r for r in exe.task_runs if r.task_id == "filter"), None)
    outputs = run.outputs if run is not None else {}
    kept = files_of(home).get(outputs["uri"]).decode().splitlines() if "uri" in outputs else []
    return exe, outputs, kept


@pytest.mark.parametrize(("content", "extra", "kept", "dropped"), [
    (VALID, "    filterType: INCLUDE", ["k2", "k4"], 2),
    (VALID, "    filterType: EXCLUDE", ["k1", "k3"], 2),
    (INVALID, "    errorOrNullBehavior: INCLUDE", ["k2", "k4"], 2),
    (INVALID, "    errorOrNullBehavior: EXCLUDE", ["k4"], 3),
])
def test_filter_items_keeps_or_drops_items_by_condition_and_by_error_behaviour(
        tmp_path: Path, content: list[str], extra: str, kept: list[str], dropped: int) -> None:
    exe, outputs, lines = _filter(tmp_path, content, extra)
    assert exe.state.current is StateType.SUCCESS
    assert outputs["processedItemsTotal"] == 4 and outputs["droppedItemsTotal"] == dropped
    assert [line.split('"')[1] for line in lines] == kept
    assert str(outputs["uri"]).endswith(".ion")


def test_filter_items_fails_on_an_item_its_condition_cannot_evaluate_by_default(tmp_path: Path) -> None:
    exe, _, _ = _filter(tmp_path, INVALID, "")
    errors = [e["message"] for e in logs_of(tmp_path, exe.id, "filter") if e["level"] == "ERROR"]
    assert exe.state.current is StateType.FAILED
    assert any('`filterCondition` failed on item {key:"k2",value:"dummy"}' in m for m in errors)


def test_deduplicate_items_keeps_the_last_item_of_each_key_in_file_order(tmp_path: Path) -> None:
    exe = run_flow("""
id: dedup
namespace: company.team
tasks:
  - id: items
    type: io.kestra.plugin.core.storage.Write
    content: |
      {id:1,email:"kelly@example.com",n:"first"}
      {id:2,email:"miguel@example.net",n:"only"}
      {id:3,email:"kelly@example.com",n:"last"}
      {id:4,email:"jessica@example.com",n:"first"}
      {id:5,email:"jessica@example.com",n:"last"}
  - id: dedup
    type: io.kestra.core.tasks.storages.DeduplicateItems
    from: "{{ outputs.items.uri }}"
    expr: "{{ email }}"
""", tmp_path)
    outputs = next(r for r in exe.task_runs if r.task_id == "dedup").outputs
    lines = files_of(tmp_path).get(outputs["uri"]).decode().splitlines()
    assert exe.state.current is StateType.SUCCESS
    assert [line.split(",")[0] for line in lines] == ["{id:2", "{id:3", "{id:5"]
    assert outputs["numKeys"] == 3 and outputs["processedItemsTotal"] == 5 and outputs["droppedItemsTotal"] == 2
