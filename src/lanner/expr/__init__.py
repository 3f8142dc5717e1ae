"""The expression language: Pebble templates (`{{ … }}`, `{% … %}`) as Kestra flows write them.

No Python library speaks Pebble, so this package is a small compiler of its own:
`lexer` → `parser` (syntax tree in `nodes`) → `compiler` (closures), cached per template in
`template`. `values` says how values print and compare, `operators` what operators and tests
compute, `access` how data is looked into (the sandbox), `filters` and `functions` hold the
named helpers. Everything that can go wrong raises `ExpressionError`, located in the template.

Entry points (all take the run context as a mapping of variables, and optionally the services
of a running task — `read()`, `secret()`, `errorLogs()`):
- `render(text, variables)` → str
- `render_value(value, variables)`: strings rendered, maps and lists rendered recursively
- `render_value_typed(value, variables)`: like render_value, but a string that is exactly one
  `{{ expr }}` keeps the expression's type (a list stays a list, `true` stays a boolean)
- `check_syntax(text)`: parse and resolve names of filters/functions/tests, without running
- `is_truthy(value)`: Kestra's condition rule
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanner.expr.errors import ExpressionError, UndefinedError
from lanner.expr.template import compile_template
from lanner.expr.values import is_truthy, map_text, stringify

__all__ = ["ExpressionError", "UndefinedError", "check_syntax", "is_truthy", "render", "render_value",
           "render_value_typed", "stringify"]


def check_syntax(text: str) -> None:
    if "{" in text:
        compile_template(text)


def render(text: str, variables: Mapping[str, Any], services: Any = None) -> str:
    if "{" not in text:
        return text
    return compile_template(text).text(variables, services)


def render_value(value: Any, variables: Mapping[str, Any], services: Any = None) -> Any:
    return map_text(value, lambda text: render(text, variables, services))


def render_value_typed(value: Any, variables: Mapping[str, Any], services: Any = None) -> Any:
    if isinstance(value, str):
        if "{" not in value:
            return value
        return compile_template(value).value(variables, services)
    if isinstance(value, Mapping):
        return {render_value(k, variables, services): render_value_typed(v, variables, services)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_value_typed(v, variables, services) for v in value]
    return value
