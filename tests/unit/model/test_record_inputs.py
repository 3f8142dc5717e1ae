"""The OBJECT and TABLE input types (Kestra's `properties`, `columns`, `rows`): their definitions as
`lanner validate` checks them, and the values they accept, type and refuse.

Each field of a record is an input of its own: its type, validator, bounds and choices hold for the
key it names; a bad definition is refused at its line, a bad value names the key (and the row).
"""

from __future__ import annotations

from typing import Any

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.flow import Input
from lanner.model.inputs import coerce, resolve_inputs

TASKS = "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"
DISK = """  - id: disk
    type: OBJECT
    properties:
      - {id: size_gb, type: INT, min: 10}
      - {id: mountpoint, type: STRING, validator: "^/.*", required: false}
      - {id: kind, type: SELECT, values: [ssd, hdd], required: false}
"""
DISKS = """  - id: disks
    type: TABLE
    rows: {min: 1, max: 2}
    columns:
      - {id: size_gb, type: INT, min: 10}
      - {id: mountpoint, type: STRING, validator: "^/.*", required: false}
"""


def _flow(inputs: str) -> str:
    return f"id: f\nnamespace: company.team\ninputs:\n{inputs}{TASKS}"


def _problems(inputs: str) -> list[str]:
    with pytest.raises(ValidationErrors) as info:
        load_flow(_flow(inputs), file="f.yaml")
    return [e.render() for e in info.value.errors]


def _refused(flow_inputs: str, given: dict[str, Any]) -> list[str]:
    flow = load_flow(_flow(flow_inputs))
    with pytest.raises(ValidationErrors) as info:
        resolve_inputs(flow, given)
    return [e.message for e in info.value.errors]


# -- OBJECT values -----------------------------------------------------------------------------

@pytest.mark.parametrize("given", ['{"size_gb": "20", "mountpoint": "/data", "kind": "ssd"}',
                                   {"size_gb": 20, "mountpoint": "/data", "kind": "ssd"}])
def test_an_object_from_json_text_or_a_map_is_typed_key_by_key(given: Any) -> None:
    flow = load_flow(_flow(DISK))
    assert resolve_inputs(flow, {"disk": given}) == {"disk": {"size_gb": 20, "mountpoint": "/data", "kind": "ssd"}}


def test_an_optional_property_left_out_or_null_is_none_and_a_required_one_is_missing() -> None:
    flow = load_flow(_flow(DISK))
    assert resolve_inputs(flow, {"disk": {"size_gb": 10, "mountpoint": None}}) == {
        "disk": {"size_gb": 10, "mountpoint": None, "kind": None}}
    assert _refused(DISK, {"disk": {"mountpoint": "/x"}}) == [
        "input `disk`: missing required property `size_gb` (INT)"]


def test_an_object_value_breaking_its_properties_lists_every_problem_by_key() -> None:
    assert _refused(DISK, {"disk": '{"size_gb": 5, "mountpoint": "data", "kind": "tape", "colour": 1}'}) == [
        "input `disk`: unknown property `colour` (declared: size_gb, mountpoint, kind); "
        "property `size_gb`: 5 is below the minimum 10; "
        "property `mountpoint`: it must match the pattern `^/.*`, but received `data`; "
        "property `kind`: `tape` is not one of: ssd, hdd"]


@pytest.mark.parametrize(("given", "message"), [
    ("not json", "not valid JSON: Expecting value at character 0"),
    ("[1, 2]", "`[1,2]` is not a JSON object"),
    ([1, 2], "`[1,2]` is not an object"),
    (7, "`7` is not an object"),
    ("[" * 100_000, "its JSON is nested too deeply"),
])
def test_a_value_that_is_not_an_object_is_refused(given: Any, message: str) -> None:
    [problem] = _refused(DISK, {"disk": given})
    assert problem.startswith(f"input `disk`: {message}")


def test_an_object_default_is_typed_like_a_given_value() -> None:
    inputs = "  - id: o\n    type: OBJECT\n    defaults: {n: \"3\"}\n    properties:\n      - {id: n, type: INT}\n"
    assert resolve_inputs(load_flow(_flow(inputs)), {}) == {"o": {"n": 3}}


# -- TABLE values ------------------------------------------------------------------------------

def test_a_table_is_a_list_of_rows_each_typed_by_the_columns() -> None:
    flow = load_flow(_flow(DISKS))
    assert resolve_inputs(flow, {"disks": '[{"size_gb": 10}, {"size_gb": "30", "mountpoint": "/b"}]'}) == {
        "disks": [{"size_gb": 10, "mountpoint": None}, {"size_gb": 30, "mountpoint": "/b"}]}


def test_a_table_outside_its_rows_bounds_is_refused_with_the_bound() -> None:
    assert _refused(DISKS, {"disks": "[]"}) == ["input `disks`: it must have at least `1` rows, but received 0"]
    assert _refused(DISKS, {"disks": [{"size_gb": 10}] * 3}) == [
        "input `disks`: it must have at most `2` rows, but received 3"]


def test_bad_rows_are_named_by_their_index_and_column() -> None:
    assert _refused(DISKS, {"disks": [{"size_gb": 1, "mountpoint": "/a"}, "x"]}) == [
        "input `disks`: row [0]: column `size_gb`: 1 is below the minimum 10; row [1]: it is not an object (`x`)"]
    assert _refused(DISKS, {"disks": '{"size_gb": 10}'})[0].startswith(
        "input `disks`: `{\"size_gb\":10}` is not a JSON array of objects")


def test_a_huge_table_of_bad_rows_is_reported_in_one_short_message() -> None:
    table = Input.model_validate({"id": "t", "type": "TABLE", "columns": [{"id": "n", "type": "INT"}]})
    with pytest.raises(ValueError, match=r"… and 99990 more$") as info:
        coerce(table, [{"n": "x"}] * 100_000)
    assert str(info.value).count("row [") == 10


def test_a_record_input_built_without_its_fields_says_so_instead_of_passing_anything() -> None:
    with pytest.raises(ValueError, match="declares no `properties`"):
        coerce(Input(id="o", type="OBJECT"), {"a": 1})


# -- definitions -------------------------------------------------------------------------------

def test_the_kestra_definitions_load() -> None:
    flow = load_flow(_flow(DISK + DISKS))
    disks = flow.inputs[1]
    assert [c.id for c in disks.columns or []] == ["size_gb", "mountpoint"]
    assert disks.rows is not None and (disks.rows.min, disks.rows.max) == (1, 2)


def test_a_record_without_fields_is_refused_at_its_line() -> None:
    assert _problems("  - {id: o, type: OBJECT}\n  - {id: t, type: TABLE, columns: []}\n") == [
        "f.yaml:4:13: inputs[0] (o): an OBJECT input needs `properties`: the typed fields of its value; "
        "add `properties:` with a list of inputs, e.g. `- id: size` / `type: INT`",
        "f.yaml:5:35: inputs[1] (t): `columns` must be a list of at least one field; "
        "write each field as an input: `- id: size` / `type: INT`"]


def test_fields_follow_kestras_rules_each_at_its_line() -> None:
    problems = _problems("""  - id: o
    type: OBJECT
    properties:
      - {id: a.b, type: INT}
      - {id: f, type: FILE}
      - {id: n, type: INT, defaults: 3}
      - {id: n, type: STRING, min: 1}
      - {id: s, type: SELECT, values: [x], expression: "{{ x }}"}
""")
    assert problems == [
        "f.yaml:7:14: inputs[0].properties[0] (a.b): a field id cannot hold a dot (`a.b`); name the key without "
        "a dot, e.g. `size_gb`",
        "f.yaml:8:23: inputs[0].properties[1] (f): a field cannot be of type FILE; use one of STRING, INT, FLOAT, "
        "BOOLEAN, BOOL, DATE, DATETIME, TIME, DURATION, EMAIL, URI, SELECT, MULTISELECT",
        "f.yaml:9:28: inputs[0].properties[2] (n): a field cannot declare `defaults` (it is a key of the OBJECT's "
        "value, not an input of its own); remove `defaults`; give defaults to the whole input",
        "f.yaml:10:14: inputs[0].properties[3] (n): the id `n` is declared twice in `properties`; "
        "give each field its own id",
        "f.yaml:10:31: inputs[0].properties[3] (n): `min` is not a property of a STRING input "
        "(only of INT, FLOAT, DURATION); a STRING input takes: description, displayName, id, name, required, type, "
        "validator",
        "f.yaml:11:44: inputs[0].properties[4] (s): `expression` (choices computed by a template) is not supported "
        "by Lanner; list the choices in `values`",
    ]


@pytest.mark.parametrize(("rows", "message"), [
    ("{min: -1}", "`rows.min` must be an integer of at least 0, not `-1`"),
    ("{max: 0}", "`rows.max` must be an integer of at least 1, not `0`"),
    ("{max: two}", "`rows.max` must be an integer of at least 1, not `two`"),
    ("{min: 3, max: 2}", "`rows.min` (3) is above `rows.max` (2)"),
    ("{min: 1, most: 2}", "`rows` takes only `min` and `max`, not `most`"),
    ("[1, 2]", "`rows` must be a map of `min` and `max`"),
])
def test_bad_table_rows_are_refused_at_their_line(rows: str, message: str) -> None:
    [problem] = _problems(f"  - id: t\n    type: TABLE\n    rows: {rows}\n    columns:\n      - {{id: n, type: INT}}\n")
    assert problem == f"f.yaml:6:11: inputs[0] (t): {message}; write e.g. `rows: {{min: 1, max: 10}}`"


def test_rows_and_fields_belong_to_their_own_types_only() -> None:
    [problem] = _problems("  - {id: s, type: STRING, rows: {max: 1}}\n")
    assert "`rows` is not a property of a STRING input (only of TABLE)" in problem


def test_an_output_cannot_be_a_record() -> None:
    with pytest.raises(ValidationErrors) as info:
        load_flow("id: f\nnamespace: company.team\noutputs:\n  - {id: o, type: OBJECT, value: x}\n" + TASKS)
    assert "an output cannot be of type OBJECT (it declares no fields)" in info.value.errors[0].render()
