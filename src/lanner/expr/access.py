"""Reading into values: `a.b`, `a[k]`, `a.method()` — the sandbox's only doors into data.

Only maps, lists and strings can be looked into, and only a short list of the Java methods
Kestra flows actually call (`.size()`, `.toUpperCase()`, `.get(k)`, …) is offered, each
implemented here on plain data. No Python attribute of any object is ever reached, so
`{{ x.__class__ }}` is just an undefined key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from lanner.expr.errors import ExpressionError, UndefinedError
from lanner.expr.values import UNDEFINED, equals, is_number, stringify, type_name

MISSING: Any = UNDEFINED


def lookup(obj: Any, key: Any) -> Any:
    """The value at `key` in `obj`, or UNDEFINED. Never raises."""
    if isinstance(obj, Mapping):
        try:
            return obj[key]
        except KeyError:
            pass
        except Exception:  # noqa: BLE001 - a broken view must not break the sandbox
            return UNDEFINED
        if isinstance(key, int) and not isinstance(key, bool):
            try:
                return obj[str(key)]
            except Exception:  # noqa: BLE001
                return UNDEFINED
        if isinstance(key, str) and key.lstrip("-").isdigit():
            try:
                return obj[int(key)]
            except Exception:  # noqa: BLE001
                return UNDEFINED
        return UNDEFINED
    if isinstance(obj, (list, tuple)):
        by_value = getattr(obj, "by_value", None) if isinstance(key, str) else None
        if by_value is not None:  # a Loop's `outputs` list also answers by iteration value (model/loop_outputs.py)
            try:
                return by_value(key)
            except KeyError:
                pass
        if isinstance(key, str) and key.isdigit():
            key = int(key)
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(obj):
            return obj[key]
        return UNDEFINED
    return UNDEFINED


def undefined(path: str | None, obj: Any, key: Any, parent_path: str | None, pos: int) -> UndefinedError:
    """The error for a missing key: names it and lists what does exist at that level (lazily)."""
    shown = path or f"[{key!r}]"
    if obj is None and parent_path:
        return UndefinedError(f"`{shown}` is undefined: `{parent_path}` is null",
                              hint=f"check `{parent_path}` with `is defined` or give a fallback with `??`",
                              column=pos + 1)
    if isinstance(obj, Mapping):
        return UndefinedError(f"`{shown}` is undefined", hint_factory=lambda: _known_keys(obj, key, parent_path),
                              column=pos + 1)
    if isinstance(obj, (list, tuple)):
        hint = (f"the list has {len(obj)} item(s), indexes 0 to {len(obj) - 1}" if obj else "the list is empty")
        return UndefinedError(f"`{shown}` is undefined", hint=hint, column=pos + 1)
    where = f"`{parent_path}`" if parent_path else "the value"
    return UndefinedError(f"`{shown}` is undefined: {where} is {_a(type_name(obj))}, it has no `{key}`",
                          hint="only maps and lists have keys and items", column=pos + 1)


def _known_keys(obj: Mapping[Any, Any], key: Any, parent_path: str | None) -> str:
    try:
        keys = [str(k) for k in obj.keys()]
    except Exception:  # noqa: BLE001 - a broken view must not break the error message
        keys = []
    label = f"known keys of `{parent_path}`" if parent_path else "known variables"
    if parent_path in ("outputs", "inputs", "vars", "labels", "tasks"):
        label = f"known {parent_path}"
    if not keys:
        return f"`{parent_path}` is empty" if parent_path else "no variables are defined here"
    close = difflib.get_close_matches(str(key), keys, n=1, cutoff=0.6)
    listing = ", ".join(sorted(keys)[:30]) + (", …" if len(keys) > 30 else "")
    return (f"did you mean `{close[0]}`? " if close else "") + f"{label}: {listing}"


def root_undefined(name: str, variables: Mapping[str, Any], pos: int) -> UndefinedError:
    def hint() -> str:
        if name == "inputs":
            return "this execution has no inputs; declare them under `inputs:` in the flow"
        if name == "trigger":
            return "`trigger` exists only in executions started by a trigger; use `trigger ?? …` for manual runs"
        if name in ("taskrun", "task"):
            return f"`{name}` exists only while a task runs"
        keys = sorted(str(k) for k in variables.keys())
        close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
        return (f"did you mean `{close[0]}`? " if close else "") + "known variables: " + ", ".join(keys)

    return UndefinedError(f"`{name}` is undefined", hint_factory=hint, column=pos + 1)


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


# -- methods -------------------------------------------------------------------------------

def _str_method(s: str, name: str, args: list[Any]) -> Any:
    table: dict[str, Callable[..., Any]] = {
        "length": lambda: len(s),
        "size": lambda: len(s),
        "isEmpty": lambda: len(s) == 0,
        "isBlank": lambda: not s.strip(),
        "toUpperCase": s.upper,
        "toLowerCase": s.lower,
        "trim": s.strip,
        "strip": s.strip,
        "toString": lambda: s,
        "contains": lambda x: stringify(x) in s,
        "startsWith": lambda x: s.startswith(stringify(x)),
        "endsWith": lambda x: s.endswith(stringify(x)),
        "equals": lambda x: isinstance(x, str) and s == x,
        "equalsIgnoreCase": lambda x: isinstance(x, str) and s.lower() == x.lower(),
        "indexOf": lambda x: s.find(stringify(x)),
        "lastIndexOf": lambda x: s.rfind(stringify(x)),
        "concat": lambda x: s + stringify(x),
        "replace": lambda a, b: s.replace(stringify(a), stringify(b)),
        "charAt": lambda i: _index(s, i),
        "substring": lambda a, b=None: _substring(s, a, b),
    }
    return _call(table, "string", name, args)


def _index(seq: Any, i: Any) -> Any:
    if not is_number(i) or not 0 <= int(i) < len(seq):
        raise ExpressionError(f"index {stringify(i)} is out of range (length {len(seq)})")
    return seq[int(i)]


def _substring(s: str, a: Any, b: Any = None) -> str:
    end = len(s) if b is None else b
    if not (is_number(a) and is_number(end)) or not 0 <= int(a) <= int(end) <= len(s):
        raise ExpressionError(f"substring({stringify(a)}, {stringify(end)}) is out of range (length {len(s)})")
    return s[int(a):int(end)]


def _list_method(items: list[Any] | tuple[Any, ...], name: str, args: list[Any]) -> Any:
    table: dict[str, Callable[..., Any]] = {
        "size": lambda: len(items),
        "isEmpty": lambda: len(items) == 0,
        "get": lambda i: _index(items, i),
        "contains": lambda x: any(equals(x, v) for v in items),
        "indexOf": lambda x: next((i for i, v in enumerate(items) if equals(x, v)), -1),
        "toString": lambda: stringify(list(items)),
    }
    return _call(table, "list", name, args)


def _map_method(m: Mapping[Any, Any], name: str, args: list[Any]) -> Any:
    def get(k: Any, default: Any = None) -> Any:
        v = lookup(m, k)
        return default if v is UNDEFINED else v

    table: dict[str, Callable[..., Any]] = {
        "size": lambda: len(m),
        "isEmpty": lambda: len(m) == 0,
        "get": get,
        "getOrDefault": get,
        "containsKey": lambda k: lookup(m, k) is not UNDEFINED,
        "containsValue": lambda v: any(equals(v, x) for x in m.values()),
        "keySet": lambda: list(m.keys()),
        "values": lambda: list(m.values()),
        "entrySet": lambda: [{"key": k, "value": v} for k, v in m.items()],
        "toString": lambda: stringify(m),
    }
    return _call(table, "map", name, args)


def _call(table: dict[str, Callable[..., Any]], kind: str, name: str, args: list[Any]) -> Any:
    fn = table.get(name)
    if fn is None:
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = (f"did you mean `{close[0]}()`? " if close else "") + f"{kind} methods: " + ", ".join(sorted(table))
        raise ExpressionError(f"a {kind} has no method `{name}()`", hint=hint)
    try:
        return fn(*args)
    except TypeError:
        raise ExpressionError(f"`{name}()` was given {len(args)} argument(s)",
                              hint="check the method's arguments") from None


def member(obj: Any, name: str) -> Any:
    """`list.size`, `text.length`, `list.empty`: a key that is not there, read as Pebble does on a
    Java object — the method `name()`, `getName()`, `isName()` or `hasName()` without arguments.
    Only for lists and text: a map's `.size` is its key `size`, as in Pebble. UNDEFINED when
    there is no such method."""
    if not isinstance(obj, (str, list, tuple)):
        return UNDEFINED
    cap = name[:1].upper() + name[1:]
    for candidate in (name, f"get{cap}", f"is{cap}", f"has{cap}"):
        if isinstance(obj, str) and candidate in _TEXT_PROPERTIES:
            return _str_method(obj, candidate, [])
        if not isinstance(obj, str) and candidate in _LIST_PROPERTIES:
            return _list_method(obj, candidate, [])
    return UNDEFINED


# The methods without arguments that a property read may call.
_TEXT_PROPERTIES = frozenset({"length", "size", "isEmpty", "isBlank", "toUpperCase", "toLowerCase", "trim", "strip",
                              "toString"})
_LIST_PROPERTIES = frozenset({"size", "isEmpty", "toString"})


def call_method(obj: Any, name: str, args: list[Any]) -> Any:
    if isinstance(obj, str):
        return _str_method(obj, name, args)
    if isinstance(obj, Mapping):
        return _map_method(obj, name, args)
    if isinstance(obj, (list, tuple)):
        return _list_method(obj, name, args)
    if is_number(obj) and name in ("toString", "intValue", "longValue", "doubleValue") and not args:
        convert: dict[str, Callable[[Any], Any]] = {
            "toString": stringify, "intValue": int, "longValue": int, "doubleValue": float}
        return convert[name](obj)
    raise ExpressionError(f"{_a(type_name(obj))} has no method `{name}()`",
                          hint="use a filter instead, e.g. `| length`, `| upper`")
