"""What the operators and `is` tests compute, with Pebble's rules.

Integers stay integers (`7 / 2` is `3`, Java's truncating division; `-7 % 2` is `-1`), any
decimal makes the result decimal, `+` with a string concatenates, `+` on a list appends.
Equality is number-aware (`1 == 1.0`) but typed (`'1' == 1` is false).

Integers are Kestra's (Java `long`, 64 bits): a result outside that range is an error rather
than a Python big integer that squaring can grow to gigabytes. Strings and lists built by `~`
and `+` are bounded by the sandbox's MAX_OUTPUT characters and MAX_ITEMS items.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lanner.expr.env import MAX_ITEMS, MAX_OUTPUT
from lanner.expr.errors import ExpressionError
from lanner.expr.values import UNDEFINED, equals, is_number, stringify, type_name

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


def _long(result: int, a: Any, op: str, b: Any = None) -> int:
    """An integer result within Java's `long`, or the overflow error Lanner gives instead of wrapping."""
    if LONG_MIN <= result <= LONG_MAX:
        return result
    shown = f"{_what(a)} {op} {_what(b)}" if b is not None else f"{op}{_what(a)}"
    raise ExpressionError(f"integer overflow: {shown} is outside the 64-bit range",
                          hint="integers are 64-bit as in Kestra; use a decimal (e.g. `x * 1.0`) for larger numbers")


def _joined(a: str, b: str, op: str) -> str:
    """`a + b` for text, refused before it is built when it would pass MAX_OUTPUT characters."""
    if len(a) + len(b) > MAX_OUTPUT:
        raise ExpressionError(f"`{op}` would make a string longer than {MAX_OUTPUT} characters",
                              hint="build less text, or write large data to a file "
                                   "(LANNER_TEMPLATE_MAX_OUTPUT sets the limit)")
    return a + b


def _java_str(v: Any) -> str:
    return "null" if v is None else stringify(v)


def _nums(a: Any, b: Any, op: str) -> tuple[Any, Any, str]:
    if not (is_number(a) and is_number(b)):
        raise ExpressionError(f"cannot compute {_what(a)} {op} {_what(b)}",
                              hint="arithmetic needs numbers; convert text with `| number`")
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _dec(a), _dec(b), "decimal"
    if isinstance(a, float) or isinstance(b, float):
        return float(a), float(b), "float"
    return a, b, "int"


def _dec(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _what(v: Any) -> str:
    text = stringify(v)
    shown = text if len(text) <= 30 else text[:27] + "..."
    return f"{type_name(v)} `{shown}`" if v is not None else "null"


def add(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        return _joined(_java_str(a), _java_str(b), "+")
    if isinstance(a, (list, tuple)):
        extra = len(b) if isinstance(b, (list, tuple)) else 1
        if len(a) + extra > MAX_ITEMS:
            raise ExpressionError(f"`+` would make a list of more than {MAX_ITEMS} items",
                                  hint="build a smaller list (LANNER_TEMPLATE_MAX_ITEMS sets the limit)")
        return [*a, *b] if isinstance(b, (list, tuple)) else [*a, b]
    x, y, kind = _nums(a, b, "+")
    r = x + y
    return r if kind != "int" or LONG_MIN <= r <= LONG_MAX else _long(r, a, "+", b)


def subtract(a: Any, b: Any) -> Any:
    if isinstance(a, (list, tuple)):
        drop = b if isinstance(b, (list, tuple)) else [b]
        return [v for v in a if not any(equals(v, d) for d in drop)]
    x, y, kind = _nums(a, b, "-")
    r = x - y
    return r if kind != "int" or LONG_MIN <= r <= LONG_MAX else _long(r, a, "-", b)


def multiply(a: Any, b: Any) -> Any:
    x, y, kind = _nums(a, b, "*")
    if kind == "int":
        if x and y and abs(x).bit_length() + abs(y).bit_length() > 130:  # never build a huge product
            return _long(LONG_MAX + 1, a, "*", b)
        r = x * y
        return r if LONG_MIN <= r <= LONG_MAX else _long(r, a, "*", b)
    return x * y


def divide(a: Any, b: Any) -> Any:
    x, y, kind = _nums(a, b, "/")
    if kind == "int":
        if y == 0:
            raise ExpressionError("division by zero", hint="check the divisor, or use a decimal (`x / 2.0`)")
        q = abs(x) // abs(y)
        return _long(q if (x >= 0) == (y > 0) else -q, a, "/", b)
    if kind == "decimal":
        try:
            return x / y
        except (InvalidOperation, ZeroDivisionError):
            raise ExpressionError("division by zero") from None
    if y == 0:
        if x == 0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def modulo(a: Any, b: Any) -> Any:
    x, y, kind = _nums(a, b, "%")
    if kind == "int":
        if y == 0:
            raise ExpressionError("modulo by zero")
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    if kind == "decimal":
        try:
            return x % y
        except (InvalidOperation, ZeroDivisionError):
            raise ExpressionError("modulo by zero") from None
    return math.fmod(x, y) if y != 0 else math.nan


def negate(v: Any) -> Any:
    if not is_number(v):
        raise ExpressionError(f"cannot negate {_what(v)}", hint="`-` needs a number")
    return _long(-v, v, "-") if isinstance(v, int) else -v


def plus(v: Any) -> Any:
    if not is_number(v):
        raise ExpressionError(f"unary `+` needs a number, not {_what(v)}")
    return v


def compare(a: Any, b: Any, op: str) -> bool:
    if a is None or b is None:  # Pebble: an ordering with null is simply false
        return False
    if is_number(a) and is_number(b):
        x, y = (_dec(a), _dec(b)) if isinstance(a, Decimal) or isinstance(b, Decimal) else (a, b)
    elif type(a) is type(b) and isinstance(a, (str, dt.date, dt.time, dt.timedelta)):
        x, y = a, b
    else:
        raise ExpressionError(f"cannot compare {_what(a)} with {_what(b)} using `{op}`",
                              hint="compare numbers with numbers and text with text; `| number` converts text")
    try:
        if op == "<":
            return bool(x < y)
        if op == ">":
            return bool(x > y)
        if op == "<=":
            return bool(x <= y)
        return bool(x >= y)
    except TypeError:  # e.g. aware vs naive date-times
        raise ExpressionError(f"cannot compare {_what(a)} with {_what(b)}") from None


def contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return _java_str(item) in container
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            return False
    if isinstance(container, (list, tuple)):
        wanted = item if isinstance(item, (list, tuple)) else [item]
        return all(any(equals(w, v) for v in container) for w in wanted)
    raise ExpressionError(f"`contains` needs a string, a list or a map on its left, not {_what(container)}")


def is_in(item: Any, container: Any) -> bool:
    """Kestra's `x isIn y`: `x` printed equals an item of the list printed, or a key or a value of
    the map; false against null or anything else. Printed forms are compared (as Kestra compares
    `toString()`s), so an execution state, a number or its text all match their text."""
    if item is None or container is None:
        return False
    wanted = stringify(item)
    if isinstance(container, Mapping):
        return any(stringify(k) == wanted or stringify(v) == wanted for k, v in container.items())
    if isinstance(container, (list, tuple)):
        return any(stringify(v) == wanted for v in container)
    return False


def concat(a: Any, b: Any) -> str:
    x, y = stringify(a), stringify(b)
    return x + y if len(x) + len(y) <= MAX_OUTPUT else _joined(x, y, "~")


def value_range(a: Any, b: Any) -> list[Any]:
    """`a..b`: inclusive, empty when `a > b` (Pebble's range with increment 1); integers or characters."""
    if isinstance(a, str) and isinstance(b, str) and len(a) == 1 and len(b) == 1:
        return [chr(c) for c in range(ord(a), ord(b) + 1)]
    if not (is_number(a) and is_number(b)) or isinstance(a, float) and not a.is_integer() or \
            isinstance(b, float) and not b.is_integer():
        raise ExpressionError(f"a range needs two integers or two characters, not {_what(a)}..{_what(b)}")
    lo, hi = int(a), int(b)
    if hi - lo + 1 > MAX_ITEMS:
        raise ExpressionError(f"the range {lo}..{hi} would have more than {MAX_ITEMS} items",
                              hint="use a smaller range")
    return list(range(lo, hi + 1))


# -- tests (`x is defined`) ---------------------------------------------------------------

def _is_empty(v: Any) -> bool:
    if v is None or v is UNDEFINED:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (Mapping, list, tuple)):
        return len(v) == 0
    return False


def _parity(v: Any, want: int) -> bool:
    if not is_number(v) or isinstance(v, float) and not v.is_integer():
        raise ExpressionError(f"`even`/`odd` need an integer, not {_what(v)}")
    return int(v) % 2 == want


def _is_json(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        json.loads(v)
    except ValueError:
        return False
    return True


TESTS: dict[str, Callable[[Any], bool]] = {
    "defined": lambda v: v is not UNDEFINED and v is not None,
    "null": lambda v: v is None,
    "empty": _is_empty,
    "even": lambda v: _parity(v, 0),
    "odd": lambda v: _parity(v, 1),
    "iterable": lambda v: isinstance(v, (list, tuple)),
    "map": lambda v: isinstance(v, Mapping),
    "json": _is_json,
}
