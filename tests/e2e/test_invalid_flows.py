"""Every invalid flow under tests/flows/invalid is refused with a located error, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Cli

INVALID = sorted((ROOT / "tests" / "flows" / "invalid").glob("*.yaml"))


def test_there_are_invalid_flows_to_check() -> None:
    assert len(INVALID) >= 20


def test_validate_refuses_each_invalid_flow_with_file_and_line(cli: Cli, tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    files = [*INVALID, binary]
    proc = cli("validate", *map(str, files))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    for f in files:
        assert re.search(rf"^error: {re.escape(str(f))}(:\d+)?(:\d+)?: .+", proc.stderr, re.M), f"{f.name} not reported"


@pytest.mark.parametrize("name,expected", [
    ("message_map", "`message`: expected a string or a list, got a map"),
    ("nested_bad", "tasks[0].tasks[0] (x): unknown property `mesage` of `Log`; did you mean `message`?"),
    ("inputs_no_type", "inputs[0] (x): missing required property `type`"),
    ("dag_bad", "`tasks[0]` has no `task` and has an unknown `id`"),
    ("deep", "nested too deeply"),
    ("triggers_bad", "triggers[0] (s): cron `nope`"),
    ("unknown_top", "unknown property `taks`; did you mean `tasks`?"),
    ("template_in_key", "unknown filter `nofilter`"),
    ("subflow_calls_itself", "tasks[0] (again): Subflow starts flow `company.team.forever` again "
                             "(company.team.forever → company.team.forever); a flow cannot call itself"),
    ("listener_unknown_type", ":10:15: listeners[0].tasks[0] (notify): unknown task type "
                              "`io.kestra.plugin.core.log.Lgo`; did you mean `io.kestra.plugin.core.log.Log`?"),
    ("listener_condition_unsupported", ":9:9: the flow: `listeners.0.conditions.0.type`: condition "
                                       "`io.kestra.plugin.core.condition.Weekend` is not supported in listeners"),
    ("sla_no_duration", ":4:5: the flow: `sla.0`: a MAX_DURATION SLA needs `duration`"),
    ("sla_unknown_property", ":8:5: sla.0.label: the flow: unknown property `label`"),
])
def test_messages_say_what_is_wrong(cli: Cli, name: str, expected: str) -> None:
    proc = cli("validate", str(ROOT / "tests" / "flows" / "invalid" / f"{name}.yaml"))
    assert expected in proc.stderr
    assert proc.stderr.count("error: ") == 1, proc.stderr  # one mistake, one message


def test_a_misspelling_in_one_task_does_not_hide_a_missing_property_in_another(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "two.yaml"
    flow.write_text("id: two\nnamespace: a\ntasks:\n"
                    "  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
                    "  - id: b\n    type: io.kestra.plugin.core.log.Log\n    errorMessage: x\n")
    err = cli("validate", str(flow)).stderr
    assert f"{flow}:4: tasks[0] (a): missing required property `message` of `Log`" in err
    assert f"{flow}:8:5: tasks[1] (b): unknown property `errorMessage` of `Log`; did you mean `message`?" in err
    assert err.count("error: ") == 2


def test_listeners_are_valid_with_a_deprecation_warning_at_their_line(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "legacy.yaml"
    flow.write_text("id: legacy\nnamespace: a\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n"
                    "listeners:\n  - tasks:\n      - {id: l, type: io.kestra.plugin.core.log.Log, message: hi}\n")
    proc = cli("validate", str(flow))
    assert proc.returncode == 0 and "error: " not in proc.stderr
    assert f"warning: {flow}:5: `listeners` are deprecated in Kestra" in proc.stderr
    assert "prefer `afterExecution`" in proc.stderr
