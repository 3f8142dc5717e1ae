"""Each input type's accepted values (and the typed value they become) and refused values.

These pin `lanner.model.inputs.coerce` value by value, so its per-type table can change shape
without any user-visible change: what `--input k=v`, a default or the API gives is typed the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lanner.errors import ValidationError, ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.flow import FlowOutput, Input
from lanner.model.inputs import coerce, coerce_output, parse_cli_inputs, resolve_inputs


def _input(type_name: str, **extra: Any) -> Input:
    return Input(id="x", type=type_name, **extra)


ACCEPTED: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("STRING", {}, "text", "text"),
    ("STRING", {}, 42, "42"),
    ("STRING", {}, {"a": [1]}, '{"a":[1]}'),
    ("STRING", {}, [1, "b"], '[1,"b"]'),
    ("SECRET", {}, 7, "7"),
    ("INT", {}, "12", 12),
    ("INT", {}, " -3 ", -3),
    ("INT", {}, 4.0, 4),
    ("INT", {}, 5, 5),
    ("INT", {"min": 1, "max": 10}, "10", 10),
    ("FLOAT", {}, "1.5", 1.5),
    ("FLOAT", {}, 2, 2.0),
    ("FLOAT", {}, "1e3", 1000.0),
    ("FLOAT", {"min": 0, "max": 1}, "0.5", 0.5),
    ("BOOLEAN", {}, True, True),
    ("BOOLEAN", {}, " TRUE ", True),
    ("BOOLEAN", {}, "false", False),
    ("BOOL", {}, False, False),
    ("DATETIME", {}, "2024-01-31T10:00:00Z", "2024-01-31T10:00:00Z"),
    ("DATETIME", {}, "2024-01-31T10:00:00", "2024-01-31T10:00:00Z"),
    ("DATETIME", {}, "2024-01-31T12:00:00+02:00", "2024-01-31T10:00:00Z"),
    ("DATETIME", {}, dt.datetime(2024, 1, 31, 10, 0, 0, 500000, tzinfo=dt.UTC), "2024-01-31T10:00:00.500Z"),
    ("DATE", {}, "2024-01-31", "2024-01-31"),
    ("DATE", {}, dt.date(2024, 2, 1), "2024-02-01"),
    ("TIME", {}, "10:30", "10:30:00"),
    ("TIME", {}, dt.time(8, 5, 1), "08:05:01"),
    ("DURATION", {}, "PT5M", "PT5M"),
    ("DURATION", {}, "PT90S", "PT1M30S"),
    ("JSON", {}, '{"a": 1}', {"a": 1}),
    ("JSON", {}, {"b": 2}, {"b": 2}),
    ("JSON", {}, "[1, 2]", [1, 2]),
    ("YAML", {}, "a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
    ("YAML", {}, {"c": 3}, {"c": 3}),
    ("ARRAY", {}, "[1, 2]", [1, 2]),
    ("ARRAY", {}, "a, b ,c", ["a", "b", "c"]),
    ("ARRAY", {}, "  ", []),
    ("ARRAY", {}, ["q"], ["q"]),
    ("ARRAY", {"itemType": "INT"}, '["1", 2]', [1, 2]),
    ("ARRAY", {"itemType": "INT"}, "1,2", [1, 2]),
    ("SELECT", {"values": ["a", "b"]}, "b", "b"),
    ("SELECT", {"values": ["a", "b"], "allowCustomValue": True}, "z", "z"),
    ("SELECT", {"values": '["a", "b"]'}, "a", "a"),
    ("SELECT", {"values": "not json"}, "anything", "anything"),
    ("SELECT", {}, 3, "3"),
    ("ENUM", {"values": ["1", "2"]}, 2, "2"),
    ("MULTISELECT", {"values": ["a", "b", "c"]}, "a, c", ["a", "c"]),
    ("MULTISELECT", {"values": ["a", "b", "c"]}, '["b"]', ["b"]),
    ("MULTISELECT", {"values": ["a", "b"]}, "a", ["a"]),
    ("MULTISELECT", {"values": ["1", "2"]}, [1, 2], ["1", "2"]),
    ("MULTISELECT", {"values": ["a"], "allowCustomValue": True}, "a,z", ["a", "z"]),
    ("MULTISELECT", {}, '{"k": 1}', ["{'k': 1}"]),
    ("URI", {}, "https://example.com/x", "https://example.com/x"),
    ("URI", {}, "mailto:a@b.c", "mailto:a@b.c"),
    ("EMAIL", {}, "ada@example.com", "ada@example.com"),
    ("FILE", {}, "kestra:///a/b.txt", "kestra:///a/b.txt"),
    ("STRING", {"validator": "^a+$"}, "aaa", "aaa"),
    ("STRING", {"validator": "[0-9]{3}"}, "123", "123"),
    ("SECRET", {"validator": "s3cr.t"}, "s3cret", "s3cret"),
    ("DATE", {"after": "2024-01-01", "before": "2024-12-31"}, "2024-01-01", "2024-01-01"),
    ("DATE", {"after": dt.date(2024, 1, 1)}, "2024-06-30", "2024-06-30"),
    ("DATETIME", {"before": "2024-01-01T00:00:00Z"}, "2024-01-01T01:00:00+02:00", "2023-12-31T23:00:00Z"),
    ("TIME", {"after": "09:00", "before": "17:00"}, "17:00", "17:00:00"),
    ("DURATION", {"min": "PT1M", "max": "PT1H"}, "PT30M", "PT30M"),
    ("FILE", {"allowedFileExtensions": [".csv", ".txt"]}, "kestra:///a/b.CSV", "kestra:///a/b.CSV"),
    ("FILE", {"allowedFileExtensions": [".gz"]}, "/data/v1.2/dump.tar.gz", "/data/v1.2/dump.tar.gz"),
]

REFUSED: list[tuple[str, dict[str, Any], Any, str]] = [
    ("INT", {}, True, "`True` is not an integer"),
    ("INT", {}, "1.5", "`1.5` is not an integer"),
    ("INT", {}, 1.5, "`1.5` is not an integer"),
    ("INT", {}, "ten", "`ten` is not an integer"),
    ("INT", {}, None, "`None` is not an integer"),
    ("INT", {"min": 1}, "0", "0 is below the minimum 1"),
    ("INT", {"max": 10}, 11, "11 is above the maximum 10"),
    ("FLOAT", {}, "x", "`x` is not a number"),
    ("FLOAT", {}, None, "`None` is not a number"),
    ("FLOAT", {"max": 1}, "1.5", "1.5 is above the maximum 1"),
    ("BOOLEAN", {}, "yes", "`yes` is not a boolean (true or false)"),
    ("BOOLEAN", {}, 1, "`1` is not a boolean (true or false)"),
    ("DATETIME", {}, "31/01/2024", "`31/01/2024` is not an ISO date-time like 2024-01-31T10:00:00Z"),
    ("DATE", {}, "2024-13-01", "`2024-13-01` is not a date like 2024-01-31"),
    ("TIME", {}, "25:00", "`25:00` is not a time like 10:30:00"),
    ("DURATION", {}, "five minutes", "`five minutes` is not an ISO-8601 duration like PT5M"),
    ("JSON", {}, "{nope", "not valid JSON: Expecting property name enclosed in double quotes at character 1"),
    ("YAML", {}, "a: [1,\n", "not valid YAML"),
    ("ARRAY", {}, '{"a": 1}', "is not a list (give a JSON array)"),
    ("ARRAY", {}, 5, "`5` is not a list (give a JSON array)"),
    ("ARRAY", {"itemType": "INT"}, "1,x", "`x` is not an integer"),
    ("SELECT", {"values": ["a", "b"]}, "c", "`c` is not one of: a, b"),
    ("MULTISELECT", {"values": ["a", "b"]}, "a,c", "`c` is not one of: a, b"),
    ("URI", {}, "not a uri", "`not a uri` is not a URI like https://example.com/x"),
    ("EMAIL", {}, "ada@", "`ada@` is not an e-mail address"),
    ("STRING", {"validator": "^a+$"}, "b", "it must match the pattern `^a+$`, but received `b`"),
    ("STRING", {"validator": "a+"}, "aab", "it must match the pattern `a+`, but received `aab`"),  # a full match
    ("STRING", {"validator": "[0-9]{3}"}, 1234, "it must match the pattern `[0-9]{3}`, but received `1234`"),
    ("SECRET", {"validator": "x+"}, "y", "it must match the pattern `x+`"),
    ("DATE", {"after": "2024-01-01"}, "2023-12-31", "it must be after `2024-01-01`, but received `2023-12-31`"),
    ("DATE", {"before": "2024-01-01"}, "2024-01-02", "it must be before `2024-01-01`, but received `2024-01-02`"),
    ("DATETIME", {"after": "2024-01-01T00:00:00Z"}, "2024-01-01T01:00:00+02:00",
     "it must be after `2024-01-01T00:00:00Z`, but received `2023-12-31T23:00:00Z`"),
    ("TIME", {"before": "17:00"}, "17:00:01", "it must be before `17:00:00`, but received `17:00:01`"),
    ("TIME", {"after": "09:00"}, "10:00+02:00", "`10:00:00+02:00` cannot be compared with the input's bounds"),
    ("DURATION", {"min": "PT5M"}, "PT1M", "it must be more than `PT5M`, but received `PT1M`"),
    ("DURATION", {"max": "PT1H"}, "PT2H", "it must be less than `PT1H`, but received `PT2H`"),
    ("FILE", {"allowedFileExtensions": [".csv"]}, "/tmp/report.txt",
     "File type not allowed. Accepted extensions: .csv (received `report.txt`)"),
    ("FILE", {"allowedFileExtensions": [".csv"]}, "kestra:///v1.csv/README", "File type not allowed"),
]


@pytest.mark.parametrize(("type_name", "extra", "raw", "expected"), ACCEPTED,
                         ids=[f"{t}-{raw!r}" for t, _, raw, _ in ACCEPTED])
def test_each_input_type_types_an_accepted_value(type_name: str, extra: dict[str, Any], raw: Any,
                                                 expected: Any) -> None:
    value = coerce(_input(type_name, **extra), raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("type_name", "extra", "raw", "message"), REFUSED,
                         ids=[f"{t}-{raw!r}" for t, _, raw, _ in REFUSED])
def test_each_input_type_refuses_a_bad_value_saying_what_is_expected(type_name: str, extra: dict[str, Any],
                                                                     raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        coerce(_input(type_name, **extra), raw)
    assert message in str(info.value)


def test_yaml_errors_name_the_line() -> None:
    with pytest.raises(ValueError) as info:
        coerce(_input("YAML"), "a: 1\nb: [1,\n")
    assert "not valid YAML at line" in str(info.value)


def test_an_unknown_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported input type NOPE"):
        coerce(_input("STRING"), "x", "NOPE")


def test_resolve_inputs_lists_unknown_missing_and_bad_inputs_together() -> None:
    flow = load_flow("""id: f
namespace: n
inputs:
  - {id: n, type: INT}
  - {id: who, type: STRING}
  - {id: opt, type: INT, required: false}
  - {id: d, type: INT, defaults: "7"}
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}
""")
    with pytest.raises(ValidationErrors) as info:
        resolve_inputs(flow, {"n": "x", "extra": 1})
    messages = [e.message for e in info.value.errors]
    assert messages == ["unknown input `extra`", "input `n`: `x` is not an integer",
                        "missing required input `who` (STRING)"]
    assert resolve_inputs(flow, {"n": "3", "who": "me"}) == {"n": 3, "who": "me", "opt": None, "d": 7}


def test_an_optional_input_given_nothing_without_defaults_is_null_and_renders_empty_as_in_kestra() -> None:
    from lanner import expr

    flow = load_flow("""id: f
namespace: n
inputs:
  - {id: opt, type: STRING, required: false}
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}
""")
    inputs = resolve_inputs(flow, {})
    assert inputs == {"opt": None}  # Kestra's InputsTest: the key is there, its value null
    assert expr.render("[{{ inputs.opt }}] {{ inputs.opt ?? 'none' }}", {"inputs": inputs}) == "[] none"


def test_a_flow_output_of_the_wrong_type_is_a_validation_error_naming_it() -> None:
    out = FlowOutput(id="total", type="INT", value="{{ x }}")
    assert coerce_output(out, "5") == 5
    with pytest.raises(ValidationError, match="Invalid output for `total`, `five` is not an integer"):
        coerce_output(out, "five")


def test_cli_inputs_split_on_the_first_equals_sign() -> None:
    assert parse_cli_inputs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ValidationError, match="has no value"):
        parse_cli_inputs(["nope"])
