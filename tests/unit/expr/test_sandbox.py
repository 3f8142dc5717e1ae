"""The sandbox: no way out to Python objects, bounded work, and no error but ExpressionError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanner.expr import ExpressionError, render

V: dict[str, Any] = {"s": "abc", "n": 3, "l": [1, 2, 3], "m": {"a": {"b": [1, {"c": None}]}}, "nil": None}


@pytest.mark.parametrize("template", [
    "{{ s.__class__ }}", "{{ s['__class__'] }}", "{{ l.__len__ }}", "{{ m.__dict__ }}",
    "{{ s.__class__.__mro__ }}", "{{ s.format() }}", "{{ l.append(4) }}", "{{ m.pop('a') }}",
    "{{ s.encode() }}", "{{ n.__add__(1) }}", "{{ nil.x }}", "{{ __builtins__ }}", "{{ globals() }}",
])
def test_python_internals_are_unreachable(template: str) -> None:
    with pytest.raises(ExpressionError):
        render(template, V)
    assert V["l"] == [1, 2, 3] and "a" in V["m"]


@pytest.mark.parametrize("template,message", [
    ("{{ 1..10000000 }}", "more than 100000 items"),
    ("{% for i in 1..100000 %}{% for j in 1..100000 %}{% endfor %}{% endfor %}", "loops more than"),
    ("{% for i in 1..100000 %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", "longer than"),
])
def test_work_and_output_are_bounded(template: str, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        render(template, V)
    assert message in err.value.message


_PIECES = st.sampled_from([
    "{{", "}}", "{%", "%}", "{#", "#}", "-", " ", "s", "n", "l", "m", "nil", "x", ".", "[", "]", "(", ")", "'", '"',
    "0", "1", "2.5", "+", "*", "/", "%", "~", "..", "??", "???", "?", ":", "|", ",", "==", "<", "and", "or", "not",
    "is", "defined", "null", "empty", "contains", "if", "endif", "else", "for", "in", "endfor", "set", "=", "raw",
    "endraw", "upper", "length", "default", "join", "abs", "first", "keys", "toJson", "range", "max", "loop",
    "index", "{", "}", "#{", "\\", "\n", "true", "false", "__class__", "size()", "a", "b", "c",
])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=30).map("".join))
def test_random_templates_render_or_fail_with_an_expression_error(template: str) -> None:
    try:
        result = render(template, V)
    except ExpressionError as exc:
        assert not exc.message.startswith("internal error"), exc.render()
        exc.render()  # printing it must not fail either
    else:
        assert isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_renders_or_fails_cleanly(text: str) -> None:
    try:
        assert isinstance(render("{{ " + text + " }}", V), str)
    except ExpressionError as exc:
        assert not exc.message.startswith("internal error"), exc.render()
