"""Pebble syntax as Kestra flows write it: prints, tags, literals, access, whitespace control."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.expr import render, render_value, render_value_typed

V: dict[str, Any] = {
    "inputs": {"name": "World", "n": 3, "flag": True},
    "outputs": {"task-id": {"value": "hyphen"}, "make": {"value": "made", "list": [1, 2, 3]}},
    "items": ["a", "b", "c"],
    "empty": [],
    "m": {"x": 1, "y": 2},
    "nothing": None,
}


@pytest.mark.parametrize("template,expected", [
    ("plain text is untouched", "plain text is untouched"),
    ("{ not a template }", "{ not a template }"),
    ("Hello {{ inputs.name }}!", "Hello World!"),
    ("{{inputs.name}}", "World"),
    ("{{ outputs['task-id'].value }}", "hyphen"),
    ('{{ outputs["make"]["list"][1] }}', "2"),
    ("{{ outputs.make.list.0 }}", "1"),
    ("{{ items[inputs.n - 1] }}", "c"),
    ("{{ (inputs.n + 1) * 2 }}", "8"),
])
def test_prints_variables_and_accesses_keys_and_items(template: str, expected: str) -> None:
    assert render(template, V) == expected


@pytest.mark.parametrize("template,expected", [
    ("{{ 'single' }} {{ \"double\" }}", "single double"),
    (r"{{ 'it\'s' }}", "it's"),
    ("{{ 42 }} {{ 1.5 }} {{ -3 }}", "42 1.5 -3"),
    ("{{ true }} {{ false }} {{ null }}|", "true false |"),
    ("{{ [1, 'two', 3.0, true, null] }}", '[1,"two",3.0,true,null]'),
    ("{{ {'a': 1, 'b': [1, 2], 'c': {'d': 'e'}} }}", '{"a":1,"b":[1,2],"c":{"d":"e"}}'),
    ("{{ {} }}{{ [] }}", "{}[]"),
    ('{{ "x#{inputs.n + 1}y" }}', "x4y"),
    ("{{ '#{not interpolated}' }}", "#{not interpolated}"),
])
def test_literals_print_as_kestra_prints_them(template: str, expected: str) -> None:
    assert render(template, V) == expected


def test_no_auto_escaping() -> None:
    assert render("{{ '<b>&amp;</b>' }}", V) == "<b>&amp;</b>"


@pytest.mark.parametrize("template,expected", [
    ("{% if inputs.flag %}yes{% endif %}", "yes"),
    ("{% if inputs.n > 5 %}big{% elseif inputs.n > 2 %}mid{% else %}small{% endif %}", "mid"),
    ("{% if nothing %}x{% else %}y{% endif %}", "y"),
    ("{% if empty %}x{% else %}empty{% endif %}", "empty"),
    ("{% if 'false' %}a non-empty string is true{% else %}x{% endif %}", "a non-empty string is true"),
    ("{% if '' %}x{% else %}empty string{% endif %}", "empty string"),
    ("{% if 0 %}x{% else %}zero{% endif %}", "zero"),
])
def test_if_elseif_else(template: str, expected: str) -> None:
    assert render(template, V) == expected


def test_for_loop_exposes_loop_variables() -> None:
    t = "{% for x in items %}{{ loop.index }}{{ x }}{{ loop.first ? '^' : '' }}{{ loop.last ? '$' : ',' }}{% endfor %}"
    assert render(t, V) == "0a^,1b,2c$"
    assert render("{% for x in items %}{{ loop.length }}{{ loop.revindex }} {% endfor %}", V) == "32 31 30 "


def test_for_else_runs_for_an_empty_sequence_and_null_prints_nothing() -> None:
    assert render("{% for x in empty %}{{ x }}{% else %}none{% endfor %}", V) == "none"
    assert render("{% for x in nothing %}{{ x }}{% else %}none{% endfor %}|", V) == "|"


def test_set_inside_a_loop_updates_a_variable_set_before_it() -> None:
    t = "{% set total = 0 %}{% for x in outputs.make.list %}{% set total = total + x %}{% endfor %}{{ total }}"
    assert render(t, V) == "6"


def test_only_the_quote_and_the_backslash_are_escaped_in_strings() -> None:
    assert render(r"{{ 'a\nb' | length }} {{ 'it\'s' }} {{ 'back\\slash' }}", V) == "4 it's back\\slash"


def test_maps_print_without_null_values_as_kestras_json_mapper_does() -> None:
    assert render("{{ {'a': 1, 'b': null} }} {{ [1, null] }}", V) == '{"a":1} [1,null]'


def test_for_over_a_map_gives_entries_or_key_value_pairs() -> None:
    assert render("{% for e in m %}{{ e.key }}={{ e.value }};{% endfor %}", V) == "x=1;y=2;"
    assert render("{% for k, v in m %}{{ k }}={{ v }};{% endfor %}", V) == "x=1;y=2;"


def test_set_defines_a_variable_scoped_to_its_block() -> None:
    assert render("{% set total = inputs.n * 10 %}{{ total }}", V) == "30"
    assert render("{% for x in items %}{% set last = x %}{% endfor %}{{ last ?? 'gone' }}", V) == "gone"


def test_raw_block_is_emitted_verbatim() -> None:
    assert render("{% raw %}{{ inputs.name }} {% if %}{% endraw %}!", V) == "{{ inputs.name }} {% if %}!"


def test_comments_vanish() -> None:
    assert render("a{# a comment with {{ braces }} #}b", V) == "ab"


@pytest.mark.parametrize("template,expected", [
    ("a  {{- inputs.n }}  b", "a3  b"),
    ("a  {{ inputs.n -}}  b", "a  3b"),
    ("line\n  {%- if true -%}\n  x\n  {%- endif %}\nend", "linex\nend"),
    ("a {#- gone -#} b", "ab"),
])
def test_whitespace_control_trims_the_neighbouring_text(template: str, expected: str) -> None:
    assert render(template, V) == expected


def test_newlines_after_tags_are_kept() -> None:
    assert render("{% if true %}\nx\n{% endif %}\n", V) == "\nx\n\n"


def test_strings_may_contain_closing_delimiters_and_maps_may_end_before_them() -> None:
    assert render("{{ '}}' }}", V) == "}}"
    assert render("{{ {'a': {'b': 1}} }}", V) == '{"a":{"b":1}}'


def test_filter_block_applies_filters_to_its_body() -> None:
    assert render("{% filter upper %}hi {{ inputs.name }}{% endfilter %}", V) == "HI WORLD"


def test_a_single_expression_keeps_its_type_when_rendered_typed() -> None:
    assert render_value_typed("{{ outputs.make.list }}", V) == [1, 2, 3]
    assert render_value_typed("{{ inputs.n > 1 }}", V) is True
    assert render_value_typed("{{ inputs.n }}", V) == 3
    assert render_value_typed("n={{ inputs.n }}", V) == "n=3"
    assert render_value_typed(" {{ inputs.n }}", V) == " 3"


def test_render_value_walks_maps_and_lists_keys_included() -> None:
    value = {"{{ inputs.name }}": ["{{ inputs.n }}", 5, True, None], "k": {"deep": "{{ m.x }}"}}
    assert render_value(value, V) == {"World": ["3", 5, True, None], "k": {"deep": "1"}}


def test_java_methods_flows_commonly_call_work_on_data() -> None:
    assert render("{{ inputs.name.toUpperCase() }} {{ items.size() }} {{ m.keySet() }}", V) == 'WORLD 3 ["x","y"]'
    assert render("{{ inputs.name.substring(1, 3) }} {{ m.get('y') }} {{ m.containsKey('z') }}", V) == "or 2 false"
