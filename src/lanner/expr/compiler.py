"""Syntax tree → Python closures. Each node becomes one small function of the `Frame`.

Closures rather than generated Python source: nothing a template says is ever handed to
Python's own compiler, which keeps the sandbox simple to reason about, and a closure per node
is fast enough (one dict lookup and one call per step) for the renders a flow needs.
Filters, functions and tests are resolved when the template is compiled, so a misspelt filter
is reported when the flow is validated, not when the task runs.
"""

from __future__ import annotations

import contextvars
import difflib
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from lanner.expr import nodes as n
from lanner.expr import operators as ops
from lanner.expr.access import call_method, lookup, member, root_undefined, undefined
from lanner.expr.env import MAX_OUTPUT, MAX_RENDER_DEPTH, MAX_STEPS, TIME_BUDGET, Env
from lanner.expr.errors import ExpressionError, UndefinedError
from lanner.expr.values import UNDEFINED, stringify, truth

Eval = Callable[["Frame"], Any]
Exec = Callable[["Frame", list[str]], None]
Renderer = Callable[[str, Mapping[str, Any], Any, int, "Meter"], str]


class Meter:
    """The work budget of one top-level render, shared by the renders `render()` starts inside it.

    Every loop iteration and every nested render is a step; past MAX_STEPS steps, or once the
    time budget is spent (the clock is read every 256 steps and at each nested render), the
    render fails. Sharing it is what stops `render(a)` with `a = "{{ render(a) }}{{ render(a) }}"`:
    depth alone would still allow 2**depth renders.
    """

    __slots__ = ("deadline", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + TIME_BUDGET

    def step(self, pos: int | None = None, clock: bool = False) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"the template loops more than {MAX_STEPS} times (render() calls included)",
                                  hint="loop over less data (LANNER_TEMPLATE_MAX_STEPS sets the limit)",
                                  column=None if pos is None else pos + 1)
        if (clock or not self.steps & 255) and time.monotonic() > self.deadline:
            raise ExpressionError(f"the template ran longer than {TIME_BUDGET:g}s",
                                  hint="loop over less data (LANNER_TEMPLATE_TIMEOUT sets the limit)",
                                  column=None if pos is None else pos + 1)


class Frame:
    """The state of one render: variables, `set`/loop scopes, services, and the sandbox's meters."""

    __slots__ = ("root", "scopes", "services", "_meter", "size", "depth", "_env", "renderer")

    def __init__(self, root: Mapping[str, Any], services: Any, depth: int, renderer: Renderer,
                 meter: Meter | None = None) -> None:
        self.root = root
        self.scopes: list[dict[str, Any]] = []
        self.services = services
        self._meter = meter
        self.size = 0
        self.depth = depth
        self._env: Env | None = None
        self.renderer = renderer

    @property
    def meter(self) -> Meter:
        """Made on first use: a render without loops or render() never reads the clock."""
        if self._meter is None:
            self._meter = Meter()
        return self._meter

    @property
    def env(self) -> Env:
        if self._env is None:
            services, depth, renderer, frame = self.services, self.depth + 1, self.renderer, self

            def render_text(text: str, variables: Mapping[str, Any]) -> str:
                if depth > MAX_RENDER_DEPTH:
                    raise ExpressionError(f"render() is nested more than {MAX_RENDER_DEPTH} levels deep",
                                          hint="a value keeps rendering itself; check for a template that "
                                               "refers to itself (LANNER_TEMPLATE_MAX_RENDER_DEPTH sets the limit)")
                meter = frame.meter
                meter.step(clock=True)
                return renderer(text, variables, services, depth, meter)

            self._env = Env(self.root, services, render_text, self.depth)
        return self._env

    def emit(self, out: list[str], text: str) -> None:
        out.append(text)
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise ExpressionError(f"the rendered text is longer than {MAX_OUTPUT} characters",
                                  hint="render less, or write large data to a file")


MacroCall = Callable[["Frame", list[Any], dict[str, Any]], str]


class MacroTable:
    """The macros of the template being compiled: their names, known before any is compiled,
    and their compiled bodies, filled in as they are compiled. A call compiles to a lookup in
    `calls` at run time, so a macro may call itself or one defined further down."""

    __slots__ = ("names", "calls")

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.calls: dict[str, MacroCall] = {}


# Set by template.py around compiling one template. Functions win over macros of the same name,
# as in Pebble.
MACROS: contextvars.ContextVar[MacroTable | None] = contextvars.ContextVar("macros", default=None)


def _registry(kind: str) -> dict[str, Callable[..., Any]]:
    if kind == "filter":
        from lanner.expr.filters import FILTERS

        return FILTERS
    from lanner.expr.functions import FUNCTIONS

    return FUNCTIONS


def _unknown(kind: str, name: str, pos: int, known: list[str]) -> ExpressionError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else f"see docs/expressions.md for the {kind}s Lanner knows"
    return ExpressionError(f"unknown {kind} `{name}`", hint=hint, column=pos + 1)


def _located(exc: ExpressionError, pos: int) -> ExpressionError:
    if exc.column is None and exc.template is None:
        exc.column = pos + 1
    return exc


def _call_error(kind: str, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                exc: Exception, pos: int) -> ExpressionError:
    """A plugin-style function raised: tell a wrong call apart from a failure inside it."""
    if isinstance(exc, TypeError):
        try:
            inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as bind_error:
            params = [p for p in list(inspect.signature(fn).parameters)[1 + (kind == "filter"):]]
            shown = ", ".join(params) if params else "no arguments"
            return ExpressionError(f"{kind} `{name}` called wrongly: {bind_error}",
                                   hint=f"it takes: {shown}", column=pos + 1)
    text = str(exc) or type(exc).__name__
    return ExpressionError(f"{kind} `{name}` failed: {text}", hint="check the value given to it", column=pos + 1)


# -- expressions -------------------------------------------------------------------------------


def expr(node: n.Node) -> Eval:
    method = _EXPR.get(type(node))
    if method is None:  # pragma: no cover - every node type is in the table
        raise ExpressionError(f"cannot evaluate {type(node).__name__}", column=node.pos + 1)
    return method(node)


def lenient(node: n.Node) -> Eval:
    """Evaluate, turning an undefined lookup into UNDEFINED (for `??`, `default`, `is defined`)."""
    inner = expr(node)

    def run(f: Frame) -> Any:
        try:
            return inner(f)
        except UndefinedError:
            return UNDEFINED

    return run


def _literal(node: n.Literal) -> Eval:
    value = node.value
    return lambda f: value


def _list(node: n.ListLit) -> Eval:
    items = [expr(i) for i in node.items]
    return lambda f: [i(f) for i in items]


def _map(node: n.MapLit) -> Eval:
    pairs = [(expr(k), expr(v)) for k, v in node.pairs]

    def run(f: Frame) -> Any:
        out: dict[Any, Any] = {}
        for k, v in pairs:
            key = k(f)
            out[key if isinstance(key, (str, int, float, bool)) or key is None else stringify(key)] = v(f)
        return out

    return run


def _interpolated(node: n.Interpolated) -> Eval:
    parts = [expr(p) for p in node.parts]
    return lambda f: "".join(stringify(p(f)) for p in parts)


def _name(node: n.Name) -> Eval:
    key, pos = node.name, node.pos

    def run(f: Frame) -> Any:
        if f.scopes:
            for scope in reversed(f.scopes):
                if key in scope:
                    return scope[key]
        try:
            return f.root[key]
        except KeyError:
            raise root_undefined(key, f.root, pos) from None

    return run


def _attr(node: n.Attr) -> Eval:
    obj, key, pos = expr(node.obj), node.name, node.pos
    path, parent = n.path_of(node), n.path_of(node.obj)

    def run(f: Frame) -> Any:
        base = obj(f)
        value = lookup(base, key)
        if value is UNDEFINED:
            value = member(base, key)
            if value is UNDEFINED:
                raise undefined(path, base, key, parent, pos)
        return value

    return run


def _item(node: n.Item) -> Eval:
    obj, keyf, pos = expr(node.obj), expr(node.key), node.pos
    parent = n.path_of(node.obj)

    def run(f: Frame) -> Any:
        base = obj(f)
        key = keyf(f)
        value = lookup(base, key)
        if value is UNDEFINED:
            shown = f"{parent}[{key!r}]" if parent and isinstance(key, str) else (
                f"{parent}[{stringify(key)}]" if parent else None)
            raise undefined(shown, base, key, parent, pos)
        return value

    return run


def _macro_call(node: n.Call, macros: MacroTable) -> Eval:
    args = [expr(a) for a in node.args]
    kwargs = {k: expr(v) for k, v in node.kwargs.items()}
    name, pos = node.name, node.pos

    def run(f: Frame) -> Any:
        try:
            return macros.calls[name](f, [a(f) for a in args], {k: v(f) for k, v in kwargs.items()})
        except ExpressionError as exc:
            raise _located(exc, pos) from None

    return run


def _call(node: n.Call) -> Eval:
    functions = _registry("function")
    fn = functions.get(node.name)
    macros = MACROS.get()
    if fn is None and macros is not None and node.name in macros.names:
        return _macro_call(node, macros)
    if fn is None:
        raise _unknown("function", node.name, node.pos, sorted([*functions, *(macros.names if macros else ())]))
    args = [expr(a) for a in node.args]
    kwargs = {k: expr(v) for k, v in node.kwargs.items()}
    name, pos = node.name, node.pos

    def run(f: Frame) -> Any:
        a = tuple(x(f) for x in args)
        kw = {k: v(f) for k, v in kwargs.items()}
        env = f.env
        try:
            return fn(env, *a, **kw)
        except ExpressionError as exc:
            raise _located(exc, pos) from None
        except Exception as exc:  # noqa: BLE001 - the sandbox turns every failure into an ExpressionError
            raise _call_error("function", name, fn, (env, *a), kw, exc, pos) from None

    return run


def _method(node: n.MethodCall) -> Eval:
    obj, args, name, pos = expr(node.obj), [expr(a) for a in node.args], node.name, node.pos

    def run(f: Frame) -> Any:
        base = obj(f)
        try:
            return call_method(base, name, [a(f) for a in args])
        except ExpressionError as exc:
            raise _located(exc, pos) from None

    return run


def _default(node: n.Filter) -> Eval:
    value = lenient(node.value)
    fallback = expr(node.args[0]) if node.args else (expr(node.kwargs["default"]) if "default" in node.kwargs
                                                     else (lambda f: ""))

    def run(f: Frame) -> Any:
        v = value(f)
        return fallback(f) if ops.TESTS["empty"](v) else v

    return run


def _filter(node: n.Filter) -> Eval:
    if node.name == "default":
        return _default(node)
    filters = _registry("filter")
    fn = filters.get(node.name)
    if fn is None:
        raise _unknown("filter", node.name, node.pos, [*filters, "default"])
    value = expr(node.value)
    return _filter_call(fn, node, value)


def _filter_call(fn: Callable[..., Any], node: n.Filter, value: Eval) -> Eval:
    args = [expr(a) for a in node.args]
    kwargs = {k: expr(v) for k, v in node.kwargs.items()}
    name, pos = node.name, node.pos

    def run(f: Frame) -> Any:
        v = value(f)
        a = tuple(x(f) for x in args)
        kw = {k: x(f) for k, x in kwargs.items()}
        env = f.env
        try:
            return fn(env, v, *a, **kw)
        except ExpressionError as exc:
            raise _located(exc, pos) from None
        except Exception as exc:  # noqa: BLE001 - the sandbox turns every failure into an ExpressionError
            raise _call_error("filter", name, fn, (env, v, *a), kw, exc, pos) from None

    return run


def _test(node: n.Test) -> Eval:
    test = ops.TESTS.get(node.name)
    if test is None:
        raise _unknown("test", node.name, node.pos, sorted(ops.TESTS))
    value = lenient(node.value) if node.name == "defined" else expr(node.value)
    negated, pos = node.negated, node.pos

    def run(f: Frame) -> bool:
        try:
            result = test(value(f))
        except ExpressionError as exc:
            raise _located(exc, pos) from None
        return not result if negated else result

    return run


def _unary(node: n.Unary) -> Eval:
    operand, pos = expr(node.operand), node.pos
    if node.op == "not":
        return lambda f: not truth(operand(f))

    def run(f: Frame) -> Any:
        v = operand(f)
        try:
            return ops.negate(v) if node.op == "-" else ops.plus(v)
        except ExpressionError as exc:
            raise _located(exc, pos) from None

    return run


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide, "%": ops.modulo,
    "~": ops.concat, "..": ops.value_range, "contains": ops.contains, "isIn": ops.is_in,
}


def _binary(node: n.Binary) -> Eval:
    op, pos = node.op, node.pos
    if op in ("??", "???"):
        left, right = lenient(node.left), expr(node.right)
        if op == "??":
            return lambda f: right(f) if (v := left(f)) is UNDEFINED or v is None else v
        return lambda f: right(f) if (v := left(f)) is UNDEFINED else v
    left, right = expr(node.left), expr(node.right)
    if op == "and":
        return lambda f: truth(left(f)) and truth(right(f))
    if op == "or":
        return lambda f: truth(left(f)) or truth(right(f))
    if op in ("==", "equals"):
        return lambda f: ops.equals(left(f), right(f))
    if op == "!=":
        return lambda f: not ops.equals(left(f), right(f))
    if op in ("<", ">", "<=", ">="):
        def compare(f: Frame) -> Any:
            a, b = left(f), right(f)
            try:
                return ops.compare(a, b, op)
            except ExpressionError as exc:
                raise _located(exc, pos) from None

        return compare
    fn = _BINARY[op]

    def run(f: Frame) -> Any:
        a, b = left(f), right(f)
        try:
            return fn(a, b)
        except ExpressionError as exc:
            raise _located(exc, pos) from None

    return run


def _ternary(node: n.Ternary) -> Eval:
    cond, then, otherwise = expr(node.cond), expr(node.then), expr(node.otherwise)
    return lambda f: then(f) if truth(cond(f)) else otherwise(f)


_EXPR: dict[type, Callable[[Any], Eval]] = {
    n.Literal: _literal, n.ListLit: _list, n.MapLit: _map, n.Interpolated: _interpolated, n.Name: _name,
    n.Attr: _attr, n.Item: _item, n.Call: _call, n.MethodCall: _method, n.Filter: _filter, n.Test: _test,
    n.Unary: _unary, n.Binary: _binary, n.Ternary: _ternary,
}


# -- statements --------------------------------------------------------------------------------


def block(body: list[n.Node]) -> Exec:
    if len(body) > 1 and all(isinstance(s, (n.Text, n.Print)) for s in body):
        return _text_run(body)
    steps = [statement(s) for s in body]
    if len(steps) == 1:
        return steps[0]

    def run(f: Frame, out: list[str]) -> None:
        for step in steps:
            step(f, out)

    return run


def _constant(text: str) -> Callable[[Frame], str]:
    return lambda f: text


def _printed(value: Eval) -> Callable[[Frame], str]:
    return lambda f: stringify(value(f))


def _text_run(body: list[n.Node]) -> Exec:
    """Text and prints only (the common loop body): one joined string, one emit."""
    parts: list[Callable[[Frame], str]] = []
    for node in body:
        if isinstance(node, n.Text):
            parts.append(_constant(node.text))
        else:
            parts.append(_printed(expr(node.expr)))  # type: ignore[attr-defined]  # callers pass Text and Print only

    def run(f: Frame, out: list[str]) -> None:
        f.emit(out, "".join([p(f) for p in parts]))

    return run


def statement(node: n.Node) -> Exec:
    if isinstance(node, n.Text):
        text = node.text
        return lambda f, out: f.emit(out, text)
    if isinstance(node, n.Print):
        value = expr(node.expr)
        return lambda f, out: f.emit(out, stringify(value(f)))
    if isinstance(node, n.If):
        return _if(node)
    if isinstance(node, n.For):
        return _for(node)
    if isinstance(node, n.Set):
        return _set(node)
    if isinstance(node, n.FilterBlock):
        return _filter_block(node)
    if isinstance(node, n.Block):
        return block(node.body)
    if isinstance(node, n.Macro):  # compiled once by macros.py; prints nothing where it stands
        return lambda f, out: None
    raise ExpressionError(f"cannot run {type(node).__name__}", column=node.pos + 1)  # pragma: no cover


def _if(node: n.If) -> Exec:
    branches = [(expr(c), block(b)) for c, b in node.branches]
    otherwise = block(node.otherwise) if node.otherwise is not None else None

    def run(f: Frame, out: list[str]) -> None:
        for cond, body in branches:
            if truth(cond(f)):
                body(f, out)
                return
        if otherwise is not None:
            otherwise(f, out)

    return run


def _for(node: n.For) -> Exec:
    iterable, body = expr(node.iterable), block(node.body)
    otherwise = block(node.otherwise) if node.otherwise is not None else None
    names, pos, path = node.names, node.pos, n.path_of(node.iterable) or "the value"

    def run(f: Frame, out: list[str]) -> None:
        seq = iterable(f)
        if seq is None:  # Pebble: neither the body nor the `else` block
            return
        if isinstance(seq, Mapping):
            items: list[Any] = [{"key": k, "value": v} for k, v in seq.items()] if len(names) == 1 \
                else list(seq.items())
        elif isinstance(seq, (list, tuple)):
            items = list(seq)
        else:
            raise ExpressionError(f"`for` cannot loop over `{path}`: it is {stringify(type(seq).__name__)}",
                                  hint="loop over a list or a map", column=pos + 1)
        if not items:
            if otherwise is not None:
                otherwise(f, out)
            return
        length = len(items)
        scope: dict[str, Any] = {}
        f.scopes.append(scope)
        meter = f.meter
        try:
            for i, item in enumerate(items):
                meter.steps += 1  # Meter.step's test inlined: this is the hot loop
                if meter.steps > MAX_STEPS or not meter.steps & 255:
                    meter.steps -= 1
                    meter.step(pos)
                if len(names) == 1:
                    scope[names[0]] = item
                else:
                    if isinstance(item, tuple):
                        scope[names[0]], scope[names[1]] = item
                    else:
                        scope[names[0]], scope[names[1]] = i, item
                scope["loop"] = {"index": i, "revindex": length - i - 1, "first": i == 0,
                                 "last": i == length - 1, "length": length}
                body(f, out)
        finally:
            f.scopes.pop()

    return run


def _set(node: n.Set) -> Exec:
    value, name = expr(node.expr), node.name

    def run(f: Frame, out: list[str]) -> None:
        v = value(f)
        for scope in reversed(f.scopes):  # Pebble: the scope that already holds the name
            if name in scope:
                scope[name] = v
                return
        if not f.scopes or name in f.root:  # the template's own scope, made when first needed
            if not f.scopes or f.scopes[0].get(_TEMPLATE_SCOPE) is not True:
                f.scopes.insert(0, {_TEMPLATE_SCOPE: True})
            f.scopes[0][name] = v
        else:
            f.scopes[-1][name] = v

    return run


_BLOCK_TEXT = "\0text"  # a scope key no template can name
_TEMPLATE_SCOPE = "\0template"  # marks the template-level scope


def _filter_block(node: n.FilterBlock) -> Exec:
    body = block(node.body)
    chain: Eval = lambda f: f.scopes[-1][_BLOCK_TEXT]  # noqa: E731
    filters = _registry("filter")
    for flt in node.filters:
        if flt.name == "default":
            raise ExpressionError("`default` cannot be used in a `{% filter %}` block", column=flt.pos + 1)
        fn = filters.get(flt.name)
        if fn is None:
            raise _unknown("filter", flt.name, flt.pos, list(filters))
        chain = _filter_call(fn, flt, chain)

    def run(f: Frame, out: list[str]) -> None:
        inner: list[str] = []
        body(f, inner)
        f.scopes.append({_BLOCK_TEXT: "".join(inner)})
        try:
            f.emit(out, stringify(chain(f)))
        finally:
            f.scopes.pop()

    return run
