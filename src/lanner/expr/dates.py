"""Dates as Kestra's `date`, `dateAdd`, `timestamp*` filters and `now()` see them.

Kestra turns any date-like input into a zoned date-time (`convert`), then prints it in the
requested zone with a Java pattern or a named format (`iso`, `sql`, `rfc_1123_date_time`, …).
The rules reproduced here:

* an aware `datetime` keeps its instant; a naive one is a local date-time in `timeZone`;
  a `date` is noon of that day in `timeZone`; an integer is epoch seconds;
* a string is read as a zoned date-time, else a local date-time, else a date (start of day),
  or with `existingFormat` when given;
* the output is always converted to `timeZone`, which defaults to the server's zone: Kestra's
  images run in `Etc/UTC`, so Lanner uses that (offset printed `Z`, region `Etc/UTC`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lanner.expr.date_parsing import Parsed, parse_iso, parse_pattern, parse_rfc1123, parse_zone
from lanner.expr.date_patterns import (
    DAYS,
    MONTHS,
    FixedZone,
    compile_pattern,
    format_pattern,
    is_region,
    offset_of,
    offset_text,
    zone_id,
)
from lanner.expr.errors import ExpressionError
from lanner.expr.values import stringify, type_name


def _default_zone() -> dt.tzinfo:
    try:
        return ZoneInfo("Etc/UTC")
    except (ValueError, KeyError, OSError):  # no tz database on this machine
        return FixedZone(dt.timedelta(0), "Etc/UTC")


DEFAULT_ZONE = _default_zone()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Java's localized styles for the en_US locale (JDK 20+ / CLDR 42, which puts a narrow
# no-break space before AM/PM).
STYLES = {
    "full": "EEEE, MMMM d, y 'at' h:mm:ss\u202fa zzzz",
    "long": "MMMM d, y 'at' h:mm:ss\u202fa z",
    "medium": "MMM d, y, h:mm:ss\u202fa",
    "short": "M/d/yy, h:mm\u202fa",
}
PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
}
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")


def zone(name: Any) -> dt.tzinfo:
    """The `timeZone` argument: None means the default zone."""
    if name is None:
        return DEFAULT_ZONE
    if not isinstance(name, str):
        raise ExpressionError(f"timeZone must be a string, got {type_name(name)}",
                              hint="pass a zone name such as timeZone='Europe/Paris'")
    return parse_zone(name)


def is_english(locale: Any) -> bool:
    """Validate the `locale` argument; True when text may be printed (English only)."""
    if locale is None:
        return True
    if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):
        raise ExpressionError(f"invalid locale '{stringify(locale)}'", hint="write a locale as 'en' or 'en_US'")
    return locale[:2].lower() == "en"


# ---------------------------------------------------------------- named formats

def _fraction(v: dt.datetime) -> str:
    return "." + f"{v.microsecond:06d}".rstrip("0") if v.microsecond else ""


def _local_time(v: dt.datetime) -> str:
    return f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}{_fraction(v)}"


def _offset_id(v: dt.datetime) -> str:
    return offset_text(offset_of(v), 6, "Z")


def _zoned(v: dt.datetime) -> str:
    text = f"{v.date().isoformat()}T{_local_time(v)}{_offset_id(v)}"
    return text + f"[{zone_id(v.tzinfo)}]" if is_region(v.tzinfo) else text


def _instant(v: dt.datetime) -> str:
    u = v.astimezone(dt.UTC)
    text = u.strftime("%Y-%m-%dT%H:%M:%S")
    if u.microsecond:
        text += "." + (f"{u.microsecond // 1000:03d}" if u.microsecond % 1000 == 0 else f"{u.microsecond:06d}")
    return text + "Z"


def _rfc_1123(v: dt.datetime) -> str:
    offset = offset_text(offset_of(v), 3, "GMT")
    return (f"{DAYS[v.weekday()][:3]}, {v.day} {MONTHS[v.month - 1][:3]} {v.year:04d} "
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} {offset}")


def _week_date(v: dt.datetime) -> str:
    year, week, day = v.isocalendar()
    return f"{year:04d}-W{week:02d}-{day}{_offset_id(v)}"


NAMED: dict[str, Callable[[dt.datetime], str]] = {
    "iso_date_time": _zoned,
    "iso_zoned_date_time": _zoned,
    "iso_date": lambda v: v.date().isoformat() + _offset_id(v),
    "iso_time": lambda v: _local_time(v) + _offset_id(v),
    "iso_local_date": lambda v: v.date().isoformat(),
    "iso_instant": _instant,
    "iso_local_date_time": lambda v: f"{v.date().isoformat()}T{_local_time(v)}",
    "iso_local_time": _local_time,
    "iso_offset_time": lambda v: _local_time(v) + _offset_id(v),
    "iso_ordinal_date": lambda v: f"{v.year:04d}-{v.timetuple().tm_yday:03d}{_offset_id(v)}",
    "iso_week_date": _week_date,
    "rfc_1123_date_time": _rfc_1123,
}


def format_date(value: dt.datetime, fmt: Any, tz: dt.tzinfo, locale: Any = None) -> str:
    """Print an aware date-time in `tz` with a named format or a Java pattern (None = `iso`)."""
    fmt = "iso" if fmt is None else fmt
    if not isinstance(fmt, str):
        raise ExpressionError(f"format must be a string, got {type_name(fmt)}",
                              hint="pass a pattern such as 'yyyy-MM-dd' or a name such as 'iso'")
    english = is_english(locale)
    local = to_zone(value, tz)
    if fmt in NAMED:
        return NAMED[fmt](local)
    pattern = compile_pattern(STYLES.get(fmt) or PATTERNS.get(fmt) or fmt)
    if pattern.localized and not english:
        raise ExpressionError(f"locale '{locale}' is not supported for the date format '{fmt}'",
                              hint="Lanner prints month and day names in English only; "
                                   "drop locale or use a numeric pattern such as 'dd/MM/yyyy'")
    return format_pattern(pattern, local)


def to_zone(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    try:
        return value.astimezone(tz)
    except (OverflowError, ValueError):
        raise _out_of_range() from None


# ---------------------------------------------------------------- reading values

def _read_text(text: str, existing_format: str | None) -> Parsed | None:
    if existing_format is None:
        return parse_iso(text)
    if existing_format in PATTERNS or existing_format in STYLES:
        return parse_pattern(text, compile_pattern(PATTERNS.get(existing_format) or STYLES[existing_format]))
    if existing_format == "rfc_1123_date_time":
        return parse_rfc1123(text)
    if existing_format in ("iso_time", "iso_local_time", "iso_offset_time"):
        raise ExpressionError(f"existingFormat '{existing_format}' reads a time without a date",
                              hint="use a format with a date, e.g. existingFormat='iso_date_time'")
    if existing_format in ("iso_ordinal_date", "iso_week_date"):
        raise ExpressionError(f"existingFormat '{existing_format}' cannot be used to read dates",
                              hint="use a Java pattern such as existingFormat='yyyy-DDD'")
    if existing_format in NAMED:
        return parse_iso(text)
    return parse_pattern(text, compile_pattern(existing_format))


def to_datetime(value: Any, tz: dt.tzinfo, existing_format: Any = None) -> dt.datetime:
    """Kestra's `convert`: any date-like value → an aware date-time (in its own zone if it has one)."""
    if existing_format is not None and not isinstance(existing_format, str):
        raise ExpressionError(f"existingFormat must be a string, got {type_name(existing_format)}",
                              hint="pass the pattern of the input text, e.g. existingFormat='dd/MM/yyyy'")
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12), tz)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, tz)
        except (OverflowError, ValueError, OSError):
            raise _out_of_range() from None
    if isinstance(value, str):
        parsed = _read_text(value, existing_format)
        if parsed is None or parsed.date is None:
            raise ExpressionError(
                f"'{value}' is not a date" + (f" in the format '{existing_format}'" if existing_format else ""),
                hint="give an ISO date such as 2024-01-02T03:04:05Z, or describe the text with "
                     "existingFormat='dd/MM/yyyy HH:mm'")
        if parsed.time is None:
            return dt.datetime.combine(parsed.date, dt.time(0), tz)
        return dt.datetime.combine(parsed.date, parsed.time, parsed.tz or tz)
    hint = "use an integer number of epoch seconds" if isinstance(value, (float, Decimal)) else \
        "give a date, a date-time, an ISO date string or epoch seconds"
    raise ExpressionError(f"expects a date, got {type_name(value)} `{stringify(value)}`", hint=hint)


# ---------------------------------------------------------------- arithmetic

_TIME_UNITS = {
    "MICROS": dt.timedelta(microseconds=1), "MILLIS": dt.timedelta(milliseconds=1),
    "SECONDS": dt.timedelta(seconds=1), "MINUTES": dt.timedelta(minutes=1),
    "HOURS": dt.timedelta(hours=1), "HALF_DAYS": dt.timedelta(hours=12),
}
_DAY_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}
UNITS = ["NANOS", *_TIME_UNITS, *_DAY_UNITS, *_MONTH_UNITS]


def _out_of_range() -> ExpressionError:
    return ExpressionError("the date is out of range", hint="dates must stay between the years 1 and 9999")


def _settle(value: dt.datetime) -> dt.datetime:
    """Resolve a wall-clock time that fell in a DST gap, as Java does (moved forward)."""
    return value.astimezone(dt.UTC).astimezone(value.tzinfo)


def plus(value: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """`ZonedDateTime.plus(amount, ChronoUnit.valueOf(unit))`: time units on the timeline,
    days and larger on the wall clock (months clamp the day: Jan 31 + 1 month = Feb 29)."""
    name = unit.upper()
    try:
        if name == "NANOS":
            micros = abs(amount) // 1000
            shift = dt.timedelta(microseconds=micros if amount >= 0 else -micros)
            return _settle(value.astimezone(dt.UTC) + shift)
        if name in _TIME_UNITS:
            return _settle(value.astimezone(dt.UTC) + _TIME_UNITS[name] * amount)
        if name in _DAY_UNITS:
            return _settle(value + dt.timedelta(days=_DAY_UNITS[name] * amount))
        if name in _MONTH_UNITS:
            months = value.year * 12 + value.month - 1 + _MONTH_UNITS[name] * amount
            year, month = divmod(months, 12)
            day = min(value.day, calendar.monthrange(year, month + 1)[1]) if 1 <= year <= 9999 else value.day
            return _settle(value.replace(year=year, month=month + 1, day=day))
    except (OverflowError, ValueError):
        raise _out_of_range() from None
    raise ExpressionError(f"unknown time unit '{unit}'", hint="use one of " + ", ".join(UNITS))


def epoch(value: dt.datetime) -> tuple[int, int]:
    """(epoch seconds, nano-of-second) of an aware date-time; seconds are floored like Java's."""
    micros = (value - EPOCH) // dt.timedelta(microseconds=1)
    seconds, rest = divmod(micros, 1_000_000)
    return seconds, rest * 1000


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
