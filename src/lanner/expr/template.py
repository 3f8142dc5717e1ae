"""Compiled templates, their cache, and the rendering entry points the rest of Lanner uses.

A property value is rendered many times (once per task run, per loop iteration), so each
distinct template string is lexed, parsed and compiled once and kept. A string without `{`
is returned as it is without being looked at, as Kestra does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lanner.expr import compiler, nodes
from lanner.expr.errors import ExpressionError
from lanner.expr.lexer import tokenize
from lanner.expr.parser import parse
from lanner.expr.values import UNDEFINED, stringify

_CACHE_SIZE = 4096


class Template:
    __slots__ = ("source", "single", "body")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            tree = parse(source, tokenize(source))
            # A template that is one `{{ expr }}` and nothing else can keep the value's type.
            self.single = compiler.expr(tree[0].expr) if len(tree) == 1 and isinstance(tree[0], nodes.Print) else None
            self.body = compiler.block(tree) if self.single is None else None
        except ExpressionError as exc:
            raise exc.at(source, exc.column) from None
        except RecursionError:
            raise ExpressionError("the template is nested too deeply", template=source) from None

    def value(self, variables: Mapping[str, Any], services: Any = None, depth: int = 0) -> Any:
        """The template's value: typed for a single `{{ expr }}`, otherwise the rendered text."""
        frame = compiler.Frame(variables, services, depth, _render_nested)
        try:
            if self.single is not None:
                result = self.single(frame)
                if isinstance(result, str) and len(result) > compiler.MAX_OUTPUT:
                    frame.emit([], result)
                return None if result is UNDEFINED else result
            out: list[str] = []
            assert self.body is not None
            self.body(frame, out)
            return "".join(out)
        except ExpressionError as exc:
            raise exc.at(self.source, exc.column) from None
        except RecursionError:
            raise ExpressionError("the template is nested too deeply", template=self.source) from None
        except Exception as exc:  # noqa: BLE001 - the sandbox's last line: no raw error leaves a render
            raise ExpressionError(f"internal error while rendering: {type(exc).__name__}: {exc}",
                                  hint="please report this template", template=self.source) from exc

    def text(self, variables: Mapping[str, Any], services: Any = None, depth: int = 0) -> str:
        value = self.value(variables, services, depth)
        return value if isinstance(value, str) else stringify(value)


_cache: dict[str, Template] = {}
_lock = threading.Lock()


def compile_template(source: str) -> Template:
    template = _cache.get(source)
    if template is None:
        template = Template(source)
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[source] = template
    return template


def _render_nested(text: str, variables: Mapping[str, Any], services: Any, depth: int) -> str:
    if "{" not in text:
        return text
    return compile_template(text).text(variables, services, depth)
