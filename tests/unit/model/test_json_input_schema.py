"""A JSON input's `jsonSchema`: a bad schema is refused by `lanner validate` at its line, and a
value that breaks a good one is refused when the execution's inputs are typed, naming where in the
value and what the schema wanted (Kestra's JsonInputSchemaFlowIntegrationTest: the value must match
the JSON schema, or the execution is not created)."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.inputs import resolve_inputs

TASKS = "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"
PERSON = ('    jsonSchema: |\n      {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",\n'
          '       "required": ["name"], "properties": {"name": {"type": "string"}},\n'
          '       "additionalProperties": false}\n')


def _flow(inputs: str) -> str:
    return f"id: f\nnamespace: company.team\ninputs:\n{inputs}{TASKS}"


def _refused(inputs: str, given: dict[str, object] | None = None) -> list[str]:
    """What `lanner validate` says of these inputs (given None), or what typing `given` raises."""
    with pytest.raises(ValidationErrors) as info:
        flow = load_flow(_flow(inputs), file="f.yaml")
        resolve_inputs(flow, given or {})
    return [e.render() for e in info.value.errors]


def _refusal(inputs: str, given: dict[str, object]) -> str:
    [message] = _refused(inputs, given)
    return message


def test_a_json_value_matching_the_schema_is_taken_as_given() -> None:
    flow = load_flow(_flow("  - id: person\n    type: JSON\n" + PERSON + "  - {id: free, type: JSON}\n"))
    given = {"person": '{"name": "kestra"}', "free": '{"any": "shape"}'}
    assert resolve_inputs(flow, given) == {"person": {"name": "kestra"}, "free": {"any": "shape"}}


def test_a_json_value_breaking_the_schema_is_refused_with_each_place_and_reason() -> None:
    message = _refusal("  - id: person\n    type: JSON\n" + PERSON, {"person": {"name": 42, "age": 3}})
    assert message.startswith("input `person`: it must match the JSON schema given in `jsonSchema`: "), message
    assert "$: Additional properties are not allowed ('age' was unexpected)" in message
    assert "$.name: 42 is not of type 'string'" in message


def test_a_missing_required_key_is_named_and_items_of_a_list_are_located_by_index() -> None:
    assert "$: 'name' is a required property" in _refusal("  - id: person\n    type: JSON\n" + PERSON,
                                                           {"person": "{}"})
    numbers = "  - id: n\n    type: JSON\n    jsonSchema: {type: array, items: {type: integer}}\n"
    assert "$[1]: 'x' is not of type 'integer'" in _refusal(numbers, {"n": '[1, "x"]'})


def test_a_schema_written_as_a_yaml_map_is_read_as_the_same_schema() -> None:
    flow = load_flow(_flow("  - id: p\n    type: JSON\n    jsonSchema:\n      type: object\n      required: [id]\n"))
    assert resolve_inputs(flow, {"p": '{"id": 1}'}) == {"p": {"id": 1}}
    with pytest.raises(ValidationErrors):
        resolve_inputs(flow, {"p": "{}"})


@pytest.mark.parametrize("schema,line,expected", [
    ("'{\"type\": '", 6, "`jsonSchema` is not valid JSON: Expecting value at line 1, column 10 of the schema"),
    ("'{\"properties\": {\"name\": {\"type\": \"strung\"}}}'", 6,
     "`jsonSchema` is not a valid JSON Schema: at `$.properties.name.type` of the schema:"),
    ("'[1, 2]'", 6, "`jsonSchema` must be a JSON object (a schema), not list"),
])
def test_a_bad_schema_is_refused_at_its_line_when_the_flow_is_validated(schema: str, line: int,
                                                                         expected: str) -> None:
    [problem] = _refused(f"  - id: p\n    type: JSON\n    jsonSchema: {schema}\n")
    assert problem.startswith(f"f.yaml:{line}:17: inputs[0] (p): {expected}"), problem


def test_json_schema_on_another_input_type_is_refused_as_a_json_only_property() -> None:
    [problem] = _refused("  - id: s\n    type: STRING\n    jsonSchema: '{}'\n")
    assert "`jsonSchema` is not a property of a STRING input (only of JSON)" in problem


@pytest.mark.parametrize("defaults,expected", [
    ("'{\"name\": 42}'", "`defaults`: it must match the JSON schema given in `jsonSchema`: $.name: 42 is not of type"),
    ("{name: 42}", "`defaults`: it must match the JSON schema given in `jsonSchema`: $.name: 42 is not of type"),
    ("'{\"name\": '", "`defaults` is not valid JSON: Expecting value at character 9"),
])
def test_defaults_breaking_the_schema_are_refused_when_the_flow_is_validated(defaults: str, expected: str) -> None:
    [problem] = _refused("  - id: person\n    type: JSON\n" + PERSON + f"    defaults: {defaults}\n")
    assert problem.startswith("f.yaml:10:") and expected in problem, problem


def test_defaults_matching_the_schema_are_used_when_no_value_is_given() -> None:
    flow = load_flow(_flow("  - id: person\n    type: JSON\n" + PERSON + "    defaults: {name: ada}\n"))
    assert resolve_inputs(flow, {}) == {"person": {"name": "ada"}}
