"""Calendar functions of the newest Kestra: the parts of a date (`dayOfMonth`, `dayOfWeek`,
`monthOfYear`, `hourOfDay`), comparisons (`isDateAfter`, `isDateBefore`, `isDateBetween`) and
calendar tests (`isWeekend`, `isDayWeekInMonth`, `isLastWorkingDay`, `isPublicHoliday`).

They exist so that a Schedule's or an If's condition can be written without date arithmetic.
Dates are ISO-8601 text, as Kestra's variables hold them (`trigger.date`, `execution.startDate`).
The day-level functions read the date as written — `2025-01-06T23:30:00-05:00` is the 6th, not
the UTC day — while comparisons compare instants, a date or a date-time without offset being
UTC, as Kestra's `DateUtils` does. `isDateBetween` alone wants an offset on every argument.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from lanner.expr.arguments import ABSENT, fail
from lanner.expr.date_parsing import Parsed, parse_iso
from lanner.expr.env import Env

DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_DATE_HINT = "pass ISO-8601 text such as '2025-01-31' or '2025-01-31T09:00:00Z'"


def _parsed(where: str, name: str, value: Any) -> Parsed:
    """A date argument read as Kestra reads it; a missing or unreadable one fails, naming it."""
    if value is None or value is ABSENT:
        fail(where, f"expects a '{name}' argument", hint=_DATE_HINT)
    if isinstance(value, dt.datetime):
        return Parsed(date=value.date(), time=value.timetz().replace(tzinfo=None), tz=value.tzinfo)
    if isinstance(value, dt.date):
        return Parsed(date=value)
    parsed = parse_iso(str(value)) if isinstance(value, str) else None
    if parsed is None:
        fail(where, f"could not parse '{name}': `{value}` is not an ISO-8601 date or date-time", hint=_DATE_HINT)
    return parsed


def _day(where: str, value: Any) -> dt.date:
    day = _parsed(where, "date", value).date
    assert day is not None  # parse_iso always finds the date part
    return day


def _instant(where: str, name: str, value: Any, *, offset_required: bool = False) -> dt.datetime:
    parsed = _parsed(where, name, value)
    if offset_required and parsed.tz is None:
        fail(where, f"could not parse '{name}': `{value}` has no offset",
             hint="write the offset, e.g. '2026-03-01T00:00:00Z' or '…+02:00'")
    assert parsed.date is not None
    moment = dt.datetime.combine(parsed.date, parsed.time or dt.time())
    return moment.replace(tzinfo=parsed.tz or dt.UTC)


def _day_name(where: str, name: str, value: Any) -> int:
    text = str(value).strip().upper()
    if text not in DAY_NAMES:
        fail(where, f"invalid '{name}' value `{value}`", hint="use a day name: " + ", ".join(DAY_NAMES))
    return DAY_NAMES.index(text)


def dayOfMonth(env: Env, date: Any = ABSENT) -> int:  # noqa: N802 - Kestra's name
    """The day of the month, 1 to 31."""
    return _day("dayOfMonth", date).day


def dayOfWeek(env: Env, date: Any = ABSENT) -> str:  # noqa: N802
    """The day's English name in capitals, as Java's DayOfWeek: MONDAY … SUNDAY."""
    return DAY_NAMES[_day("dayOfWeek", date).weekday()]


def monthOfYear(env: Env, date: Any = ABSENT) -> int:  # noqa: N802
    """The month, 1 to 12."""
    return _day("monthOfYear", date).month


def hourOfDay(env: Env, date: Any = ABSENT) -> int:  # noqa: N802
    """The hour, 0 to 23, as written (no conversion to UTC); a date without a time has none."""
    parsed = _parsed("hourOfDay", "date", date)
    if parsed.time is None:
        fail("hourOfDay", f"`{date}` has no time of day", hint="pass a date-time such as '2025-01-06T14:30:00Z'")
    return parsed.time.hour


def isWeekend(env: Env, date: Any = ABSENT) -> bool:  # noqa: N802
    """True on Saturday and Sunday."""
    return _day("isWeekend", date).weekday() >= 5


def isDateAfter(env: Env, date: Any = ABSENT, reference: Any = ABSENT) -> bool:  # noqa: N802
    """True when `date` is strictly later than `reference`."""
    return _instant("isDateAfter", "date", date) > _instant("isDateAfter", "reference", reference)


def isDateBefore(env: Env, date: Any = ABSENT, reference: Any = ABSENT) -> bool:  # noqa: N802
    """True when `date` is strictly earlier than `reference`."""
    return _instant("isDateBefore", "date", date) < _instant("isDateBefore", "reference", reference)


def isDateBetween(env: Env, date: Any = ABSENT, after: Any = ABSENT, before: Any = ABSENT) -> bool:  # noqa: N802
    """True when `date` is strictly between the two bounds; all three need an offset."""
    moment = _instant("isDateBetween", "date", date, offset_required=True)
    low = _instant("isDateBetween", "after", after, offset_required=True)
    high = _instant("isDateBetween", "before", before, offset_required=True)
    return low < moment < high


_POSITIONS = {"FIRST": 0, "SECOND": 1, "THIRD": 2, "FOURTH": 3}


def isDayWeekInMonth(env: Env, date: Any = ABSENT, dayOfWeek: Any = ABSENT,  # noqa: N802,N803
                     position: Any = ABSENT) -> bool:
    """True when `date` is the FIRST … FOURTH or LAST such weekday of its month."""
    day = _day("isDayWeekInMonth", date)
    for name, value in (("dayOfWeek", dayOfWeek), ("position", position)):
        if value is None or value is ABSENT:
            fail("isDayWeekInMonth", f"expects a '{name}' argument",
                 hint="write isDayWeekInMonth(date, 'MONDAY', 'FIRST')")
    weekday = _day_name("isDayWeekInMonth", "dayOfWeek", dayOfWeek)
    where = str(position).strip().upper()
    if where != "LAST" and where not in _POSITIONS:
        fail("isDayWeekInMonth", f"invalid 'position' value `{position}`",
             hint="use FIRST, SECOND, THIRD, FOURTH or LAST")
    if day.weekday() != weekday:
        return False
    if where == "LAST":
        return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 == _POSITIONS[where]


def isLastWorkingDay(env: Env, date: Any = ABSENT, workingDays: Any = None) -> bool:  # noqa: N802,N803
    """True when `date` is the month's last working day (Monday to Friday unless `workingDays`
    lists others, separated by commas or spaces)."""
    day = _day("isLastWorkingDay", date)
    if workingDays is None or not str(workingDays).strip():
        working = set(range(5))
    else:
        working = {_day_name("isLastWorkingDay", "workingDays", part)
                   for part in re.split(r"[,\s]+", str(workingDays).strip()) if part}
    if day.weekday() not in working:
        return False
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    while last.weekday() not in working:
        last -= dt.timedelta(days=1)
    return day == last


def isPublicHoliday(env: Env, date: Any = ABSENT, countryCode: Any = ABSENT,  # noqa: N802,N803
                    subDivision: Any = None) -> bool:
    """True on a public holiday of the country (ISO 3166 code), per the `holidays` package.

    A sub-division the package does not know is read as the country alone, as Kestra's
    Jollyday ignores a region it has no rules for.
    """
    import holidays

    day = _day("isPublicHoliday", date)
    if countryCode is None or countryCode is ABSENT:
        fail("isPublicHoliday", "expects a 'countryCode' argument", hint="write isPublicHoliday(date, 'FR')")
    country = str(countryCode).strip().upper()
    region = str(subDivision).strip() if subDivision is not None and str(subDivision).strip() else None
    if country not in holidays.list_supported_countries():
        fail("isPublicHoliday", f"no holiday calendar for country `{countryCode}`",
             hint="use an ISO 3166-1 alpha-2 code such as 'FR', 'US' or 'DE'")
    known = holidays.list_supported_countries()[country]
    calendar_ = holidays.country_holidays(country, subdiv=region if region in known else None, years=day.year)
    return day in calendar_
