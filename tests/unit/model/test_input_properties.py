"""What `lanner validate` says about a flow's inputs, type by type, and the other properties of issue 12
that used to be accepted and ignored (a flowable task's `logToFile`, a trigger type Lanner does not run).

Each refusal is located at the property the user wrote and names what that input's type takes.
"""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.loading.inputs import deprecations
from lanner.model.inputs import resolve_inputs
from lanner.runtime.triggers import validate as validate_triggers

TASKS = "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _flow(inputs: str, tasks: str = TASKS) -> str:
    return f"id: f\nnamespace: company.team\ninputs:\n{inputs}{tasks}"


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationErrors) as info:
        load_flow(text, file="f.yaml")
    return [e.render() for e in info.value.errors]


def test_an_input_written_with_name_is_read_as_its_id_with_a_located_deprecation() -> None:
    flow = load_flow(_flow("  - name: who\n    type: STRING\n"), file="f.yaml")
    assert [i.id for i in flow.inputs] == ["who"]
    assert resolve_inputs(flow, {"who": "me"}) == {"who": "me"}
    [warning] = deprecations(flow)
    assert warning.render() == "f.yaml:4:5: inputs[0] (who): `name` is deprecated; write `id: who`"
    assert warning.where.path == "inputs[0].name"


def test_a_multiselect_with_options_reads_them_as_values_and_both_together_are_refused() -> None:
    flow = load_flow(_flow("  - {id: m, type: MULTISELECT, options: [a, b]}\n"))
    assert resolve_inputs(flow, {"m": "b"}) == {"m": ["b"]}
    assert [d.where.path for d in deprecations(flow)] == ["inputs[0].options"]
    [problem] = _problems(_flow("  - {id: m, type: MULTISELECT, options: [a], values: [a]}\n"))
    assert "you can't define both `values` and `options`" in problem


def test_date_bounds_are_accepted_and_enforced_when_the_flow_runs() -> None:
    flow = load_flow(_flow("  - id: day\n    type: DATE\n    after: 2024-01-01\n    before: \"2024-12-31\"\n"))
    assert resolve_inputs(flow, {"day": "2024-05-01"}) == {"day": "2024-05-01"}
    with pytest.raises(ValidationErrors) as info:
        resolve_inputs(flow, {"day": "2025-01-01"})
    assert info.value.errors[0].message == \
        "input `day`: it must be before `2024-12-31`, but received `2025-01-01`"


def test_a_property_of_another_input_type_is_refused_naming_what_this_type_takes() -> None:
    [problem] = _problems(_flow("  - id: n\n    type: INT\n    validator: \"^[0-9]+$\"\n"))
    assert problem.startswith("f.yaml:6:5: inputs[0] (n): `validator` is not a property of an INT input "
                              "(only of STRING, SECRET)")
    assert "an INT input takes: defaults, dependsOn, description, displayName, id, max, min, name" in problem
    assert "tasks" not in problem and "namespace" not in problem  # the input's properties, not the flow's


def test_an_unknown_input_property_lists_the_inputs_properties_not_the_flows() -> None:
    [problem] = _problems(_flow("  - id: d\n    type: DATETIME\n    afterr: 2024-01-01T00:00:00Z\n"))
    assert problem == "f.yaml:6:5: inputs[0] (d): unknown property `afterr` of an input; did you mean `after`?"


def test_an_unknown_output_property_lists_the_outputs_properties() -> None:
    text = "id: f\nnamespace: company.team\n" + TASKS + "outputs:\n  - {id: o, value: x, bogus: 1}\n"
    [problem] = _problems(text)
    assert "outputs[0] (o): unknown property `bogus`" in problem
    assert "known properties: description, displayName, id, required, type, value" in problem


@pytest.mark.parametrize(("inputs", "expected"), [
    ("  - {id: s, type: STRING, validator: \"[a-\"}\n",
     "f.yaml:4:38: inputs[0] (s): `validator` `[a-` is not a valid regular expression"),
    ("  - {id: d, type: DATE, after: tomorrow}\n",
     "f.yaml:4:32: inputs[0] (d): `after`: `tomorrow` is not a date like 2024-01-31"),
    ("  - {id: t, type: TIME, before: \"25:00\"}\n",
     "f.yaml:4:33: inputs[0] (t): `before`: `25:00` is not a time like 10:30:00"),
    ("  - {id: p, type: DURATION, max: an hour}\n",
     "f.yaml:4:34: inputs[0] (p): `max`: `an hour` is not an ISO-8601 duration like PT5M"),
    ("  - {id: n, type: INT, min: one}\n",
     "f.yaml:4:29: inputs[0] (n): `min`: `one` is not a number; give `min` as an INT value"),
    ("  - {id: f, type: FILE, allowedFileExtensions: [csv]}\n",
     "f.yaml:4:48: inputs[0] (f): `allowedFileExtensions`: `csv` is not an extension starting with a dot"),
])
def test_a_constraint_that_could_never_be_checked_is_refused_at_its_value(inputs: str, expected: str) -> None:
    [problem] = _problems(_flow(inputs))
    assert problem.startswith(expected)


@pytest.mark.parametrize(("inputs", "expected"), [
    ("  - {id: s, type: SELECT, values: [a], expression: \"{{ [1] }}\"}\n",
     "inputs[0] (s): `expression` (choices computed by a template) is not supported by Lanner; "
     "list the choices in `values`"),
    ("  - {id: f, type: FILE, extension: .csv}\n",
     "inputs[0] (f): `extension` was removed from Kestra's FILE inputs"),
    ("  - {id: a, type: BOOLEAN}\n  - {id: b, type: STRING, dependsOn: {inputs: [a], condition: \"{{ inputs.a }}\"}}\n",
     "inputs[1] (b): `dependsOn.condition` (an input shown only when a template is true) is not supported"),
])
def test_input_features_lanner_does_not_run_are_refused_saying_what_to_do(inputs: str, expected: str) -> None:
    [problem] = _problems(_flow(inputs))
    assert expected in problem


def test_log_to_file_is_accepted_on_a_task_that_runs_and_refused_at_its_line_on_a_flowable() -> None:
    text = "id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n" \
           "    message: x\n    logToFile: true\n"
    assert load_flow(text).tasks[0].logToFile is True
    flowable = "id: f\nnamespace: company.team\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Sequential\n" \
               "    logToFile: true\n    tasks:\n      - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"
    [problem] = _problems(flowable)
    assert problem.startswith("f.yaml:6:5: tasks[0] (s): `logToFile: true` applies to tasks that run")


def test_a_trigger_type_lanner_does_not_run_is_refused_naming_it_and_the_types_it_runs() -> None:
    flow = load_flow("id: f\nnamespace: company.team\n" + TASKS + "triggers:\n  - id: poll\n"
                     "    type: io.kestra.plugin.core.http.Trigger\n    uri: https://example.com\n"
                     "  - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: \"@daily\"}\n",
                     file="f.yaml")
    [problem] = validate_triggers(flow)
    assert problem.render().startswith(
        "f.yaml:7:5: triggers[0] (poll): trigger type `io.kestra.plugin.core.http.Trigger` is not run by Lanner; "
        "it runs the Schedule, Flow and Webhook triggers")


def test_an_unknown_input_type_names_the_inputs_own_type_property() -> None:
    [problem] = _problems(_flow("  - {id: x, type: TEXT}\n"))
    assert problem.startswith("f.yaml:4:13: inputs[0] (x): `type` is `TEXT`, not one of the allowed values; "
                              "use 'STRING'")


def test_a_dotted_input_id_is_valid() -> None:
    flow = load_flow(_flow("  - id: nested.key\n    type: SECRET\n  - id: nested.other\n    type: STRING\n"))
    assert [i.id for i in flow.inputs] == ["nested.key", "nested.other"]


def test_clashing_input_ids_are_refused_at_the_second_ones_line() -> None:
    [problem] = _problems(_flow("  - id: a\n    type: STRING\n  - id: a.b\n    type: STRING\n"))
    assert problem.startswith("f.yaml:6:5: inputs[1]: inputs `a` and `a.b` clash: `inputs.a` cannot be both")
    assert "rename one of them" in problem


def test_an_input_id_with_an_empty_name_at_a_dot_is_refused() -> None:
    [problem] = _problems(_flow("  - id: a.\n    type: STRING\n"))
    assert problem.startswith("f.yaml:4:5: inputs[0]: input id `a.` has an empty name at one of its dots")
