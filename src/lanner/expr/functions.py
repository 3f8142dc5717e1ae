"""The function registry: every `{{ name(args) }}` function Lanner knows, by Kestra name.

A function is `f(env, *args, **kwargs)` with Kestra's argument names as parameter names; it
raises only `ExpressionError`. This module also holds the functions that need nothing but
their arguments (dates, numbers, parsing, ids); those that look at the run are in
`functions_context`. `isIn` is an operator in Kestra (`x isIn [..]`), not a function, so it
belongs to the evaluator; `fileExists`, `fileSize`, `http` need services the worker does not
offer yet and are not registered (`isFileEmpty` reads the file as `read()` does).
"""

from __future__ import annotations

import json as _json
import random
import secrets as _secrets
import time
import uuid as _uuid
from collections.abc import Callable, Mapping
from typing import Any

from lanner.expr import dates
from lanner.expr import functions_calendar as cal
from lanner.expr import functions_context as ctx
from lanner.expr import functions_crypto as crypto
from lanner.expr import functions_ids as ids
from lanner.expr import functions_loops as loops
from lanner.expr.arguments import ABSENT, check_items, expect_int, expect_str, expect_whole, fail, require, shielded
from lanner.expr.env import Env
from lanner.expr.ion import from_ion
from lanner.expr.values import is_number, stringify, type_name
from lanner.expr.yaml_text import from_yaml


def now(env: Env, format: Any = "iso", timeZone: Any = None, existingFormat: Any = None,  # noqa: A002,N803
        locale: Any = None) -> str:
    """The current date-time as text (`iso` by default: 2024-07-09T06:17:01.171193Z)."""
    tz = dates.zone(timeZone)
    return dates.format_date(dates.now(), format, tz, locale)


def range_(env: Env, start: Any = None, end: Any = None, increment: Any = 1) -> list[Any]:
    """Numbers from `start` to `end` INCLUDED, by `increment`; or single characters ('a'..'e')."""
    step = expect_whole("range", "increment", increment)
    if step == 0:
        fail("range", "the increment must not be 0", hint="use a positive or a negative increment")
    if is_number(start) and is_number(end):
        first, stop, chars = expect_whole("range", "start", start), expect_whole("range", "end", end), False
    elif isinstance(start, str) and isinstance(end, str) and len(start) == 1 and len(end) == 1:
        first, stop, chars = ord(start), ord(end), True
    else:
        fail("range", f"start and end must be numbers or single characters, got {type_name(start)} "
             f"and {type_name(end)}", hint="write range(1, 10) or range('a', 'z')")
    count = max(0, (stop - first) // step + 1)
    check_items("range", count)
    values = range(first, stop + (1 if step > 0 else -1), step)
    return [chr(v) for v in values] if chars else list(values)


def _compare(where: str, a: Any, b: Any) -> bool:
    """a > b with Pebble's rules: numbers by value, otherwise values of one comparable kind."""
    if is_number(a) and is_number(b) or type(a) is type(b) and not isinstance(a, (Mapping, list, bool)):
        try:
            return bool(a > b)
        except (TypeError, ArithmeticError):
            pass
    fail(where, f"cannot compare {type_name(a)} `{stringify(a)}` with {type_name(b)} `{stringify(b)}`",
         hint="compare numbers with numbers and text with text")


def max_(env: Env, *values: Any) -> Any:
    """The largest argument (nulls are ignored)."""
    best = None
    for value in values:
        if value is not None and (best is None or _compare("max", value, best)):
            best = value
    return best


def min_(env: Env, *values: Any) -> Any:
    """The smallest argument (nulls are ignored)."""
    best = None
    for value in values:
        if value is not None and (best is None or _compare("min", best, value)):
            best = value
    return best


def _check_lists(where: str, value: Any) -> Any:
    """Parsed data obeys the sandbox too: no list longer than MAX_ITEMS."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            check_items(where, len(item))
            stack.extend(i for i in item if isinstance(i, (list, dict)))
        elif isinstance(item, dict):
            stack.extend(i for i in item.values() if isinstance(i, (list, dict)))
    return value


def fromJson(env: Env, json: Any = ABSENT) -> Any:  # noqa: N802 - Kestra's argument name
    """Parse JSON text into maps, lists, strings, numbers, booleans and null (null gives null)."""
    require("fromJson", "json", json, "pass JSON text, e.g. fromJson(outputs.task.body)")
    if json is None:
        return None
    source = expect_str("fromJson", "json", json, hint="pass JSON text, e.g. fromJson(outputs.task.body)")
    try:
        return _check_lists("fromJson", _json.loads(source))
    except RecursionError:
        fail("fromJson", "the JSON is nested too deeply", hint="flatten the JSON")
    except ValueError as exc:
        fail("fromJson", f"invalid JSON: {exc}", hint="check the JSON text (double quotes, no trailing commas)")


def yaml(env: Env, yaml: Any = None) -> Any:  # noqa: A002 - Kestra's argument name
    """Parse YAML text (one document) into values."""
    text = expect_str("yaml", "yaml", yaml, hint="pass YAML text, e.g. yaml('a: 1')")
    return _check_lists("yaml", from_yaml(text))


def fromIon(env: Env, ion: Any = ABSENT, allRows: Any = False) -> Any:  # noqa: N802,N803
    """Parse Ion text: the first value, or the list of all values with allRows=true (null gives null)."""
    require("fromIon", "ion", ion, "pass Ion text, e.g. fromIon(read(outputs.query.uri))")
    if ion is None:
        return None
    text = expect_str("fromIon", "ion", ion, hint="pass Ion text, e.g. fromIon(read(outputs.query.uri))")
    if not isinstance(allRows, bool):
        fail("fromIon", f"allRows must be true or false, got {type_name(allRows)}", hint="write allRows=true")
    return _check_lists("fromIon", from_ion(text, allRows))


def uuid(env: Env) -> str:
    """A new time-ordered UUID (version 7), as Kestra generates them."""
    millis = time.time_ns() // 1_000_000
    rand = _secrets.randbits(74)
    value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | rand & (2**62 - 1)
    return str(_uuid.UUID(int=value))


def id_(env: Env) -> str:
    """A new 22-character base62 id, like Kestra's execution ids."""
    from lanner.model.execution import new_id

    return new_id()


def randomInt(env: Env, lower: Any = None, upper: Any = None) -> int:  # noqa: N802
    """A random integer from `lower` (included) to `upper` (excluded)."""
    low = expect_int("randomInt", "lower", lower)
    high = expect_int("randomInt", "upper", upper)
    if high < low:
        fail("randomInt", f"upper ({high}) is less than lower ({low})", hint="write randomInt(1, 10)")
    return low if high == low else random.randrange(low, high)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": now,
    "range": range_,
    "max": max_,
    "min": min_,
    "fromJson": fromJson,
    "json": fromJson,  # the name before Kestra 0.18
    "yaml": yaml,
    "fromIon": fromIon,
    "jsonDecode": fromJson,  # old name of fromJson
    "ionDecode": fromIon,  # old name of fromIon
    "uuid": uuid,
    "id": id_,
    "randomInt": randomInt,
    "randomNumber": randomInt,  # its first name in Kestra
    "ksuid": ids.ksuid,
    "nanoId": ids.nanoId,
    "randomPort": ids.randomPort,
    "encrypt": crypto.encrypt,
    "decrypt": crypto.decrypt,
    "fileURI": ctx.fileURI,
    "loopOutputs": loops.loopOutputs,
    "outputFromIteration": loops.outputFromIteration,
    "render": ctx.render,
    "renderOnce": ctx.renderOnce,
    "fetchContext": ctx.fetchContext,
    "secret": ctx.secret,
    "env": ctx.env,
    "read": ctx.read,
    "isFileEmpty": ctx.isFileEmpty,
    "kv": ctx.kv,
    "errorLogs": ctx.errorLogs,
    "currentEachOutput": ctx.currentEachOutput,
    "parentOutput": ctx.parentOutput,
    "tasksWithState": ctx.tasksWithState,
    "printContext": ctx.printContext,
    "dayOfMonth": cal.dayOfMonth,
    "dayOfWeek": cal.dayOfWeek,
    "monthOfYear": cal.monthOfYear,
    "hourOfDay": cal.hourOfDay,
    "isWeekend": cal.isWeekend,
    "isDateAfter": cal.isDateAfter,
    "isDateBefore": cal.isDateBefore,
    "isDateBetween": cal.isDateBetween,
    "isDayWeekInMonth": cal.isDayWeekInMonth,
    "isLastWorkingDay": cal.isLastWorkingDay,
    "isPublicHoliday": cal.isPublicHoliday,
}

FUNCTIONS: dict[str, Callable[..., Any]] = {name: shielded(name, fn) for name, fn in _FUNCTIONS.items()}

