"""Errors name what is wrong, list what exists, and point at the column inside the template."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.expr import ExpressionError, UndefinedError, check_syntax, render

V: dict[str, Any] = {
    "outputs": {"make": {"value": 1}, "boom": {"code": 2}},
    "inputs": {"name": "x"},
    "list": [1, 2],
    "nil": None,
}


def error_of(template: str, variables: dict[str, Any] | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as err:
        render(template, V if variables is None else variables)
    return err.value


def test_an_undefined_output_names_the_key_and_lists_the_known_outputs() -> None:
    err = error_of("{{ outputs.nothere.value }}")
    assert isinstance(err, UndefinedError)
    assert err.message == "`outputs.nothere` is undefined"
    assert err.hint == "known outputs: boom, make"
    assert err.column == 12


def test_a_misspelt_key_gets_a_did_you_mean() -> None:
    err = error_of("{{ outputs.mkae.value }}")
    assert err.hint is not None and err.hint.startswith("did you mean `make`?")


def test_an_undefined_root_variable_lists_the_variables() -> None:
    err = error_of("{{ nope }}")
    assert err.message == "`nope` is undefined"
    assert "known variables: inputs, list, nil, outputs" in (err.hint or "")


def test_inputs_missing_from_an_execution_without_inputs_is_explained() -> None:
    err = error_of("{{ inputs.a }}", {"flow": {}})
    assert "no inputs" in (err.hint or "")


def test_keys_of_null_and_of_scalars_are_explained() -> None:
    assert "`nil` is null" in error_of("{{ nil.x }}").message
    assert "`inputs.name` is a string, it has no `x`" in error_of("{{ inputs.name.x }}").message


def test_an_index_out_of_range_says_how_long_the_list_is() -> None:
    err = error_of("{{ list[5] }}")
    assert err.message == "`list[5]` is undefined" and "2 item(s)" in (err.hint or "")


def test_the_rendered_error_shows_the_template_with_a_caret() -> None:
    text = error_of("{{ outputs.make.value + outputs.boom.nope }}").render()
    lines = text.splitlines()
    assert lines[0].startswith("`outputs.boom.nope` is undefined")
    assert lines[1] == "    {{ outputs.make.value + outputs.boom.nope }}"
    assert lines[2].index("^") == lines[1].index("nope")


@pytest.mark.parametrize("template,message,column", [
    ("{{ 1 + }}", "an expression is missing before `}}`", 8),
    ("{{ foo bar }}", "unexpected `bar`", 8),
    ("{{ 'unclosed }}", "unclosed string", 4),
    ("{{ x ", "`{{` is never closed", 1),
    ("{% if x %}no end", "`{% if %}` is never closed", 1),
    ("{% endif %}", "`{% endif %}` without a matching opening tag", 4),
    ("{% unknowntag %}", "unknown tag `unknowntag`", 4),
    ("{{ }}", "empty `{{ }}`", 4),
    ("{{ [1, 2 }}", "expected `,` or `]` in the list", 10),
    ("{{ f(1, a=2, 3) }}", "a positional argument cannot follow a named one", 14),
    ("{{ a ? b }}", "expected `:`", 10),
    ("{{ x is }}", "expected a test name after `is`", 9),
    ("{{ x is shiny }}", "unknown test `shiny`", 9),
    ("text {# no end", "unclosed comment", 6),
    ("{% raw %}never closed", "`{% raw %}` is never closed", 1),
])
def test_syntax_errors_are_found_without_running_and_located(template: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as err:
        check_syntax(template)
    assert message in err.value.message
    assert err.value.column == column
    assert err.value.template == template


def test_a_deeply_nested_expression_is_refused_not_crashing_python() -> None:
    with pytest.raises(ExpressionError) as err:
        check_syntax("{{ " + "(" * 500 + "1" + ")" * 500 + " }}")
    assert "nested too deeply" in err.value.message
    with pytest.raises(ExpressionError):
        check_syntax("{{ " + " + ".join(["1"] * 2000) + " }}")
