"""Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`), formatted and parsed by hand.

Kestra's `date` filter takes Java patterns, and flows are full of them. No Python library
speaks that pattern language (strftime's `%Y` is a different language, and Babel's CLDR
patterns differ from Java's in letters such as `u`, `X` and `n`), so the pattern is compiled
here, once, into tokens, then printed field by field, or turned into a regular expression for
parsing. Text is English, as Kestra's default locale is; zone names come from the tz database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from lanner.expr.errors import ExpressionError

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
QUARTERS = ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]
ZONE_LONG_NAMES = {
    "UTC": "Coordinated Universal Time", "GMT": "Greenwich Mean Time",
    "CET": "Central European Standard Time", "CEST": "Central European Summer Time",
    "EET": "Eastern European Standard Time", "EEST": "Eastern European Summer Time",
    "WET": "Western European Standard Time", "WEST": "Western European Summer Time",
    "BST": "British Summer Time", "IST": "India Standard Time", "JST": "Japan Standard Time",
    "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time", "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time", "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time",
}
# Largest count allowed per letter; None = any count. Letters absent here are not supported.
_MAX_COUNT: dict[str, int | None] = {
    "G": 5, "u": None, "y": None, "Y": None, "D": 3, "M": 5, "L": 5, "d": 2, "Q": 5, "q": 5,
    "w": 2, "W": 1, "E": 5, "e": 5, "c": 5, "F": 1, "a": 1, "h": 2, "K": 2, "k": 2, "H": 2,
    "m": 2, "s": 2, "S": 9, "A": 19, "n": 19, "N": 19, "V": 2, "z": 4, "O": 4, "X": 5, "x": 5,
    "Z": 5, "g": None,
}
_TEXT_LETTERS = set("GEazO")  # letters whose output depends on the locale in every count
_UNSUPPORTED = {"B": "day periods (B)", "v": "generic zone names (v)"}
_RESERVED = set("#{}")


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    letter: str
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class Optional_:
    tokens: tuple[Any, ...]


Token = str | Field | Optional_


@dataclasses.dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    tokens: tuple[Token, ...]
    localized: bool  # prints month/day names, AM/PM, eras or zone names


def _bad(pattern: str, message: str) -> ExpressionError:
    return ExpressionError(
        f"invalid date pattern '{pattern}': {message}",
        hint="use Java DateTimeFormatter letters, e.g. 'yyyy-MM-dd HH:mm:ss'; quote literal text as 'T'")


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    """Split a Java pattern into literal text, fields and optional sections; validate letters."""
    stack: list[list[Token]] = [[]]
    localized = False
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            end = i + 1
            text = []
            while True:
                if end >= n:
                    raise _bad(pattern, "a quote (') is not closed")
                if pattern[end] == "'":
                    if end + 1 < n and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            stack[-1].append("".join(text) if text or end > i + 1 else "'")
            i = end + 1
        elif ch == "[":
            stack.append([])
            i += 1
        elif ch == "]":
            if len(stack) == 1:
                raise _bad(pattern, "']' closes no optional section")
            section = stack.pop()
            stack[-1].append(Optional_(tuple(section)))
            i += 1
        elif ch.isascii() and ch.isalpha():
            count = 1
            while i + count < n and pattern[i + count] == ch:
                count += 1
            if ch in _UNSUPPORTED:
                raise _bad(pattern, f"{_UNSUPPORTED[ch]} are not supported")
            if ch not in _MAX_COUNT:
                raise _bad(pattern, f"unknown pattern letter '{ch}'")
            limit = _MAX_COUNT[ch]
            if (limit is not None and count > limit) or (ch == "V" and count != 2) or (ch == "c" and count == 2) \
                    or (ch == "O" and count not in (1, 4)):
                raise _bad(pattern, f"wrong number of '{ch}' letters ({count})")
            localized = localized or ch in _TEXT_LETTERS or (ch in "MLQqEec" and count >= 3)
            stack[-1].append(Field(ch, count))
            i += count
        elif ch in _RESERVED:
            raise _bad(pattern, f"'{ch}' is reserved; quote it as '{ch}'")
        else:
            stack[-1].append(ch)
            i += 1
    if len(stack) != 1:
        raise _bad(pattern, "an optional section '[' is not closed")
    return Pattern(pattern, tuple(stack[0]), localized)


# ---------------------------------------------------------------- formatting

class FixedZone(dt.tzinfo):
    """A fixed-offset zone that Java treats as a region (`UTC+01:00`, or `Etc/UTC` without tzdata)."""

    def __init__(self, offset: dt.timedelta, key: str) -> None:
        self._offset = offset
        self.key = key

    def utcoffset(self, value: dt.datetime | None) -> dt.timedelta:
        return self._offset

    def dst(self, value: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def tzname(self, value: dt.datetime | None) -> str:
        return self.key

    def __repr__(self) -> str:
        return f"FixedZone({self.key!r})"


def zone_id(tz: dt.tzinfo | None) -> str:
    """Java's zone id: a region name (`Europe/Paris`) or an offset id (`Z`, `+02:00`)."""
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    try:
        offset = tz.utcoffset(None) if tz is not None else None
    except (TypeError, ValueError):
        offset = None
    return offset_text(int(offset.total_seconds()), 6, "Z") if offset is not None else "Z"


def is_region(tz: dt.tzinfo | None) -> bool:
    zid = zone_id(tz)
    return zid != "Z" and zid[0] not in "+-"


def offset_text(seconds: int, kind: int, zero: str) -> str:
    """Java offset styles: 0 +HH, 1 +HHmm, 2 +HH:mm, 3 +HHMM, 4 +HH:MM, 5 +HHMMss, 6 +HH:MM:ss."""
    if seconds == 0:
        return zero
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{sign}{hours:02d}"
    colon = ":" if kind in (2, 4, 6) else ""
    if kind >= 3 or (kind >= 1 and (minutes or secs)):
        out += f"{colon}{minutes:02d}"
        if kind >= 7 or (kind >= 5 and secs):
            out += f"{colon}{secs:02d}"
    return out


def offset_of(value: dt.datetime) -> int:
    """Seconds east of UTC of an aware date-time."""
    return int((value.utcoffset() or dt.timedelta(0)).total_seconds())


def gmt_text(seconds: int, full: bool) -> str:
    """The localized offset (`O`): `GMT`, `GMT+2`, `GMT+05:30` (short) or `GMT+02:00` (full)."""
    if seconds == 0:
        return "GMT"
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"GMT{sign}{hours:02d}" if full else f"GMT{sign}{hours}"
    if full or minutes or secs:
        text += f":{minutes:02d}"
        if secs:
            text += f":{secs:02d}"
    return text


def zone_name(value: dt.datetime, full: bool) -> str:
    tz = value.tzinfo
    if not is_region(tz):
        return zone_id(tz)
    short = value.tzname() or zone_id(tz)
    if full:
        return ZONE_LONG_NAMES.get(short, short)
    return short


def week_fields(day: dt.date, first: int = 7, min_days: int = 1) -> tuple[int, int, int]:
    """(week-based-year, week-of-week-based-year, week-of-month) for a week that starts on
    ISO day `first` (7 = Sunday, as in the en_US locale Kestra runs with)."""

    def start_offset(day_index: int, dow: int) -> int:
        week_start = (day_index - dow) % 7
        return 7 - week_start if week_start + 1 > min_days else -week_start

    def week(offset: int, day_index: int) -> int:
        return (7 + offset + (day_index - 1)) // 7

    dow = (day.isoweekday() - first) % 7 + 1
    doy = day.timetuple().tm_yday
    offset = start_offset(doy, dow)
    woy, year = week(offset, doy), day.year
    if woy == 0:
        year, woy = week_fields(day - dt.timedelta(days=doy), first, min_days)[:2]
    else:
        year_len = 366 if _leap(day.year) else 365
        new_year_week = week(offset, year_len + min_days)
        if woy >= new_year_week:
            year, woy = year + 1, woy - new_year_week + 1
    wom = week(start_offset(day.day, dow), day.day)
    return year, woy, wom


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _year(value: int, count: int) -> str:
    if count == 2:
        return f"{value % 100:02d}"
    if count < 4:
        return f"{value:0{count}d}"
    text = f"{value:0{count}d}"
    return "+" + text if len(text) > count and value > 0 else text


def _text(names: list[str], index: int, count: int) -> str:
    name = names[index]
    return name[:3] if count <= 3 else name if count == 4 else name[0]


def format_field(f: Field, v: dt.datetime) -> str:
    """Print one pattern letter of an aware date-time (already in the target zone)."""
    c, letter = f.count, f.letter
    offset = offset_of(v)
    nanos = v.microsecond * 1000
    if letter in "uy":
        return _year(v.year, c)
    if letter == "Y":
        return _year(week_fields(v.date())[0], c)
    if letter in "ML":
        return f"{v.month:0{c}d}" if c <= 2 else _text(MONTHS, v.month - 1, c)
    if letter in "Qq":
        q = (v.month - 1) // 3 + 1
        return f"{q:0{c}d}" if c <= 2 else f"Q{q}" if c == 3 else QUARTERS[q - 1] if c == 4 else str(q)
    if letter == "E":
        return _text(DAYS, v.weekday(), c)
    if letter in "ec":
        return f"{v.isoweekday() % 7 + 1:0{c}d}" if c <= 2 else _text(DAYS, v.weekday(), c)
    simple = {"d": v.day, "H": v.hour, "m": v.minute, "s": v.second, "h": (v.hour + 11) % 12 + 1,
              "K": v.hour % 12, "k": v.hour or 24, "D": v.timetuple().tm_yday, "F": (v.day - 1) // 7 + 1,
              "w": week_fields(v.date())[1], "W": week_fields(v.date())[2],
              "n": nanos, "A": (v.hour * 3600 + v.minute * 60 + v.second) * 1000 + nanos // 1_000_000,
              "N": (v.hour * 3600 + v.minute * 60 + v.second) * 1_000_000_000 + nanos,
              "g": v.toordinal() - dt.date(1858, 11, 17).toordinal()}
    if letter in simple:
        return f"{simple[letter]:0{c}d}"
    if letter == "G":
        return "Anno Domini" if c == 4 else "A" if c == 5 else "AD"
    if letter == "a":
        return "AM" if v.hour < 12 else "PM"
    if letter == "S":
        return f"{nanos:09d}"[:c]
    if letter == "V":
        return zone_id(v.tzinfo)
    if letter == "z":
        return zone_name(v, full=c == 4)
    if letter == "O":
        return gmt_text(offset, full=c == 4)
    if letter == "X":
        return offset_text(offset, [1, 3, 4, 5, 6][c - 1], "Z")
    if letter == "x":
        return offset_text(offset, [1, 3, 4, 5, 6][c - 1], ["+00", "+0000", "+00:00", "+0000", "+00:00"][c - 1])
    # letter == "Z"
    if c <= 3:
        return offset_text(offset, 3, "+0000")
    return gmt_text(offset, full=True) if c == 4 else offset_text(offset, 6, "Z")


def format_pattern(pattern: Pattern, value: dt.datetime) -> str:
    def walk(tokens: tuple[Token, ...]) -> str:
        out = []
        for token in tokens:
            if isinstance(token, str):
                out.append(token)
            elif isinstance(token, Field):
                out.append(format_field(token, value))
            else:
                out.append(walk(token.tokens))  # every field of a zoned date-time is available
        return "".join(out)

    return walk(pattern.tokens)
