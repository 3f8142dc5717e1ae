"""How template values behave: the undefined marker, printing, truthiness, equality and types.

Pebble (as Kestra configures it) prints values in Java's way — `true`, `1`, `1.5`, `1.0E10`,
compact JSON for maps and lists, the empty string for null — and users' flows depend on that
text (`runIf: "{{ outputs.check.value == 'ok' }}"` becomes the string `true`). These rules are
kept in one place so the evaluator, the filters and the functions print alike.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any


class _Undefined:
    """A missing variable or key. Only `??`, `???`, `default` and `is defined` may hold one."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def java_double(x: float) -> str:
    """`Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    ax = abs(x)
    if 1e-3 <= ax < 1e7:
        text = repr(x)
        return text if "." in text else text + ".0"
    # Shortest round-trip digits (Python's repr, as Java's), in Java's `d.dddE±n` form.
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = exponent + len(digits) - 1  # type: ignore[operator]  # an int: only NaN/inf have a str exponent
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exp10}"


def _iso_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()
    if value.utcoffset() == dt.timedelta(0):
        from lanner.model.state import iso

        return iso(value)
    return value.isoformat()


def _iso_duration(value: dt.timedelta) -> str:
    """Java's `Duration.toString`: PT1H30M, PT0.5S, PT0S."""
    total = value.total_seconds()
    if total == 0:
        return "PT0S"
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{sign}{int(hours)}H"
    if minutes:
        out += f"{sign}{int(minutes)}M"
    if seconds:
        text = f"{seconds:.9f}".rstrip("0").rstrip(".")
        out += f"{sign}{text}S"
    return out


def stringify(value: Any) -> str:
    """Print a value the way Kestra's Pebble does inside text."""
    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _iso_datetime(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _iso_duration(value)
    if isinstance(value, (Mapping, list, tuple)):
        return to_json(value, nulls=False)
    return str(value)


def plain(value: Any, nulls: bool = True) -> Any:
    """Turn a value into JSON-ready data (mappings → dict, tuples → list, dates → ISO text).

    Without `nulls`, map entries whose value is null are left out, as Kestra's JSON mapper does.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v, nulls) for k, v in value.items() if nulls or (v is not None and v is not UNDEFINED)}
    if isinstance(value, (list, tuple)):
        return [plain(v, nulls) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else stringify(value)
    if value is UNDEFINED:
        return None
    return stringify(value)


class _JavaJSON(json.JSONEncoder):
    def default(self, o: Any) -> Any:  # pragma: no cover - plain() removes these first
        return stringify(o)


def check_size(value: Any) -> None:
    """Refuse a map or list whose JSON would pass MAX_OUTPUT characters, before building any of it.

    Templates can share one sub-map many times (`{% set m = {'a': m, 'b': m} %}` in a loop): the
    value is small in memory but its JSON doubles at each step. Sizes are remembered per container,
    so the check costs one visit per distinct container, not per printed copy.
    """
    from lanner.expr.env import MAX_OUTPUT
    from lanner.expr.errors import ExpressionError

    sizes: dict[int, int] = {}

    def size(v: Any) -> int:
        if isinstance(v, str):
            return len(v) + 2
        if not isinstance(v, (Mapping, list, tuple)):
            return 24  # a number, a date, a boolean: short
        key = id(v)
        known = sizes.get(key)
        if known is not None:
            return known
        total = 2
        if isinstance(v, Mapping):
            for k, item in v.items():
                total += (len(k) if isinstance(k, str) else 24) + 4 + size(item)
                if total > MAX_OUTPUT:
                    break
        else:
            for item in v:
                total += 1 + size(item)
                if total > MAX_OUTPUT:
                    break
        if total > MAX_OUTPUT:
            raise ExpressionError(f"the value would print as more than {MAX_OUTPUT} characters of JSON",
                                  hint="work on less data (LANNER_TEMPLATE_MAX_OUTPUT sets the limit)")
        sizes[key] = total
        return total

    size(value)


def to_json(value: Any, pretty: bool = False, nulls: bool = True) -> str:
    """Compact JSON as Jackson writes it (`{"a":1,"b":[1,2]}`); non-ASCII kept as is."""
    check_size(value)
    data = plain(value, nulls)
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def is_truthy(value: Any) -> bool:
    """Kestra's condition rule: false only for `false`, `0`, `-0`, the empty string and null."""
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0
    text = value if isinstance(value, str) else stringify(value)
    return text not in ("false", "0", "-0", "")  # compared as written, as Kestra's TruthUtils does


def truth(value: Any) -> bool:
    """Truth of a value inside an expression (`if`, `and`, `not`, `? :`).

    Pebble's: a non-empty string is true (even `'false'`), a number is true unless zero, null is
    false. Pebble refuses maps and lists here; Lanner reads them as true when not empty.
    """
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (Mapping, Sequence)):
        return len(value) > 0
    return True


def type_name(value: Any) -> str:
    """A name for error messages that a flow author understands."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dt.datetime):
        return "date-time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.timedelta):
        return "duration"
    return type(value).__name__


def equals(a: Any, b: Any, _seen: set[tuple[int, int]] | None = None) -> bool:
    """Pebble's `==`: numbers compare by value (1 == 1.0), otherwise Java's equals ("1" != 1).

    Pairs of containers already compared are remembered (`_seen`): any unequal pair ends the whole
    comparison, so a remembered pair is an equal one, and maps that share sub-maps compare in time
    proportional to their distinct parts, not to their printed size.
    """
    if a is UNDEFINED:
        a = None
    if b is UNDEFINED:
        b = None
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return False
    both_maps = isinstance(a, Mapping) and isinstance(b, Mapping)
    if both_maps or isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if a is b:
            return True
        seen = set() if _seen is None else _seen
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
        if both_maps:
            return len(a) == len(b) and all(k in b and equals(v, b[k], seen) for k, v in a.items())
        return len(a) == len(b) and all(equals(x, y, seen) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def map_text(value: Any, render_text: Callable[[str], Any]) -> Any:
    """`value` with every string in it (map keys included) replaced by `render_text(string)`:
    how a map or list is rendered, by a task property as by the `render()` function."""
    if isinstance(value, str):
        return render_text(value)
    if isinstance(value, Mapping):
        return {map_text(k, render_text): map_text(v, render_text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_text(v, render_text) for v in value]
    return value
