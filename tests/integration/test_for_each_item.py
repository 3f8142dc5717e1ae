"""ForEachItem end to end on the embedded runtime: real files, real child executions.

The outcomes pinned here are the ones Kestra's own tests assert for its `for-each-item*` flows:
four task runs (`each`, `each_split`, `each_items`, `each_merge`), `numberOfBatches` and the
`iterations` counters on `each_items`, one child per batch whose trigger carries its iteration,
the merged outputs one line per child, three task runs and FAILED when children fail and
`transmitFailed` holds.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from lanner.errors import LannerError
from lanner.loading.flows import load_flow
from lanner.model.execution import Execution
from lanner.model.state import StateType
from lanner.plugins import registry
from lanner.runtime.catalog import FlowCatalog
from tests.conftest import files_of, logs_of, repository_of, run_flow

RETURN = "io.kestra.plugin.core.debug.Return"
SHELL = "type: io.kestra.plugin.scripts.shell.Commands\n    taskRunner: {type: io.kestra.plugin.core.runner.Process}"


@pytest.fixture(autouse=True, scope="module")
def _declared_plugins() -> None:
    """ForEachItem as this checkout's pyproject.toml declares it: the installed package's entry points
    may predate it (a reinstall makes this a no-op)."""
    declared = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    for name, target in declared["project"]["entry-points"]["lanner.plugins"].items():
        if name.endswith("ForEachItem"):
            module, _, attr = target.partition(":")
            registry.register(name, getattr(__import__(module, fromlist=[attr]), attr))


def _child(extra: str = "", outputs: bool = True) -> object:
    return load_flow(f"""
id: child
namespace: company.team
inputs:
  - {{id: items, type: STRING}}
tasks:
  - {{id: lines, type: {RETURN}, format: "{{{{ read(inputs.items) | trim }}}}"}}
{extra}
""" + ("""outputs:
  - {id: value, type: STRING, value: "{{ outputs.lines.value }}"}
""" if outputs else ""))


def _parent(each: str, lines: str = "$(seq 1 10)", after: str = "", command: str | None = None) -> str:
    """A parent that writes `data.txt` (one line per word of `lines`, or by `command`) and splits it."""
    command = command or f'printf "%s\\n" {lines} > data.txt'
    return f"""
id: parent
namespace: company.team
tasks:
  - id: make
    {SHELL}
    outputFiles: [data.txt]
    commands:
      - |
        {command}
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ outputs.make.outputFiles['data.txt'] }}}}"
    namespace: company.team
    flowId: child
    inputs:
      items: "{{{{ taskrun.items }}}}"
{each}
{after}
"""


def _run(tmp_path: Path, each: str, child: object, **kw: str) -> tuple[Execution, dict]:
    exe = run_flow(_parent(each, **kw), tmp_path, catalog=FlowCatalog(flows=[child]))
    return exe, {r.task_id: r for r in exe.task_runs}


def _children(tmp_path: Path, items_run) -> list[Execution]:
    repo = repository_of(tmp_path)
    return [repo.get(eid) for eid in items_run.outputs["executionIds"]]


def test_a_file_of_ten_lines_split_by_three_rows_starts_four_children_and_merges_their_outputs(tmp_path: Path) -> None:
    exe, runs = _run(tmp_path, "    batch: {rows: 3}", _child())
    assert exe.state.current is StateType.SUCCESS
    assert [r.task_id for r in exe.task_runs] == ["make", "each", "each_split", "each_items", "each_merge"]
    items = runs["each_items"]
    assert items.outputs["numberOfBatches"] == 4
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 4}
    assert [a.state.current for a in items.attempts] == [StateType.SUCCESS]
    children = _children(tmp_path, items)
    assert [c.state.current for c in children] == [StateType.SUCCESS] * 4
    assert [c.trigger["variables"]["taskRunIteration"] for c in children] == [0, 1, 2, 3]
    assert all(c.parent_id == exe.id and c.labels["system.correlationId"] == exe.id for c in children)
    assert all("/tasks/each_split/" in c.inputs["items"] and c.inputs["items"].endswith(".txt") for c in children)
    merged = files_of(tmp_path).get(runs["each_merge"].outputs["subflowOutputs"]).decode()
    assert merged.splitlines() == ['{value:"1\\n2\\n3"}', '{value:"4\\n5\\n6"}', '{value:"7\\n8\\n9"}', '{value:"10"}']


@pytest.mark.parametrize("batch,expected", [
    ("{bytes: '6'}", ["1\n2\n3", "4\n5\n6", "7\n8\n9", "10"]),  # a new batch once 6 bytes (with separators) are in
    ("{partitions: 3}", ["1\n4\n7\n10", "2\n5\n8", "3\n6\n9"]),  # dealt round-robin
    ("{regexPattern: '^(\\d)'}", ["1\n10", "2", "3", "4", "5", "6", "7", "8", "9"]),  # grouped by the first group
    ("{rows: '{{ 5 }}'}", ["1\n2\n3\n4\n5", "6\n7\n8\n9\n10"]),  # a template
    ("{rows: 2, separator: ';'}", ["1;2", "3;4", "5;6", "7;8", "9;10"]),
])
def test_each_way_of_batching_cuts_the_lines_as_kestra_does(tmp_path: Path, batch: str, expected: list[str]) -> None:
    exe, runs = _run(tmp_path, f"    batch: {batch}", _child())
    assert exe.state.current is StateType.SUCCESS
    outputs = runs["each_items"].outputs["executionOutputs"]
    assert [outputs[str(i)]["value"].rstrip(";") for i in range(len(outputs))] == expected


def test_without_a_batch_each_line_is_its_own_batch(tmp_path: Path) -> None:
    exe, runs = _run(tmp_path, "", _child(), lines="a b c")
    assert runs["each_items"].outputs["numberOfBatches"] == 3
    assert exe.state.current is StateType.SUCCESS


def test_failing_children_fail_the_items_run_and_the_flow_and_the_merge_does_not_run(tmp_path: Path) -> None:
    failing = _child(extra="  - {id: boom, type: io.kestra.plugin.core.execution.Fail}")
    exe, runs = _run(tmp_path, "    batch: {rows: 4}", failing)
    assert exe.state.current is StateType.FAILED
    assert "each_merge" not in runs
    assert runs["each_items"].current is StateType.FAILED
    assert runs["each_items"].outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "FAILED": 3}
    assert [c.state.current for c in _children(tmp_path, runs["each_items"])] == [StateType.FAILED] * 3


def test_without_transmit_failed_failing_children_leave_the_flow_successful(tmp_path: Path) -> None:
    failing = _child(extra="  - {id: boom, type: io.kestra.plugin.core.execution.Fail, condition: "
                           "\"{{ read(inputs.items) | trim == '5' }}\"}")
    exe, runs = _run(tmp_path, "    batch: {rows: 1}\n    transmitFailed: false", failing, lines="4 5 6")
    assert exe.state.current is StateType.SUCCESS
    assert runs["each_items"].current is StateType.SUCCESS
    assert runs["each_items"].outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 2, "FAILED": 1}
    assert runs["each_merge"].current is StateType.SUCCESS


def test_without_wait_the_items_run_ends_at_once_with_every_child_counted_successful(tmp_path: Path) -> None:
    exe, runs = _run(tmp_path, "    batch: {rows: 5}\n    wait: false", _child())
    assert exe.state.current is StateType.SUCCESS
    assert runs["each_items"].outputs["iterations"] == {"RUNNING": 0, "SUCCESS": 2}
    assert len(_children(tmp_path, runs["each_items"])) == 2  # created, not waited for
    assert runs["each_merge"].outputs == {}  # nothing waited for, nothing merged


def test_an_empty_file_starts_no_child_and_ends_successful_without_outputs(tmp_path: Path) -> None:
    exe = run_flow(_parent("", command=": > data.txt"), tmp_path, catalog=FlowCatalog(flows=[_child()]))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS
    assert [r.task_id for r in exe.task_runs] == ["make", "each", "each_split", "each_items", "each_merge"]
    assert runs["each_items"].outputs == {}


def test_items_that_are_not_an_internal_storage_uri_fail_the_split_saying_so(tmp_path: Path) -> None:
    exe = run_flow("""
id: parent
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: /etc/passwd
    namespace: company.team
    flowId: child
""", tmp_path, catalog=FlowCatalog(flows=[_child()]))
    assert exe.state.current is StateType.FAILED
    errors = [m["message"] for m in logs_of(tmp_path, exe.id, "each_split") if m["level"] == "ERROR"]
    assert any("/etc/passwd" in m and "not an internal storage URI" in m for m in errors)


def test_inputs_may_read_the_batch_file_because_they_are_rendered_on_the_worker(tmp_path: Path) -> None:
    child = load_flow("""
id: child
namespace: company.team
inputs:
  - {id: json, type: JSON}
tasks:
  - {id: say, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.json.n }}"}
outputs:
  - {id: n, type: STRING, value: "{{ outputs.say.value }}"}
""")
    exe = run_flow(_parent("", command="""printf '{"n":1}\\n{"n":2}\\n' > data.txt""").replace(
        'items: "{{ taskrun.items }}"', 'json: "{{ json(read(taskrun.items)) }}"'), tmp_path,
        catalog=FlowCatalog(flows=[child]))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.SUCCESS
    assert runs["each_items"].outputs["executionOutputs"] == {"0": {"n": "1"}, "1": {"n": "2"}}


def test_a_missing_child_flow_fails_every_batch_and_the_flow(tmp_path: Path) -> None:
    exe = run_flow(_parent("    batch: {rows: 5}"), tmp_path, catalog=FlowCatalog(flows=[]))
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.FAILED
    assert runs["each_items"].outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "FAILED": 2}
    errors = [m["message"] for m in logs_of(tmp_path, exe.id, "each_items") if m["level"] == "ERROR"]
    assert errors and all("child" in m for m in errors)


def test_a_kill_reaches_every_running_child_and_the_finally_still_runs(tmp_path: Path) -> None:
    sleepy = _child(extra="  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S}")
    exe = run_flow(_parent("    batch: {rows: 5}\n    finally:\n      - {id: cleanup, type: " + RETURN
                           + ", format: done}"), tmp_path, catalog=FlowCatalog(flows=[sleepy]),
                   kill_when=lambda kind, item: kind == "log" and "Started 2 subflow" in item.message)
    runs = {r.task_id: r for r in exe.task_runs}
    assert exe.state.current is StateType.KILLED
    assert runs["each_items"].current is StateType.KILLED
    assert runs["cleanup"].current is StateType.SUCCESS
    assert [c.state.current for c in _children(tmp_path, runs["each_items"])] == [StateType.KILLED] * 2


def _refusal(each_props: str, more: str = "") -> str:
    with pytest.raises(LannerError) as caught:
        load_flow(f"""id: parent
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ inputs.file }}}}"
    namespace: company.team
    flowId: child
{each_props}{more}""", "parent.yaml")
    return caught.value.render()


@pytest.mark.parametrize("props,said", [
    ("    scheduleDate: '2030-01-01T00:00:00Z'\n", "parent.yaml:9:5: tasks[0] (each): `scheduleDate`"),
    ("    restartBehavior: NEW_EXECUTION\n", "parent.yaml:9:5: tasks[0] (each): `restartBehavior`"),
    ("    batch: {rows: 2, bytes: 10KB}\n", "`batch` sets `rows` and `bytes`; only one way of splitting applies"),
    ("    tasks: []\n", "unknown property `tasks` of `ForEachItem`"),
])
def test_what_lanner_does_not_do_is_refused_at_its_line(props: str, said: str) -> None:
    assert said in _refusal(props)


def test_a_task_id_that_clashes_with_one_a_for_each_item_adds_is_refused() -> None:
    said = _refusal("", "  - {id: each_merge, type: io.kestra.plugin.core.log.Log, message: hi}\n")
    assert "duplicate task id `each_merge`" in said


def test_a_for_each_item_that_starts_its_own_flow_is_refused_before_it_runs() -> None:
    with pytest.raises(LannerError) as caught:
        load_flow("""id: child
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.file }}"
    namespace: company.team
    flowId: child
""", "child.yaml")
    assert "child.yaml:4:5: tasks[0] (each)" in caught.value.render()
    assert "company.team.child → company.team.child" in caught.value.render()


def test_inside_a_foreach_each_iteration_splits_its_own_file_and_merges_its_own_children(tmp_path: Path) -> None:
    child = load_flow("""
id: child
namespace: company.team
inputs:
  - {id: items, type: STRING}
  - {id: batch, type: INT}
tasks:
  - {id: lines, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.batch }}:{{ read(inputs.items) | trim }}"}
outputs:
  - {id: value, type: STRING, value: "{{ outputs.lines.value }}"}
""")
    exe = run_flow(f"""
id: parent
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: make
        {SHELL.replace(chr(10), chr(10) + "    ")}
        outputFiles: [data.txt]
        commands: ['printf "%s\\\\n" {{{{ taskrun.value }}}}1 {{{{ taskrun.value }}}}2 > data.txt']
      - id: each
        type: io.kestra.plugin.core.flow.ForEachItem
        items: "{{{{ outputs.make[parent.taskrun.value].outputFiles['data.txt'] }}}}"  # as Kestra's example
        namespace: company.team
        flowId: child
        inputs: {{items: "{{{{ taskrun.items }}}}", batch: "{{{{ taskrun.iteration }}}}"}}
      - id: show
        type: {RETURN}
        format: "{{{{ read(currentEachOutput(outputs.each_merge).subflowOutputs) }}}}"
""", tmp_path, catalog=FlowCatalog(flows=[child]))
    assert exe.state.current is StateType.SUCCESS
    shown = {r.value: r.outputs["value"] for r in exe.task_runs if r.task_id == "show"}
    assert shown == {"a": '{value:"0:a1"}\n{value:"1:a2"}\n', "b": '{value:"0:b1"}\n{value:"1:b2"}\n'}
