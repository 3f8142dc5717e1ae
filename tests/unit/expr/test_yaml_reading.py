"""How the `yaml()` function reads text: YAML 1.2 scalars (as Kestra's Jackson reads them), dates
kept as text, duplicate keys and bad syntax refused with the line they are on."""

from __future__ import annotations

import math

import pytest

from lanner.expr.errors import ExpressionError
from lanner.expr.yaml_text import from_yaml


def value_of(scalar: str) -> object:
    return from_yaml(f"k: {scalar}\n")["k"]


@pytest.mark.parametrize("scalar", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yaml_1_1_booleans_stay_text(scalar: str) -> None:
    assert value_of(scalar) == scalar


@pytest.mark.parametrize("scalar, expected", [("true", True), ("False", False), ("TRUE", True)])
def test_yaml_1_2_booleans_are_booleans(scalar: str, expected: bool) -> None:
    assert value_of(scalar) is expected


@pytest.mark.parametrize("scalar", ["~", "null", "Null", "NULL", ""])
def test_nulls(scalar: str) -> None:
    assert value_of(scalar) is None


@pytest.mark.parametrize("scalar, expected", [
    ("017", 17), ("08", 8), ("0o17", 15), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("+12", 12), ("-0", 0),
    ("12345678901234567890", 12345678901234567890),
])
def test_integers_read_as_yaml_1_2_so_a_leading_zero_is_not_octal(scalar: str, expected: int) -> None:
    value = value_of(scalar)
    assert value == expected and type(value) is int


@pytest.mark.parametrize("scalar, expected", [
    ("1.5", 1.5), ("1e3", 1000.0), ("1.0e+3", 1000.0), ("3.", 3.0), (".5", 0.5), (".inf", math.inf),
    ("-.inf", -math.inf),
])
def test_floats(scalar: str, expected: float) -> None:
    value = value_of(scalar)
    assert value == expected and type(value) is float


def test_nan() -> None:
    assert math.isnan(value_of(".NaN")) and math.isnan(value_of(".nan"))


@pytest.mark.parametrize("scalar", ["1:30", "0o8", ".5e3", "0x", "2024-13", "="])
def test_sexagesimal_and_number_like_text_stays_text(scalar: str) -> None:
    assert value_of(scalar) == scalar


@pytest.mark.parametrize("scalar", ["2024-01-02", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05",
                                    "2024-1-2 3:04:05.5 +01:00"])
def test_timestamps_are_kept_as_the_text_written(scalar: str) -> None:
    assert value_of(scalar) == scalar


def test_quoted_scalars_are_text() -> None:
    assert from_yaml("a: '017'\nb: \"true\"\nc: !!str 12\n") == {"a": "017", "b": "true", "c": "12"}


def test_keys_that_are_not_text_become_text() -> None:
    assert from_yaml("2: one\n2.5: two\ntrue: three\n~: four\n") == {"2": "one", "2.5": "two", "true": "three",
                                                                      "": "four"}


def test_aliases_merge_keys_and_standard_tags() -> None:
    text = "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nbin: !!binary aGVsbG8=\nom: !!omap [p: 1, q: 2]\n"
    assert from_yaml(text) == {"base": {"x": 1, "y": 2}, "c": {"x": 1, "y": 3}, "bin": "hello",
                               "om": {"p": 1, "q": 2}}
    assert sorted(from_yaml("s: !!set {x, y}\n")["s"]) == ["x", "y"]


def test_one_document_only() -> None:
    assert from_yaml("") is None
    assert from_yaml("--- [1, 2]\n") == [1, 2]
    with pytest.raises(ExpressionError, match="line 2"):
        from_yaml("--- 1\n--- 2\n")


def test_a_duplicate_key_is_refused_at_its_line() -> None:
    with pytest.raises(ExpressionError) as err:
        from_yaml("a: 1\nb: 2\na: 3\n")
    assert "duplicate key" in err.value.message and "line 3" in err.value.message
    assert err.value.hint


def test_keys_equal_as_values_are_duplicates() -> None:
    with pytest.raises(ExpressionError, match="duplicate key"):
        from_yaml("{1: a, true: b}")


def test_a_merged_key_overridden_by_the_map_is_not_a_duplicate() -> None:
    assert from_yaml("b: &b {x: 1}\nc: {<<: *b, x: 2}\n")["c"] == {"x": 2}


@pytest.mark.parametrize("text, line", [("a: [1,\n", "line 2"), ("a:\n  - b\n c: d\n", "line 3"),
                                        ("a: 1\n\tb: 2\n", "line 2")])
def test_syntax_errors_say_the_line(text: str, line: str) -> None:
    with pytest.raises(ExpressionError) as err:
        from_yaml(text)
    assert err.value.message.startswith("yaml: invalid YAML") and line in err.value.message
    assert "Traceback" not in err.value.message and err.value.hint


@pytest.mark.parametrize("text", ["a: !!python/object:os.system x\n", "a: !foo x\n"])
def test_unknown_and_python_tags_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError, match="invalid YAML.*line 1"):
        from_yaml(text)


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join(f"*{chr(96 + i)}" for _ in range(10)) + "]")
    with pytest.raises(ExpressionError, match="too many values"):
        from_yaml("\n".join(lines) + "\n")
