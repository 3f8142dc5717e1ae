"""Pebble's `{% macro %}`: a named piece of template, called like a function.

Pebble registers a template's macros when it parses it, so a call may come before the
definition, and a macro may call itself. A macro sees only its arguments (and the functions
and filters), never the variables around the call: that is Pebble's rule, and it keeps a macro
the same wherever it is called. Missing arguments take their default, or null. Its result is
text. Recursion is bounded by MAX_MACRO_DEPTH and, like loops, by the render's step budget.
"""

from __future__ import annotations

import contextvars
from typing import Any

from lanner.expr import compiler
from lanner.expr import nodes as n
from lanner.expr.errors import ExpressionError, UndefinedError

MAX_MACRO_DEPTH = 100
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("macro_depth", default=0)


def compile_macros(macros: dict[str, n.Macro]) -> compiler.MacroTable:
    """Each macro compiled; the template's body is then compiled with the returned table in
    `compiler.MACROS` (see template.py)."""
    table = compiler.MacroTable(set(macros))
    token = compiler.MACROS.set(table)
    try:
        for name, macro in macros.items():
            table.calls[name] = _compile(macro)
    finally:
        compiler.MACROS.reset(token)
    return table


def _compile(macro: n.Macro) -> compiler.MacroCall:
    body = compiler.block(macro.body)
    names = [p for p, _ in macro.params]
    defaults = {p: compiler.expr(d) for p, d in macro.params if d is not None}
    signature = f"{macro.name}({', '.join(names)})"

    def call(f: compiler.Frame, args: list[Any], kwargs: dict[str, Any]) -> str:
        if len(args) > len(names):
            raise ExpressionError(f"macro `{signature}` takes {len(names)} argument(s), {len(args)} given",
                                  hint="remove the extra arguments")
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise ExpressionError(f"macro `{signature}` has no parameter `{unknown[0]}`",
                                  hint="its parameters are: " + (", ".join(names) or "none"))
        scope: dict[str, Any] = dict(zip(names, args, strict=False))  # fewer args than names: defaults
        for name in names[len(args):]:
            if name in kwargs:
                scope[name] = kwargs[name]
            else:
                default = defaults.get(name)
                scope[name] = default(f) if default is not None else None
        depth = _depth.get()
        if depth >= MAX_MACRO_DEPTH:
            raise ExpressionError(f"macro `{macro.name}` is nested more than {MAX_MACRO_DEPTH} calls deep",
                                  hint="a macro that calls itself needs a condition that stops it")
        f.meter.step(macro.pos)
        inner = compiler.Frame(scope, f.services, f.depth, f.renderer, f.meter)
        out: list[str] = []
        token = _depth.set(depth + 1)
        try:
            body(inner, out)
        except UndefinedError as exc:
            missing = exc.message.split("`")[1] if exc.message.count("`") >= 2 else "."
            if "." not in missing and "[" not in missing:  # a variable, not a key of an argument
                exc.hint = (f"a macro sees only its arguments ({', '.join(names) or 'it has none'}); "
                            "pass the value in as an argument")
            raise
        finally:
            _depth.reset(token)
        return "".join(out)

    return call
