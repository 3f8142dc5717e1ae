"""Collection filters: first/last/length, sorting, slicing, keys/values, merging, chunking.

They follow Pebble's core filters and Kestra's additions, always returning new lists (Pebble
sorts and reverses in place, which would leak into other uses of the same variable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from lanner.expr.arguments import check_items, expect_int, expect_list, expect_number, fail
from lanner.expr.env import MAX_OUTPUT, Env
from lanner.expr.operators import LONG_MIN
from lanner.expr.values import check_size, is_number, plain, stringify, type_name


def abs_(env: Env, value: Any) -> Any:
    if value is None:
        fail("abs", "cannot take the absolute value of null", hint="give abs a number, e.g. {{ -7 | abs }}")
    number = expect_number("abs", value)
    if isinstance(number, int) and number == LONG_MIN:  # Java's Math.abs would wrap; Lanner refuses
        fail("abs", f"the absolute value of {number} is outside the 64-bit range",
             hint="integers are 64-bit as in Kestra; use a decimal for larger numbers")
    return abs(number)


def _join_text(item: Any) -> str:
    return "null" if item is None else stringify(item)  # Java's StringBuilder prints null as "null"


def join(env: Env, value: Any, separator: Any = None) -> Any:
    """Concatenate the items of a list, with `separator` between them."""
    if value is None:
        return None
    items = expect_list("join", value)
    glue = "" if separator is None else stringify(separator)
    parts, size = [], 0
    for item in items:  # measured before joining: a list may hold one long string many times
        text = _join_text(item)
        size += len(text) + len(glue)
        if size > MAX_OUTPUT:
            fail("join", f"the result would be longer than {MAX_OUTPUT} characters",
                 hint="join fewer or shorter items (LANNER_TEMPLATE_MAX_OUTPUT sets the limit)")
        parts.append(text)
    return glue.join(parts)


def first(env: Env, value: Any) -> Any:
    """The first item of a list, or the first character of a string (null when empty)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:1] or None
    items = expect_list("first", value)
    return items[0] if items else None


def last(env: Env, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[-1:] or None
    items = expect_list("last", value)
    return items[-1] if items else None


def length(env: Env, value: Any) -> int:
    """Characters of a string, items of a list or entries of a map; 0 for anything else."""
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    return 0


def reverse(env: Env, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[::-1]
    return expect_list("reverse", value)[::-1]


def _compare(where: str) -> Any:
    def compare(a: Any, b: Any) -> int:
        if is_number(a) and is_number(b) or isinstance(a, str) and isinstance(b, str) \
                or type(a) is type(b) and not isinstance(a, (Mapping, list, tuple, type(None))):
            try:
                return -1 if a < b else 1 if b < a else 0
            except (TypeError, ArithmeticError):
                pass
        fail(where, f"cannot compare {type_name(a)} `{stringify(a)}` with {type_name(b)} `{stringify(b)}`",
             hint="sort lists whose items are all numbers, all strings or all dates")

    return cmp_to_key(compare)


def sort(env: Env, value: Any) -> Any:
    """Ascending natural order (numbers by value, strings by character)."""
    if value is None:
        return None
    return sorted(expect_list("sort", value), key=_compare("sort"))


def rsort(env: Env, value: Any) -> Any:
    if value is None:
        return None
    return sorted(expect_list("rsort", value), key=_compare("rsort"), reverse=True)


def slice_(env: Env, value: Any, fromIndex: Any = None, toIndex: Any = None) -> Any:  # noqa: N803
    """Items (or characters) from `fromIndex` included to `toIndex` excluded, as Pebble checks them."""
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple)):
        fail("slice", f"can only slice a string or a list, got {type_name(value)}",
             hint="apply slice to a string or a list")
    start = 0 if fromIndex is None else expect_int("slice", "fromIndex", fromIndex, minimum=0)
    size = len(value)
    end = size if toIndex is None else expect_int("slice", "toIndex", toIndex)
    if end > size:
        fail("slice", f"toIndex ({end}) is past the end (the length is {size})",
             hint="use a toIndex no larger than the length")
    if toIndex is not None and start >= end:
        fail("slice", f"toIndex ({end}) must be greater than fromIndex ({start})", hint="swap or fix the indexes")
    if start > size:
        fail("slice", f"fromIndex ({start}) is past the end (the length is {size})",
             hint="use a fromIndex no larger than the length")
    return value[start:end] if isinstance(value, str) else list(value[start:end])


def keys(env: Env, value: Any) -> Any:
    """A map's keys, or a list's indexes."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.keys())
    if isinstance(value, (list, tuple)):
        return list(range(len(value)))
    fail("keys", f"can only be applied to a map or a list, got {type_name(value)}", hint="apply keys to a map")


def values(env: Env, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.values())
    fail("values", f"can only be applied to a map, got {type_name(value)}", hint="apply values to a map")


def merge(env: Env, value: Any, items: Any = None) -> Any:
    """Lists are concatenated; maps are merged (the argument's entries win). The left side decides
    the result's type; a list merged into a map adds each item as its own key."""
    if value is None and items is None:
        fail("merge", "both sides are null", hint="merge two lists or two maps")
    if value is None:
        return items
    if items is None:
        return value
    if isinstance(value, Mapping):
        if isinstance(items, Mapping):
            return {**value, **items}
        if isinstance(items, (list, tuple)):
            return {**value, **{(i if isinstance(i, str) else stringify(i)): i for i in items}}
    elif isinstance(value, (list, tuple)):
        if isinstance(items, (list, tuple)):
            check_items("merge", len(value) + len(items))
            return [*value, *items]
        if isinstance(items, Mapping):
            return [*value, *({"key": k, "value": v} for k, v in items.items())]
    else:
        fail("merge", f"can only merge into a list or a map, got {type_name(value)}",
             hint="merge two lists or two maps")
    fail("merge", f"cannot merge a {type_name(items)} into a {type_name(value)}", hint="merge two lists or two maps")


def _identity(item: Any) -> Any:
    """A hashable key with Java's equality: 1 and 1.0 differ, maps compare without order."""
    if isinstance(item, (Mapping, list, tuple)):
        check_size(item)
        return ("json", json.dumps(plain(item), sort_keys=True, default=str))
    if isinstance(item, Decimal):
        return ("decimal", item.normalize())
    return (type(item).__name__, item)


def distinct(env: Env, value: Any) -> Any:
    """The items of a list without repeats, keeping the first of each.

    Null gives the text `null`, not null: Kestra's distinct filter does so (unlike its other
    collection filters, which give null back, printed as nothing), and a flow may test for it.
    """
    if value is None:
        return "null"
    seen: set[Any] = set()
    out = []
    for item in expect_list("distinct", value):
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def chunk(env: Env, value: Any, size: Any = None) -> Any:
    """Cut a list into lists of `size` items (the last may be shorter)."""
    if value is None:
        return None
    if size is None:
        fail("chunk", "the argument size is required", hint="write chunk(2)")
    items = expect_list("chunk", value)
    if not is_number(size) or isinstance(size, float) and not size.is_integer():
        fail("chunk", f"size must be a whole number, got {type_name(size)}", hint="write chunk(2)")
    step = int(size)
    if step <= 0:
        fail("chunk", f"size must be at least 1, got {step}", hint="write chunk(2)")
    return [items[i:i + step] for i in range(0, len(items), step)]


def flatten(env: Env, value: Any) -> Any:
    """Lift the items of nested lists one level up: [[1, 2], 3] → [1, 2, 3]."""
    if value is None:
        return None
    out: list[Any] = []
    for item in expect_list("flatten", value):
        if isinstance(item, (list, tuple)):
            out.extend(item)
            check_items("flatten", len(out))
        else:
            out.append(item)
    return out
