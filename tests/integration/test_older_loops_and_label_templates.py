"""Properties Kestra accepts and Lanner used to refuse: EachSequential/EachParallel's `value`, and
Labels given as one template rendering to JSON. Run on the embedded runtime with real workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.loading.flows import load_flow
from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow
from tests.integration.declared_plugins import register_declared

RETURN = "io.kestra.plugin.core.debug.Return"
EACH_SEQUENTIAL = "io.kestra.plugin.core.flow.EachSequential"
EACH_PARALLEL = "io.kestra.plugin.core.flow.EachParallel"
LABELS = "io.kestra.plugin.core.execution.Labels"


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    """The older loop names, as this checkout's pyproject.toml declares them (see declared_plugins.py)."""
    register_declared(lambda name, _target: "Each" in name)


def _by_value(exe) -> dict[str, object]:
    return {f"{r.task_id}[{r.value}]" if r.value is not None else r.task_id: r for r in exe.task_runs}


@pytest.mark.parametrize("alias", [EACH_SEQUENTIAL, "io.kestra.core.tasks.flows.EachSequential"])
def test_each_sequential_runs_its_tasks_for_each_item_of_value_in_order(tmp_path: Path, alias: str) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: each
    type: {alias}
    value: ["a", "b", "c"]
    tasks:
      - {{id: one, type: {RETURN}, format: "{{{{ task.id }}}} > {{{{ taskrun.value }}}}"}}
      - {{id: two, type: {RETURN}, format: "{{{{ outputs.one[taskrun.value].value }}}}"}}
  - {{id: after, type: {RETURN}, format: "{{{{ outputs.two.b.value }}}}"}}
""", tmp_path)
    runs = _by_value(exe)
    assert exe.state.current is StateType.SUCCESS
    assert [r.task_id + "/" + str(r.value) for r in exe.task_runs if r.task_id in ("one", "two")] == [
        "one/a", "two/a", "one/b", "two/b", "one/c", "two/c"]
    assert runs["after"].outputs["value"] == "one > b"


def test_each_sequential_reads_value_from_a_template_rendering_json_and_gives_maps_as_json(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
inputs:
  - {{id: items, type: STRING, defaults: '[{{"k": 1}}, {{"k": 2}}]'}}
tasks:
  - id: each
    type: {EACH_SEQUENTIAL}
    value: "{{{{ inputs['items'] }}}}"
    tasks:
      - {{id: one, type: {RETURN}, format: "{{{{ json(taskrun.value).k }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert [(r.value, r.outputs["value"]) for r in exe.task_runs if r.task_id == "one"] == [
        ('{"k":1}', "1"), ('{"k":2}', "2")]


def test_each_parallel_runs_every_item_of_value_and_concurrent_caps_how_many_at_once(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: each
    type: {EACH_PARALLEL}
    value: ["x", "y", "z"]
    concurrent: 2
    tasks:
      - {{id: one, type: {RETURN}, format: "{{{{ taskrun.value }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "one") == ["x", "y", "z"]


def test_each_parallel_with_a_null_item_fails_saying_so(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: each
    type: {EACH_PARALLEL}
    value: '["x", null]'
    tasks:
      - {{id: one, type: {RETURN}, format: "{{{{ taskrun.value }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.FAILED
    assert not [r for r in exe.task_runs if r.task_id == "one"]
    assert any("null values" in line["message"] for line in logs_of(tmp_path, exe.id, "each"))


@pytest.mark.parametrize(("alias", "wrong", "right"), [
    (EACH_SEQUENTIAL, "values", "value"),
    (EACH_PARALLEL, "values", "value"),
    (EACH_PARALLEL, "concurrencyLimit", "concurrent"),
])
def test_the_older_loops_refuse_foreachs_property_names_pointing_at_their_own(alias: str, wrong: str,
                                                                             right: str) -> None:
    value = "" if wrong == "values" else "\n    value: [a]"
    with pytest.raises(LannerError) as caught:
        load_flow(f"""
id: f
namespace: company.team
tasks:
  - id: each
    type: {alias}{value}
    {wrong}: [a]
    tasks:
      - {{id: one, type: {RETURN}, format: x}}
""", "f.yaml")
    message = str(caught.value.render() if hasattr(caught.value, "render") else caught.value)
    assert f"unknown property `{wrong}`" in message and f"`{right}`" in message


@pytest.mark.parametrize("labels", [
    '{"team": "data", "size": 3}',
    '[{"key": "team", "value": "data"}, {"key": "size", "value": 3}]',
])
def test_labels_from_a_template_rendering_a_json_map_or_list(tmp_path: Path, labels: str) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
inputs:
  - {{id: labels, type: JSON, defaults: '{labels}'}}
tasks:
  - {{id: tag, type: {LABELS}, labels: "{{{{ inputs.labels | toJson }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert exe.labels["team"] == "data" and exe.labels["size"] == "3"


def test_a_label_whose_value_is_a_map_holds_its_json(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
tasks:
  - id: tag
    type: {LABELS}
    labels: {{owner: {{name: ada, team: "{{{{ flow.id }}}}"}}}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert json.loads(exe.labels["owner"]) == {"name": "ada", "team": "f"}


@pytest.mark.parametrize(("labels", "says"), [
    ("not json", "which is not JSON"),
    ("[1, 2]", "is not a `{key, value}` map"),
    ("42", "rendered to a int"),
])
def test_labels_from_a_template_that_is_no_map_or_list_fail_the_task_saying_what_it_got(
        tmp_path: Path, labels: str, says: str) -> None:
    exe = run_flow(f"""
id: f
namespace: company.team
inputs:
  - {{id: raw, type: STRING, defaults: '{labels}'}}
tasks:
  - {{id: tag, type: {LABELS}, labels: "{{{{ inputs.raw }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.FAILED
    assert any(says in line["message"] for line in logs_of(tmp_path, exe.id, "tag") if line["level"] == "ERROR")
