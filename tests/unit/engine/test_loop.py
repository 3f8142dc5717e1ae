"""The Loop flowable: isolated iterations, their `item`, the Loop's outputs, failures and breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.model.state import StateType
from tests.integration.declared_plugins import register_declared
from tests.unit.engine.driver import Driver

register_declared(lambda name, target: name == "io.kestra.plugin.core.flow.Loop")


def loop(body: str, extra: str = "", after: str = "") -> str:
    return ("id: f\nnamespace: company.team\ntasks:\n  - id: loop\n    type: io.kestra.plugin.core.flow.Loop\n"
            f"{extra}    tasks:\n{body}{after}")


RETURN = ("      - {id: process, type: io.kestra.plugin.core.debug.Return, "
          "format: \"{{ item.index }}:{{ item.value }}\"}\n")


def test_a_failed_iteration_fails_the_loop_and_starts_no_further_one() -> None:
    body = "      - {id: boom, type: io.kestra.plugin.core.execution.Fail}\n"
    d = Driver(loop(body + RETURN, "    values: [1, 2, 3]\n"), {"boom": StateType.FAILED})
    d.run()
    assert d.created_order() == ["loop", "boom"]  # serial by default; the iteration's next task never starts
    assert d.exe.task_runs[0].outputs["terminatedIterations"] == {"FAILED": 1}
    assert d.exe.state.current is StateType.FAILED


def test_without_transmit_failed_every_iteration_runs_and_the_loop_succeeds() -> None:
    body = "      - {id: boom, type: io.kestra.plugin.core.execution.Fail}\n"
    d = Driver(loop(body + RETURN, "    values: [1, 2, 3]\n    transmitFailed: false\n"), {"boom": StateType.FAILED})
    d.run()
    assert d.created_order() == ["loop", "boom", "boom", "boom"]
    assert d.exe.task_runs[0].outputs["terminatedIterations"] == {"FAILED": 3}
    assert d.states()["loop"] == "SUCCESS" and d.exe.state.current is StateType.SUCCESS


def test_break_when_stops_further_iterations_after_the_one_that_made_it_true() -> None:
    extra = "    values: [1, 2, 3, 4]\n    breakWhen: \"{{ item.value == '2' and iteration.state == 'SUCCESS' }}\"\n"
    d = Driver(loop(RETURN, extra))
    d.run()
    assert [r.value for r in d.exe.task_runs if r.task_id == "process"] == ["1", "2"]
    assert d.exe.task_runs[0].outputs["brokenAfter"] == 1
    assert d.exe.state.current is StateType.SUCCESS


def test_errors_and_finally_around_a_loop_run_once() -> None:
    body = "      - {id: boom, type: io.kestra.plugin.core.execution.Fail}\n"
    blocks = ("    errors:\n      - {id: e1, type: io.kestra.plugin.core.log.Log, message: e}\n"
              "    finally:\n      - {id: a1, type: io.kestra.plugin.core.log.Log, message: a}\n")
    d = Driver(loop(body, "    values: [1, 2]\n    concurrencyLimit: 0\n", "") .replace(
        "    tasks:\n", blocks + "    tasks:\n", 1), {"boom": StateType.FAILED})
    d.run()
    assert d.created_order().count("e1") == 1 and d.created_order().count("a1") == 1
    assert d.states()["a1"] == "SUCCESS" and d.exe.state.current is StateType.FAILED


@pytest.mark.parametrize("values,message", [
    ("\"kestra://some/file.ion\"", "is a file of internal storage"),
    ("\"{{ 3 }}\"", "must be a list or a map, got int"),
    ("[\"a\", null]", "holds 1 null item(s)"),
])
def test_values_that_are_not_a_list_or_a_map_fail_the_loop_saying_why(values: str, message: str) -> None:
    d = Driver(loop(RETURN, f"    values: {values}\n"))
    d.run()
    assert d.states() == {"loop": "FAILED"}
    assert any(message in m for m in d.logs("ERROR"))


STORED = ("    values: [a, b]\n    fetchType: STORE\n"
          "    outputs:\n      - {id: v, type: STRING, value: \"{{ item.value }}\"}\n")


def test_fetch_type_store_keeps_a_uri_per_iteration_and_hands_its_ion_file_to_the_runtime(tmp_path: Path) -> None:
    from lanner.runtime.host import Host
    from lanner.storage.files import LocalFiles

    d = Driver(loop(RETURN, STORED), surroundings=Host(LocalFiles(tmp_path)))
    d.run()
    entries = d.exe.task_runs[0].outputs["outputs"]
    assert [e["item"]["value"] for e in entries] == ["a", "b"]
    files = dict(f for fx in d.effects for f in fx.files)
    assert [files[e["outputs"]["uri"]] for e in entries] == [b'{v:"a"}', b'{v:"b"}']
    assert all(uri.startswith("kestra:///company/team/f/executions/exe1/tasks/loop/") for uri in files)
    assert not any(tmp_path.iterdir())  # the executor names the files; the runtime writes them
    assert d.exe.state.current is StateType.SUCCESS


def test_fetch_type_store_without_a_storage_fails_the_iteration_saying_so() -> None:
    d = Driver(loop(RETURN, STORED))
    d.run()
    assert d.states()["loop"] == "FAILED"
    assert any("cannot store files" in m for m in d.logs("ERROR"))


def test_a_failed_iteration_lets_the_iterations_already_running_finish_theirs() -> None:
    body = ("      - {id: first, type: io.kestra.plugin.core.log.Log, message: x}\n"
            "      - {id: second, type: io.kestra.plugin.core.log.Log, message: x}\n")
    d = Driver(loop(body, "    values: [1, 2, 3]\n    concurrencyLimit: 2\n"),
               {"first": lambda run: StateType.FAILED if run.value == "1" else StateType.SUCCESS})
    d.run()
    assert sorted((r.task_id, r.value) for r in d.exe.task_runs if r.task_id != "loop") == \
        [("first", "1"), ("first", "2"), ("second", "2")]  # iteration 2 ran to its end; 3 never started
    assert d.exe.task_runs[0].outputs["terminatedIterations"] == {"FAILED": 1, "SUCCESS": 1}
    assert d.exe.state.current is StateType.FAILED


def test_a_kill_while_iterations_run_starts_no_further_one_and_runs_the_loops_finally_once() -> None:
    text = loop(RETURN, "    values: [1, 2, 3]\n    concurrencyLimit: 2\n"
                "    finally:\n      - {id: tidy, type: io.kestra.plugin.core.log.Log, message: t}\n")
    d = Driver(text)
    d.start()
    assert len(d.pending) == 2
    d.kill()
    d.run()
    assert d.created_order().count("process") == 2 and d.created_order().count("tidy") == 1
    assert d.states()["tidy"] == "SUCCESS" and d.exe.state.current is StateType.KILLED
