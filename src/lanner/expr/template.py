"""Compiled templates, their cache, and the rendering entry points the rest of Lanner uses.

A property value is rendered many times (once per task run, per loop iteration), so each
distinct template string is lexed, parsed and compiled once and kept. A string without `{`
is returned as it is without being looked at, as Kestra does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from lanner.expr import compiler, macros, nodes
from lanner.expr.errors import ExpressionError
from lanner.expr.lexer import tokenize
from lanner.expr.parser import parse
from lanner.expr.values import UNDEFINED, check_size, stringify

_CACHE_SIZE = 4096
_CACHE_CHARS = 4 * 1024 * 1024  # source characters kept compiled, in all


class Template:
    __slots__ = ("source", "single", "body")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            tree, defined = parse(source, tokenize(source))
            token = compiler.MACROS.set(macros.compile_macros(defined) if defined else None)
            try:
                # A template that is one `{{ expr }}` and nothing else can keep the value's type.
                self.single = compiler.expr(tree[0].expr) if len(tree) == 1 and isinstance(tree[0], nodes.Print) \
                    else None
                self.body = compiler.block(tree) if self.single is None else None
            finally:
                compiler.MACROS.reset(token)
        except ExpressionError as exc:
            raise exc.at(source, exc.column) from None
        except RecursionError:
            raise ExpressionError("the template is nested too deeply", template=source) from None

    def value(self, variables: Mapping[str, Any], services: Any = None, depth: int = 0,
              meter: compiler.Meter | None = None) -> Any:
        """The template's value: typed for a single `{{ expr }}`, otherwise the rendered text."""
        frame = compiler.Frame(variables, services, depth, _render_nested, meter)
        try:
            if self.single is not None:
                result = self.single(frame)
                if isinstance(result, str):
                    if len(result) > compiler.MAX_OUTPUT:
                        frame.emit([], result)
                elif isinstance(result, (Mapping, list, tuple)):  # it will be printed or stored as JSON
                    check_size(result)
                return None if result is UNDEFINED else result
            out: list[str] = []
            assert self.body is not None
            self.body(frame, out)
            return "".join(out)
        except ExpressionError as exc:
            raise exc.at(self.source, exc.column) from None
        except RecursionError:
            raise ExpressionError("the template is nested too deeply", template=self.source) from None
        except MemoryError:
            raise ExpressionError("the template needs more memory than there is", template=self.source,
                                  hint="work on less data") from None
        except Exception as exc:  # noqa: BLE001 - the sandbox's last line: no raw error leaves a render
            raise ExpressionError(f"internal error while rendering: {type(exc).__name__}: {exc}",
                                  hint="please report this template", template=self.source) from exc

    def text(self, variables: Mapping[str, Any], services: Any = None, depth: int = 0,
             meter: compiler.Meter | None = None) -> str:
        value = self.value(variables, services, depth, meter)
        return value if isinstance(value, str) else stringify(value)


_cache: dict[str, Template] = {}
_lock = threading.Lock()


_cached_chars = 0


def compile_template(source: str) -> Template:
    """The compiled template, cached; the cache is bounded in entries and in characters of source,
    so that render() of ever-growing text cannot fill memory with compiled templates."""
    global _cached_chars
    template = _cache.get(source)
    if template is None:
        template = Template(source)
        with _lock:
            if len(_cache) >= _CACHE_SIZE or _cached_chars + len(source) > _CACHE_CHARS:
                _cache.clear()
                _cached_chars = 0
            if len(source) <= _CACHE_CHARS:
                _cache[source] = template
                _cached_chars += len(source)
    return template


def _render_nested(text: str, variables: Mapping[str, Any], services: Any, depth: int, meter: compiler.Meter) -> str:
    if "{" not in text:
        return text
    return compile_template(text).text(variables, services, depth, meter)
