"""Operators and tests with Pebble's precedence and number rules, and Kestra's `??` / `???`."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.expr import ExpressionError, render, render_value_typed

V: dict[str, Any] = {"n": 7, "s": "abc", "l": [1, 2, 3], "m": {"k": "v"}, "nil": None, "zero": 0, "f": 2.5}


def typed(template: str) -> Any:
    return render_value_typed(template, V)


@pytest.mark.parametrize("template,expected", [
    ("{{ 7 / 2 }}", 3), ("{{ -7 / 2 }}", -3), ("{{ 7 % 3 }}", 1), ("{{ -7 % 3 }}", -1),
    ("{{ 7 / 2.0 }}", 3.5), ("{{ 2 * 1.5 }}", 3.0), ("{{ 1 + 2 * 3 }}", 7), ("{{ (1 + 2) * 3 }}", 9),
    ("{{ 10 - 2 - 3 }}", 5), ("{{ -n }}", -7), ("{{ +n }}", 7), ("{{ n + f }}", 9.5),
])
def test_arithmetic_keeps_integers_integral_like_java(template: str, expected: Any) -> None:
    result = typed(template)
    assert result == expected and type(result) is type(expected)


def test_decimals_print_like_java_doubles() -> None:
    assert render("{{ 6 / 2.0 }} {{ 0.1 + 0.2 }} {{ 10000000.0 }} {{ 0.0001 }}", V) == \
        "3.0 0.30000000000000004 1.0E7 1.0E-4"


def test_plus_concatenates_when_a_string_is_involved_and_appends_to_lists() -> None:
    assert render("{{ 'a' + 1 }} {{ 1 + 'a' }} {{ l + 4 }} {{ l + [4, 5] }} {{ l - 2 }}", V) == \
        "a1 1a [1,2,3,4] [1,2,3,4,5] [1,3]"


def test_tilde_concatenates_printed_values() -> None:
    assert render("{{ 'n=' ~ n ~ ', l=' ~ l ~ ', nil=' ~ nil }}", V) == "n=7, l=[1,2,3], nil="


@pytest.mark.parametrize("template,expected", [
    ("{{ 1 == 1.0 }}", True), ("{{ '1' == 1 }}", False), ("{{ s equals 'abc' }}", True), ("{{ s != 'x' }}", True),
    ("{{ nil == null }}", True), ("{{ l == [1, 2, 3] }}", True), ("{{ m == {'k': 'v'} }}", True),
    ("{{ true == 1 }}", False), ("{{ 2 < 3 }}", True), ("{{ 3 <= 3 }}", True), ("{{ 'b' > 'a' }}", True),
    ("{{ 2.5 >= 3 }}", False),
])
def test_comparisons(template: str, expected: bool) -> None:
    assert typed(template) is expected


@pytest.mark.parametrize("template,expected", [
    ("{{ s contains 'b' }}", True), ("{{ l contains 2 }}", True), ("{{ l contains [1, 3] }}", True),
    ("{{ l contains [1, 9] }}", False), ("{{ m contains 'k' }}", True), ("{{ m contains 'v' }}", False),
    ("{{ nil contains 'x' }}", False), ("{{ l contains 2.0 }}", True),
])
def test_contains_on_strings_lists_and_map_keys(template: str, expected: bool) -> None:
    assert typed(template) is expected


@pytest.mark.parametrize("template,expected", [
    ("{{ true and false }}", False), ("{{ true or false }}", True), ("{{ not false }}", True),
    ("{{ not true and false }}", False),  # Pebble 3: `not` binds tighter than `and`
    ("{{ 1 < 2 and 3 > 2 }}", True), ("{{ zero or s }}", True),
])
def test_logic_operators(template: str, expected: bool) -> None:
    assert typed(template) is expected


def test_logic_short_circuits_so_the_untaken_side_may_be_undefined() -> None:
    assert typed("{{ false and missing }}") is False
    assert typed("{{ true or missing }}") is True


def test_ternary_evaluates_only_the_taken_branch() -> None:
    assert render("{{ n > 5 ? 'big' : undefinedName }}", V) == "big"
    assert render("{{ n > 50 ? 'big' : n > 5 ? 'mid' : 'small' }}", V) == "mid"


@pytest.mark.parametrize("template,expected", [
    ("{{ missing ?? 'fallback' }}", "fallback"), ("{{ nil ?? 'fallback' }}", "fallback"),
    ("{{ n ?? 'fallback' }}", "7"), ("{{ m.nope.deeper ?? 'deep' }}", "deep"),
    ("{{ missing ??? 'fallback' }}", "fallback"), ("{{ nil ??? 'fallback' }}", ""),
    ("{{ missing ?? other ?? 'third' }}", "third"),
])
def test_null_and_undefined_coalescing(template: str, expected: str) -> None:
    assert render(template, V) == expected


def test_range_operator_is_inclusive_and_empty_when_reversed() -> None:
    assert typed("{{ 1..4 }}") == [1, 2, 3, 4]
    assert typed("{{ 3..1 }}") == []
    assert typed("{{ 'a'..'c' }}") == ["a", "b", "c"]


def test_ordering_against_null_is_false_not_an_error() -> None:
    assert typed("{{ nil > 1 }}") is False and typed("{{ 1 <= nil }}") is False


@pytest.mark.parametrize("template,expected", [
    ("{{ n is defined }}", True), ("{{ missing is defined }}", False), ("{{ m.nope is not defined }}", True),
    ("{{ nil is defined }}", False), ("{{ nil is null }}", True), ("{{ n is not null }}", True),
    ("{{ '  ' is empty }}", True), ("{{ l is empty }}", False), ("{{ {} is empty }}", True),
    ("{{ n is odd }}", True), ("{{ 4 is even }}", True), ("{{ l is iterable }}", True), ("{{ m is map }}", True),
    ("{{ '{\"a\": 1}' is json }}", True), ("{{ 'nope' is json }}", False),
])
def test_is_tests(template: str, expected: bool) -> None:
    assert typed(template) is expected


def test_filters_bind_tighter_than_arithmetic_but_looser_than_concatenation() -> None:
    assert render("{{ 1 + -3 | abs }}", V) == "4"
    assert render("{{ 'a' ~ 'b' | upper }}", V) == "AB"


@pytest.mark.parametrize("template,message", [
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ 'a' - 1 }}", "cannot compute string `a` - integer `1`"),
    ("{{ 'a' < 1 }}", "cannot compare string `a` with integer `1`"),
    ("{{ -s }}", "cannot negate string `abc`"),
    ("{{ 1..'x' }}", "a range needs two integers"),
    ("{{ s is odd }}", "need an integer"),
])
def test_operator_errors_say_what_was_wrong(template: str, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        render(template, V)
    assert message in err.value.message


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ state isIn ['SUCCESS', 'WARNING'] }}", "true"),
    ("{{ state isIn ['FAILED'] }}", "false"),
    ("{{ 'eu' isIn regions }}", "true"),  # a key of a map
    ("{{ 'Paris' isIn regions }}", "true"),  # or a value
    ("{{ 2 isIn ['1', '2'] }}", "true"),  # printed forms are compared, as Kestra compares toString()s
    ("{{ nothing isIn ['a'] }}", "false"),
    ("{{ 'a' isIn nothing }}", "false"),
    ("{{ 'a' isIn 'abc' }}", "false"),  # only lists and maps hold items
    ("{{ not (state isIn ['FAILED']) and state isIn ['SUCCESS'] }}", "true"),
])
def test_is_in_finds_a_value_among_list_items_or_map_keys_and_values(template: str, expected: str) -> None:
    v = {"state": "SUCCESS", "regions": {"eu": "Paris"}, "nothing": None}
    assert render(template, v) == expected
