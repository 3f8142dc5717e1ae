"""Pebble's `macro`, `block` and `verbatim` tags, `raw` as Kestra handles it, and string escapes."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError, check_syntax, render


def test_a_macro_is_called_like_a_function_with_positional_named_and_default_arguments() -> None:
    template = ("{% macro greet(name, word='Hello') %}{{ word }}, {{ name }}!{% endmacro %}"
                "{{ greet('Ada') }} {{ greet(name='Bob', word='Hi') }} {{ greet('Cy', 'Yo') }}")
    assert render(template, {}) == "Hello, Ada! Hi, Bob! Yo, Cy!"


def test_a_macro_may_be_called_before_it_is_defined_and_may_call_itself() -> None:
    template = ("{{ countdown(3) }}{% macro countdown(n) %}{{ n }}{% if n > 1 %},{{ countdown(n - 1) }}"
                "{% endif %}{% endmacro %}")
    assert render(template, {}) == "3,2,1"


def test_a_macro_sees_only_its_arguments_not_the_variables_around_the_call() -> None:
    with pytest.raises(ExpressionError) as err:
        render("{% macro show() %}{{ secretish }}{% endmacro %}{{ show() }}", {"secretish": 1})
    assert err.value.message == "`secretish` is undefined"
    assert "a macro sees only its arguments" in (err.value.hint or "")


def test_a_missing_macro_argument_is_null_and_an_extra_one_is_refused() -> None:
    assert render("{% macro m(a, b) %}[{{ b is null }}]{% endmacro %}{{ m(1) }}", {}) == "[true]"
    with pytest.raises(ExpressionError, match=r"takes 1 argument\(s\), 2 given"):
        render("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {})
    with pytest.raises(ExpressionError, match="has no parameter `c`"):
        render("{% macro m(a) %}{% endmacro %}{{ m(c=1) }}", {})


def test_endless_macro_recursion_is_stopped_with_a_message() -> None:
    with pytest.raises(ExpressionError, match="nested more than 100 calls deep"):
        render("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", {})


def test_a_macro_defined_twice_is_refused() -> None:
    with pytest.raises(ExpressionError, match="defined twice"):
        check_syntax("{% macro m() %}{% endmacro %}{% macro m() %}{% endmacro %}")


def test_a_block_renders_its_body_in_place_and_may_repeat_its_name_when_closed() -> None:
    assert render("a{% block body %}-{{ x }}-{% endblock %}b{% block 'c' %}c{% endblock c %}", {"x": 1}) == "a-1-bc"
    with pytest.raises(ExpressionError, match="closes"):
        check_syntax("{% block one %}{% endblock two %}")


def test_verbatim_keeps_template_syntax_as_text_and_honours_its_trim_marks() -> None:
    assert render("{% verbatim %}{{ not.rendered }}{% endverbatim %}", {}) == "{{ not.rendered }}"
    assert render("a  {%- verbatim -%}  {{ x }}  {%- endverbatim -%}  b", {}) == "a{{ x }}b"


def test_raw_trim_marks_trim_nothing_as_kestra_cuts_raw_blocks_out_before_pebble() -> None:
    assert render("a {%- raw -%} {{ x }} {%- endraw -%} b", {}) == "a  {{ x }}  b"


@pytest.mark.parametrize("tag", ["include", "extends", "import", "autoescape"])
def test_tags_that_need_other_templates_or_change_output_are_refused_with_a_reason(tag: str) -> None:
    with pytest.raises(ExpressionError) as err:
        check_syntax(f"{{% {tag} 'x' %}}")
    assert err.value.message == f"the `{tag}` tag is not supported"
    assert err.value.hint


def test_a_string_unescapes_only_its_own_quote_and_the_backslash() -> None:
    assert render("""{{ "te\\'st" }}""", {}) == "te\\'st"
    assert render("""{{ 'te\\'st' }}""", {}) == "te'st"
    assert render("""{{ "say \\"hi\\"" }}""", {}) == 'say "hi"'
    assert render("""{{ 'a\\\\b' }}""", {}) == "a\\b"
    assert render("""{{ 'a\\nb' }}""", {}) == "a\\nb"
