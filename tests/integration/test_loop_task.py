"""The Loop task on the real runtime: what each iteration sees, and what the Loop gives back."""

from __future__ import annotations

from pathlib import Path

from lanner.model.state import StateType
from tests.conftest import run_flow
from tests.integration.declared_plugins import register_declared
from tests.unit.engine.test_loop import RETURN, loop

register_declared(lambda name, target: name == "io.kestra.plugin.core.flow.Loop")


def test_each_iteration_sees_its_item_and_only_its_own_outputs(tmp_path: Path) -> None:
    body = RETURN + ("      - {id: echo, type: io.kestra.plugin.core.debug.Return, "
                     "format: \"{{ outputs.process.value }}\"}\n")
    exe = run_flow(loop(body, "    values: [\"a\", \"b\", \"b\"]\n    concurrencyLimit: 0\n"), tmp_path)
    echoes = sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "echo")
    assert echoes == ["0:a", "1:b", "2:b"]  # a repeated value is an iteration of its own
    assert exe.state.current is StateType.SUCCESS


def test_the_loop_outputs_count_iterations_by_state_and_list_declared_outputs(tmp_path: Path) -> None:
    extra = ("    values: {\"k1\": \"v1\", \"k2\": \"v2\"}\n    outputs:\n      - id: label\n        type: STRING\n"
             "        value: \"{{ outputs.process.value }}-{{ item.key }}\"\n")
    after = ("  - id: after\n    type: io.kestra.plugin.core.debug.Return\n"
             "    format: \"{{ outputs.loop.outputs | length }} {{ outputs.process ?? 'hidden' }}\"\n")
    exe = run_flow(loop(RETURN, extra, after), tmp_path)
    out = exe.task_runs[0].outputs
    assert out["iterationCount"] == 2 and out["terminatedIterations"] == {"SUCCESS": 2}
    assert [o["outputs"]["label"] for o in out["outputs"]] == ["0:v1-k1", "1:v2-k2"]
    assert [o["item"] for o in out["outputs"]] == [{"value": "v1", "iteration": 0, "key": "k1"},
                                                   {"value": "v2", "iteration": 1, "key": "k2"}]
    after_run = next(r for r in exe.task_runs if r.task_id == "after")
    assert after_run.outputs["value"] == "2 hidden"  # an iteration's outputs stay inside the Loop


def test_the_loop_outputs_also_read_by_iteration_value_as_older_kestra_keyed_them(tmp_path: Path) -> None:
    extra = ("    values: [\"3\", \"x\", \"x\"]\n    outputs:\n      - id: label\n        type: STRING\n"
             "        value: \"{{ outputs.process.value }}\"\n")
    after = ("  - id: after\n    type: io.kestra.plugin.core.debug.Return\n"
             "    format: \"{{ outputs.loop.outputs['3'].label }} {{ outputs.loop.outputs['x'].label }} "
             "{{ outputs.loop.outputs[0].outputs.label }} {{ outputs.loop.outputs['1'].item.value }} "
             "{{ loopOutputs(outputs.loop.outputs, 'label') | join(',') }}\"\n")
    exe = run_flow(loop(RETURN, extra, after), tmp_path)
    after_run = next(r for r in exe.task_runs if r.task_id == "after")
    # by value (a repeated one: the last iteration to end), by position, and the list as a whole
    assert after_run.outputs["value"] == "0:3 2:x 0:3 x 0:3,1:x,2:x"
    assert isinstance(exe.task_runs[0].outputs["outputs"], list)  # stored as the plain list


def test_nested_loops_see_the_enclosing_items_as_parent_and_parents(tmp_path: Path) -> None:
    body = ("      - id: inner\n        type: io.kestra.plugin.core.flow.Loop\n        values: [1, 2]\n        tasks:\n"
            "          - {id: show, type: io.kestra.plugin.core.debug.Return, "
            "format: \"{{ item.parent.value }}/{{ item.value }}/{{ item.parents[0].index }}\"}\n")
    exe = run_flow(loop(body, "    values: [\"x\", \"y\"]\n"), tmp_path)
    assert sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "show") == \
        ["x/1/0", "x/2/0", "y/1/1", "y/2/1"]


def test_three_nested_loops_list_the_enclosing_items_outermost_first(tmp_path: Path) -> None:
    body = ("      - id: l2\n        type: io.kestra.plugin.core.flow.Loop\n        values: [\"p\"]\n        tasks:\n"
            "          - id: l3\n            type: io.kestra.plugin.core.flow.Loop\n"
            "            values: [\"q\", \"r\"]\n"
            "            tasks:\n"
            "              - {id: show, type: io.kestra.plugin.core.debug.Return, format: \"{{ item.parents[0].value }}"
            "{{ item.parents[1].value }}{{ item.parent.value }}{{ item.value }}\"}\n")
    exe = run_flow(loop(body, "    values: [\"o\"]\n"), tmp_path)
    assert sorted(r.outputs["value"] for r in exe.task_runs if r.task_id == "show") == ["oppq", "oppr"]


def test_a_declared_output_that_cannot_be_rendered_fails_its_iteration_and_the_loop(tmp_path: Path) -> None:
    extra = ("    values: [1, 2]\n    outputs:\n      - id: nothing\n        type: STRING\n"
             "        value: \"{{ outputs.missing.value }}\"\n")
    exe = run_flow(loop(RETURN, extra), tmp_path)
    runs = [r for r in exe.task_runs if r.task_id == "process"]
    assert len(runs) == 1 and runs[0].current is StateType.SUCCESS  # its tasks succeeded; no second iteration
    assert exe.task_runs[0].outputs["terminatedIterations"] == {"FAILED": 1}
    assert exe.task_runs[0].current is StateType.FAILED and exe.state.current is StateType.FAILED


def test_inside_an_iteration_tasks_states_are_that_iterations_own(tmp_path: Path) -> None:
    body = RETURN + ("      - {id: state, type: io.kestra.plugin.core.debug.Return, "
                     "format: \"{{ tasks.process.state }}\"}\n")
    exe = run_flow(loop(body, "    values: [\"a\", \"b\"]\n    concurrencyLimit: 0\n"), tmp_path)
    assert [r.outputs["value"] for r in exe.task_runs if r.task_id == "state"] == ["SUCCESS", "SUCCESS"]
