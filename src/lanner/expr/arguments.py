"""Checks shared by filters and functions: argument types, sandbox bounds, wrapped failures.

Every filter and function promises that a bad input becomes an `ExpressionError` that says
what was wrong and what to do — never a Python traceback. These helpers keep those messages
uniform (`date: timeZone must be a string, got integer`) so a flow author sees the same shape
of error whichever filter they misused.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from lanner.expr.env import MAX_ITEMS, MAX_OUTPUT
from lanner.expr.errors import ExpressionError
from lanner.expr.values import is_number, stringify, type_name

T = TypeVar("T")


class _Absent:
    """The default of an argument Kestra requires: told apart from an explicit null, which
    Kestra's functions accept (and answer with null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


ABSENT: Any = _Absent()


def require(where: str, name: str, value: Any, hint: str) -> None:
    """Fail as Kestra does when a required argument is not given at all."""
    if value is ABSENT:
        fail(where, f"the argument `{name}` is missing", hint)


def fail(where: str, message: str, hint: str) -> NoReturn:
    """Raise the one error type, prefixed with the filter or function name."""
    raise ExpressionError(f"{where}: {message}", hint=hint)


def expect_str(where: str, name: str, value: Any, hint: str | None = None) -> str:
    """`value` must be a string (an argument or the filtered value)."""
    if not isinstance(value, str):
        fail(where, f"{name} must be a string, got {type_name(value)}",
             hint or f"pass {name} as a quoted string, e.g. '…'")
    return value


def expect_opt_str(where: str, name: str, value: Any) -> str | None:
    return None if value is None else expect_str(where, name, value)


def expect_int(where: str, name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer argument (Pebble Long). Integral decimals such as `2.0` are refused, as Kestra does."""
    if isinstance(value, bool) or not isinstance(value, int):
        fail(where, f"{name} must be an integer, got {type_name(value)} `{stringify(value)}`",
             hint=f"pass a whole number for {name}, e.g. 2")
    if minimum is not None and value < minimum:
        fail(where, f"{name} must be at least {minimum}, got {value}",
             hint=f"pass a number of {minimum} or more")
    return value


def expect_whole(where: str, name: str, value: Any) -> int:
    """A number used as a count or a bound: decimals are truncated, as Java's longValue() does."""
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(float(value)):
            fail(where, f"{name} must be a finite number, got {stringify(value)}",
                 hint=f"pass a whole number for {name}")
        return int(value)
    return expect_int(where, name, value)


def expect_bool(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(where, f"{name} must be true or false, got {type_name(value)}",
             hint=f"write {name}=true or {name}=false")
    return value


def expect_number(where: str, value: Any) -> int | float | Decimal:
    if not is_number(value):
        fail(where, f"expects a number, got {type_name(value)} `{stringify(value)}`",
             hint="convert text to a number first with `| number`")
    number: int | float | Decimal = value
    return number


def expect_list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        fail(where, f"expects a list, got {type_name(value)}",
             hint="apply it to a list, e.g. [1, 2, 3]")
    return list(value)


def expect_map(where: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        fail(where, f"expects a map, got {type_name(value)}",
             hint="apply it to a map, e.g. {'a': 1}")
    return value


def check_items(where: str, count: int) -> None:
    """Refuse to build a list longer than the sandbox allows."""
    if count > MAX_ITEMS:
        fail(where, f"this would make more than {MAX_ITEMS} items",
             hint="work on a smaller input or split it into smaller pieces")


def bounded_list(where: str, items: Iterable[T]) -> list[T]:
    """Collect an iterable, stopping with an error as soon as it passes MAX_ITEMS."""
    out: list[T] = []
    for item in items:
        out.append(item)
        if len(out) > MAX_ITEMS:
            check_items(where, len(out))
    return out


def check_text(where: str, text: str) -> str:
    """Refuse to build a string longer than the sandbox allows."""
    if len(text) > MAX_OUTPUT:
        fail(where, f"the result would be longer than {MAX_OUTPUT} characters",
             hint="work on a smaller input")
    return text


def guarded(where: str, hint: str, action: Callable[[], T]) -> T:
    """Run `action`, turning any failure other than an ExpressionError into one.

    Used around third-party code (jq, services of the worker) whose exceptions we cannot list.
    """
    try:
        return action()
    except ExpressionError:
        raise
    except RecursionError:
        fail(where, "the value is nested too deeply", hint="flatten the data before using it here")
    except Exception as exc:  # noqa: BLE001 - the sandbox boundary: nothing raw escapes
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise ExpressionError(f"{where}: {message}", hint=getattr(exc, "hint", None) or hint) from exc


def shielded(name: str, fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap a registered filter or function so that no raw Python exception ever escapes it.

    The helpers raise ExpressionError themselves; this is the net under them, for the failure
    nobody foresaw, so that a template error is always located and printed, never a traceback.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except ExpressionError:
            raise
        except RecursionError:
            fail(name, "the value is nested too deeply", hint="flatten the data first")
        except TypeError as exc:
            try:
                inspect.signature(fn).bind(*args, **kwargs)
            except TypeError as wrong_call:
                params = list(inspect.signature(fn).parameters)[1:]
                raise ExpressionError(f"{name}: called wrongly: {wrong_call}",
                                      hint="it takes: " + (", ".join(params) or "no arguments")) from None
            raise ExpressionError(f"{name}: {exc}", hint="check the values given to it") from exc
        except Exception as exc:  # noqa: BLE001 - the sandbox boundary
            raise ExpressionError(f"{name}: {exc or type(exc).__name__}", hint="check the values given to it") from exc

    return run
