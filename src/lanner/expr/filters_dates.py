"""Date filters: `date`, `dateAdd` and the `timestamp*` family, with Kestra's argument names.

Each accepts what Kestra's `AbstractDate.convert` accepts (date-times, dates, epoch seconds,
ISO strings, or any text with `existingFormat`) and reads `timeZone` as a Java zone id.
"""

from __future__ import annotations

from typing import Any

from lanner.expr import dates
from lanner.expr.arguments import expect_int, expect_str, fail
from lanner.expr.env import Env


def date(env: Env, value: Any, format: Any = "iso", timeZone: Any = None,  # noqa: A002,N803 - Kestra's names
         existingFormat: Any = None, locale: Any = None) -> Any:  # noqa: N803
    """Print a date in `timeZone` (default Etc/UTC) with a Java pattern or a named format."""
    if value is None:
        return None
    tz = dates.zone(timeZone)
    return dates.format_date(dates.to_datetime(value, tz, existingFormat), format, tz, locale)


def dateAdd(env: Env, value: Any, amount: Any = None, unit: Any = None, format: Any = "iso",  # noqa: A002,N802
            timeZone: Any = None, existingFormat: Any = None, locale: Any = None) -> Any:  # noqa: N803
    """Add `amount` `unit`s (a ChronoUnit name such as DAYS or HOURS), then print like `date`."""
    if value is None:
        return None
    if amount is None or unit is None:
        fail("dateAdd", "the arguments amount and unit are required", hint="write dateAdd(-1, 'DAYS')")
    count = expect_int("dateAdd", "amount", amount)
    name = expect_str("dateAdd", "unit", unit, hint="use a unit name such as 'DAYS' or 'HOURS'")
    tz = dates.zone(timeZone)
    moved = dates.plus(dates.to_datetime(value, tz, existingFormat), count, name)
    return dates.format_date(moved, format, tz, locale)


def _epoch(value: Any, timeZone: Any, existingFormat: Any) -> tuple[int, int]:  # noqa: N803
    tz = dates.zone(timeZone)
    return dates.epoch(dates.to_datetime(value, tz, existingFormat))


def timestamp(env: Env, value: Any, timeZone: Any = None, existingFormat: Any = None) -> Any:  # noqa: N803
    """Epoch seconds (an integer)."""
    return None if value is None else _epoch(value, timeZone, existingFormat)[0]


def timestampMilli(env: Env, value: Any, timeZone: Any = None, existingFormat: Any = None) -> Any:  # noqa: N802,N803
    """Epoch milliseconds (an integer)."""
    if value is None:
        return None
    seconds, nanos = _epoch(value, timeZone, existingFormat)
    return seconds * 1000 + nanos // 1_000_000


def timestampMicro(env: Env, value: Any, timeZone: Any = None, existingFormat: Any = None) -> Any:  # noqa: N802,N803
    """Kestra's `timestampMicro`, as a string: epoch seconds × 10⁹ plus the microseconds.

    That is what Kestra computes (and its tests assert: 2013-09-08T15:19:12.123456Z gives
    1378653552000123456), not a count of microseconds; Lanner keeps it so that values written
    by flows match. Use `timestampNano` / 1000 for true microseconds.
    """
    if value is None:
        return None
    seconds, nanos = _epoch(value, timeZone, existingFormat)
    return str(seconds * 1_000_000_000 + nanos // 1000)


def timestampNano(env: Env, value: Any, timeZone: Any = None, existingFormat: Any = None) -> Any:  # noqa: N802,N803
    """Epoch nanoseconds, as a string (as Kestra returns it); Lanner dates hold microseconds."""
    if value is None:
        return None
    seconds, nanos = _epoch(value, timeZone, existingFormat)
    return str(seconds * 1_000_000_000 + nanos)
