"""Which Java class Kestra would hold a number in, for the `className` filter.

Python has one `int` and one `float`; Java (and so `{{ x | className }}` in Kestra) tells
`Integer` from `Long` from `BigInteger`, and `Float` from `Double`. Literals in a template are
`Long` and `Double`, as in Pebble; only the `number` filter makes the others, and it marks them
with the subclasses below. They are plain numbers in every other respect: arithmetic on them
gives plain `int`/`float` (Java widens to `Long`/`Double` the same way), and they print as the
text they came from. A `Float` keeps the decimal as written, not its 32-bit approximation, so
`'12.3' | number + 1` is 13.3 here where Kestra prints 13.300000190734863 (on purpose).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class JavaInteger(int):
    """An integer Kestra holds as `java.lang.Integer` (32-bit)."""

    __slots__ = ()


class JavaBigInteger(int):
    """An integer Kestra holds as `java.math.BigInteger`, whatever its size."""

    __slots__ = ()


class JavaFloat(float):
    """A decimal Kestra holds as `java.lang.Float`."""

    __slots__ = ()


def _float32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def float_is_exact_enough(x: float) -> bool:
    """Commons Lang's test for picking `Float`: the 32-bit value prints as the 64-bit one does.
    (Java's `Float.toString` gives the shortest digits that read back as the same float.)"""
    try:
        narrow = _float32(x)
    except OverflowError:
        return False
    for digits in range(1, 10):
        text = f"{narrow:.{digits}g}"
        if _float32(float(text)) == narrow:
            return Decimal(text) == Decimal(repr(x))
    return False  # pragma: no cover - nine digits always read back as the same float


def as_jackson_read(value: Any) -> Any:
    """A value as Kestra's Jackson reads it from JSON (the `jq` results): an integer that fits in
    32 bits is an `Integer`, a larger one a `Long`, maps and lists walked."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return JavaInteger(value) if -(2**31) <= value < 2**31 else value
    if isinstance(value, list):
        return [as_jackson_read(item) for item in value]
    if isinstance(value, dict):
        return {key: as_jackson_read(item) for key, item in value.items()}
    return value


def java_class(value: Any) -> str:
    """The Java class Kestra would report for a value (`className` filter)."""
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, JavaInteger):
        return "java.lang.Integer"
    if isinstance(value, JavaBigInteger):
        return "java.math.BigInteger"
    if isinstance(value, int):
        return "java.lang.Long" if -(2**63) <= value < 2**63 else "java.math.BigInteger"
    if isinstance(value, JavaFloat):
        return "java.lang.Float"
    table: list[tuple[type | tuple[type, ...], str]] = [
        (float, "java.lang.Double"), (Decimal, "java.math.BigDecimal"), (str, "java.lang.String"),
        (Mapping, "java.util.LinkedHashMap"), ((list, tuple), "java.util.ArrayList"),
        (dt.timedelta, "java.time.Duration"), (dt.time, "java.time.LocalTime")]
    if isinstance(value, dt.datetime):
        return "java.time.ZonedDateTime" if value.tzinfo is not None else "java.time.LocalDateTime"
    if isinstance(value, dt.date):
        return "java.time.LocalDate"
    for kind, name in table:
        if isinstance(value, kind):
            return name
    return type(value).__name__
