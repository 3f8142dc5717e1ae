"""A property that holds no template is handed back as rendering would give it, without the template
language: the same values, in new maps and lists."""

from __future__ import annotations

from typing import Any

import pytest

from lanner import expr
from lanner.worker.context import WorkerContext


def context() -> WorkerContext:
    return WorkerContext(execution_id="e", task_run_id="r", task_id="t", attempt=1, variables={"x": 1},
                         sink=lambda entry: None, files=None, namespace="ns", flow_id="f", log_level=None)


@pytest.mark.parametrize("value", [
    "plain text", "", "echo $HOME; a } b", 3, None, True,
    {"A": "1", "B": {"C": ["x", "y"]}, 4: "four"}, ["a", ("b", "c")], ("t",), {"list": [], "map": {}},
])
def test_what_holds_no_template_is_what_rendering_gives(value: Any) -> None:
    ctx = context()
    assert ctx.render(value) == expr.render_value(value, ctx.variables)
    assert ctx.render_typed(value) == expr.render_value_typed(value, ctx.variables)


def test_maps_and_lists_come_back_as_new_ones() -> None:
    prop = {"env": {"A": "1"}, "args": ["a"]}
    rendered = context().render(prop)
    rendered["env"]["A"] = "changed"
    rendered["args"].append("b")
    assert prop == {"env": {"A": "1"}, "args": ["a"]}


@pytest.mark.parametrize("value", ["{{ x }}", {"k": "{{ x }}"}, ["a", "{{ x }}"], {"{{ x }}": "v"}])
def test_a_template_anywhere_is_rendered(value: Any) -> None:
    assert "1" in str(context().render(value))
