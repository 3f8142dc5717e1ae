"""render(), fetchContext(), fromJson()/fromIon(), Java properties and the number filter's
types, each pinned to what Kestra's own tests and documentation show."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError, render, render_value_typed
from lanner.expr.yaml_text import to_yaml

V = {"greeting": "{{ name }}", "name": "{{ who }}", "who": "Ada",
     "spec": {"title": "{{ who }}", "tags": ["{{ who }}", 3]}}


def test_render_takes_kestras_argument_name_to_render_and_the_older_template() -> None:
    assert render("{{ render(toRender=greeting) }}", V) == "Ada"
    assert render("{{ render(template=greeting) }}", V) == "Ada"
    assert render("{{ render(greeting, recursive=false) }}", V) == "{{ who }}"


def test_render_renders_maps_and_lists_item_by_item() -> None:
    assert render_value_typed("{{ render(spec) }}", V) == {"title": "Ada", "tags": ["Ada", 3]}
    assert render_value_typed("{{ renderOnce(spec) }}", V) == {"title": "Ada", "tags": ["Ada", 3]}


def test_render_without_an_argument_fails_and_of_null_is_null() -> None:
    with pytest.raises(ExpressionError, match="the argument `toRender` is missing"):
        render("{{ render() }}", V)
    assert render("{{ render(null) }}", V) == ""


def test_fetch_context_gives_every_variable_as_a_map() -> None:
    assert render_value_typed("{{ fetchContext() }}", {"a": 1, "b": [2]}) == {"a": 1, "b": [2]}
    assert render("{{ fetchContext()['a'] }}", {"a": 1}) == "1"


@pytest.mark.parametrize("call", ["fromJson()", "fromIon()"])
def test_from_json_and_from_ion_without_an_argument_fail_instead_of_giving_empty_text(call: str) -> None:
    with pytest.raises(ExpressionError, match="is missing"):
        render("{{ " + call + " }}", {})


def test_from_json_of_null_is_null() -> None:
    assert render_value_typed("{{ fromJson(null) }}", {}) is None


def test_list_size_and_text_length_without_parentheses_read_the_java_property() -> None:
    variables = {"items": [1, 2, 3], "text": "abcd", "empty": [], "map": {"size": 9, "a": 1}}
    assert render("{{ items.size }} {{ text.length }} {{ empty.empty }} {{ text.blank }}", variables) == \
        "3 4 true false"
    assert render("{{ map.size }}", variables) == "9"  # a map's key, as in Pebble
    with pytest.raises(ExpressionError, match="`items.nope` is undefined"):
        render("{{ items.nope }}", variables)


@pytest.mark.parametrize("template,expected", [  # Kestra's NumberFilterTest
    ('{{ "12.3" | number | className }}', "java.lang.Float"),
    ('{{ "2147483647" | number | className }}', "java.lang.Integer"),
    ('{{ "9223372036854775807" | number | className }}', "java.lang.Long"),
    ('{{ "9223372036854775807" | number(\'BIGDECIMAL\') | className }}', "java.math.BigDecimal"),
    ('{{ "9223372036854775807" | number(\'BIGINTEGER\') | className }}', "java.math.BigInteger"),
    ('{{ "9223372036854775807" | number(\'DOUBLE\') | className }}', "java.lang.Double"),
    ('{{ "9223372036854775808" | number | className }}', "java.math.BigInteger"),
    ('{{ "3.14159265358979" | number | className }}', "java.lang.Double"),
    ('{{ "0x7F" | number | className }}', "java.lang.Integer"),
    ('{{ "12" | number("INT") | className }}', "java.lang.Integer"),
    ('{{ "12" | number("FLOAT") | className }}', "java.lang.Float"),
    ('{{ 12 | className }}', "java.lang.Long"),
    ('{{ 1.5 | className }}', "java.lang.Double"),
])
def test_the_number_filter_picks_the_java_type_kestra_reports(template: str, expected: str) -> None:
    assert render(template, {}) == expected


def test_numbers_from_the_number_filter_print_and_compute_as_plain_numbers() -> None:
    assert render("{{ '12.3' | number }} {{ ('12.3' | number) + 1 }} {{ ('2' | number) * 3 }}", {}) == "12.3 13.3 6"
    assert render_value_typed("{{ ['7' | number] }}", {}) == [7]


def test_a_top_level_list_through_yaml_is_indented_as_kestra_prints_it() -> None:
    assert to_yaml(["string", 1, 1.123]) == " - string\n - 1\n - 1.123\n"  # Kestra's YamlFilterTest
    assert to_yaml([{"a": 1, "b": 2}]) == " - a: 1\n   b: 2\n"
