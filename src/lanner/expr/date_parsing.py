"""Reading dates out of text: time zones, ISO-8601, RFC 1123 and Java patterns (`existingFormat`).

Kestra reads a date string by trying, in turn, a zoned date-time (`2024-01-02T03:04:05+01:00`,
optionally `[Europe/Paris]`), a local date-time and a local date; with `existingFormat` it uses
that Java pattern or named format instead. Each reader here returns the parts it found — date,
time, zone — and `dates.py` applies Kestra's rules for the missing ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

from lanner.expr.date_patterns import DAYS, MONTHS, Field, FixedZone, Optional_, Pattern
from lanner.expr.errors import ExpressionError

_ZONE_HINT = "use an IANA zone name such as 'Europe/Paris' or 'UTC', or an offset such as '+02:00'"
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")
# Short names that Java reads but the tz database does not know by themselves.
_SHORT_ZONES = {
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "MST": "America/Denver",
    "MDT": "America/Denver", "CST": "America/Chicago", "CDT": "America/Chicago",
    "EST": "America/New_York", "EDT": "America/New_York", "BST": "Europe/London",
    "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "CEST": "Europe/Paris", "EEST": "Europe/Athens",
    "WEST": "Europe/Lisbon", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}


@dataclasses.dataclass(slots=True)
class Parsed:
    date: dt.date | None = None
    time: dt.time | None = None
    tz: dt.tzinfo | None = None


def offset_seconds(text: str) -> int | None:
    """`+02`, `+0200`, `+02:00`, `-05:30:15` → seconds east of UTC; None if not an offset."""
    m = _OFFSET.fullmatch(text)
    if not m:
        return None
    hours, minutes, seconds = int(m.group(2)), int(m.group(3) or 0), int(m.group(4) or 0)
    if hours > 18 or minutes > 59 or seconds > 59:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return -total if m.group(1) == "-" else total


def parse_zone(name: str) -> dt.tzinfo:
    """Java's `ZoneId.of`: `Z`, offsets, `UTC+01:00`-style prefixed offsets, or a region name."""
    if name in ("Z", "z"):
        return dt.UTC
    seconds = offset_seconds(name)
    if seconds is not None:
        return dt.timezone(dt.timedelta(seconds=seconds))
    for prefix in ("UTC", "GMT", "UT"):
        if name.startswith(prefix) and len(name) > len(prefix) and name[len(prefix)] in "+-":
            seconds = offset_seconds(name[len(prefix):])
            if seconds is None:
                break
            return FixedZone(dt.timedelta(seconds=seconds), name)
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        if name in ("UTC", "GMT", "UT", "Etc/UTC"):
            return FixedZone(dt.timedelta(0), name)
        raise ExpressionError(f"unknown time zone '{name}'", hint=_ZONE_HINT) from None


def _zone_text(name: str) -> dt.tzinfo:
    """A zone as printed by `z`/`VV`: also accepts short names such as `PST` or `CEST`."""
    if name.upper() in _SHORT_ZONES:
        return parse_zone(_SHORT_ZONES[name.upper()])
    return parse_zone(name)


def _gmt_offset(text: str) -> int:
    return 0 if text.upper() == "GMT" else offset_seconds(text[3:]) or 0


def _make_date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ExpressionError(f"'{text}' is not a valid date",
                              hint="check the day and month, and that the year is between 1 and 9999") from None


def _make_time(hour: int, minute: int, second: int, nanos: int, text: str) -> dt.time:
    try:
        return dt.time(hour, minute, second, nanos // 1000)
    except ValueError:
        raise ExpressionError(f"'{text}' is not a valid time", hint="hours go 0-23, minutes and seconds 0-59") from None


_ISO = re.compile(
    r"(?P<y>[+-]?\d{4,9})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<off>[Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?(?:\[(?P<zone>[^\]]+)\])?)?")


def parse_iso(text: str) -> Parsed | None:
    """ISO-8601 as Kestra's fallbacks read it: zoned or local date-time, or a date alone."""
    m = _ISO.fullmatch(text.strip())
    if not m:
        return None
    out = Parsed(date=_make_date(int(m["y"]), int(m["mo"]), int(m["d"]), text))
    if m["h"] is not None:
        nanos = int((m["f"] or "").ljust(9, "0"))
        out.time = _make_time(int(m["h"]), int(m["mi"]), int(m["s"] or 0), nanos, text)
        if m["zone"]:
            out.tz = parse_zone(m["zone"])
        elif m["off"]:
            seconds = 0 if m["off"] in "Zz" else offset_seconds(m["off"])
            if seconds is None:
                return None
            out.tz = dt.UTC if seconds == 0 else dt.timezone(dt.timedelta(seconds=seconds))
    return out


_RFC_1123 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? (GMT|[+-]\d{4})", re.IGNORECASE)


def parse_rfc1123(text: str) -> Parsed | None:
    """`Tue, 3 Jun 2008 11:05:30 GMT`, the HTTP date format."""
    m = _RFC_1123.fullmatch(text.strip())
    if not m:
        return None
    month = [name[:3].lower() for name in MONTHS].index(m[2].lower()) + 1
    seconds = 0 if m[7].upper() == "GMT" else offset_seconds(m[7]) or 0
    return Parsed(_make_date(int(m[3]), month, int(m[1]), text),
                  _make_time(int(m[4]), int(m[5]), int(m[6] or 0), 0, text),
                  dt.timezone(dt.timedelta(seconds=seconds)) if seconds else dt.UTC)


def _names(names: list[str], count: int) -> str:
    chosen = [n[:3] for n in names] if count <= 3 else names
    return "(?:" + "|".join(chosen) + ")"


_OFFSET_RE = r"[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?"
_NOT_PARSED = set("YwWFANgB")


def _field_regex(f: Field, pattern: str) -> str:
    letter, c = f.letter, f.count
    if letter in _NOT_PARSED or (letter in "MLEec" and c == 5):
        raise ExpressionError(
            f"the date pattern '{pattern}' cannot be used to read dates ('{letter * c}' is only for printing)",
            hint="read with y (year), M, d, H, m, s, S, a, E, X/x/Z, z or VV; use yyyy rather than YYYY")
    if letter in "uy":
        return r"\d{2}" if c == 2 else rf"[+-]?\d{{{c},9}}"
    if letter in "ML":
        return (r"\d{1,2}", r"\d{2}")[c - 1] if c <= 2 else _names(MONTHS, c)
    if letter in "dHhKkms":
        return r"\d{1,2}" if c == 1 else r"\d{2}"
    if letter == "D":
        return (r"\d{1,3}", r"\d{2,3}", r"\d{3}")[c - 1]
    if letter == "S":
        return rf"\d{{{c}}}"
    if letter == "n":
        return rf"\d{{{c},9}}"
    if letter == "a":
        return "(?:AM|PM)"
    if letter in "Eec":
        return r"\d{1,2}" if c <= 2 else _names(DAYS, c)
    if letter == "G":
        return "(?:AD|Anno Domini|A)"
    if letter in "Qq":
        return r"\d{1,2}" if c <= 2 else r"Q[1-4]" if c == 3 else r"[1-4](?:st|nd|rd|th) quarter"
    if letter in "Vz":
        return r"[A-Za-z][A-Za-z0-9_/+\-]*|" + _OFFSET_RE
    if letter == "O" or (letter == "Z" and c == 4):
        return r"GMT(?:[+-]\d{1,2}(?::\d{2}(?::\d{2})?)?)?"
    if letter == "x" or (letter == "Z" and c <= 3):
        return _OFFSET_RE
    return "[Zz]|" + _OFFSET_RE  # X, ZZZZZ


def _regex(tokens: tuple[object, ...], pattern: str, fields: dict[str, Field]) -> str:
    out = []
    for token in tokens:
        if isinstance(token, str):
            out.append(re.escape(token))
        elif isinstance(token, Field):
            name = f"f{len(fields)}"
            fields[name] = token
            out.append(f"(?P<{name}>{_field_regex(token, pattern)})")
        elif isinstance(token, Optional_):
            out.append(f"(?:{_regex(token.tokens, pattern, fields)})?")
    return "".join(out)


def parse_pattern(text: str, pattern: Pattern) -> Parsed:
    """Read `text` with a Java pattern; the parts the pattern lacks stay None."""
    fields: dict[str, Field] = {}
    m = re.fullmatch(_regex(pattern.tokens, pattern.text, fields), text, re.IGNORECASE)
    if not m:
        raise ExpressionError(f"'{text}' does not match the date pattern '{pattern.text}'",
                              hint="make existingFormat describe the text exactly, letter for letter")
    got: dict[str, tuple[int, str]] = {}
    for name, f in fields.items():
        if m[name] is not None:
            got[f.letter] = (f.count, m[name])
    out = Parsed()
    year = got.get("y") or got.get("u")
    if year:
        y = int(year[1]) + (2000 if year[0] == 2 else 0)
        if "D" in got:
            out.date = _make_date(y, 1, 1, text) + dt.timedelta(days=int(got["D"][1]) - 1)
        elif ("M" in got or "L" in got) and "d" in got:
            count, month = got.get("M") or got["L"]
            mo = int(month) if count <= 2 else [n[:len(month)].lower() for n in MONTHS].index(month.lower()) + 1
            out.date = _make_date(y, mo, int(got["d"][1]), text)
    hour = _hour(got, text, pattern.text)
    if hour is not None:
        nanos = int(got["S"][1].ljust(9, "0")) if "S" in got else int(got["n"][1]) if "n" in got else 0
        out.time = _make_time(hour, int(got.get("m", (0, "0"))[1]), int(got.get("s", (0, "0"))[1]), nanos, text)
    for letter in ("X", "x", "Z", "O"):
        if letter in got:
            value = got[letter][1]
            seconds = _gmt_offset(value) if value.upper().startswith("GMT") else \
                0 if value in ("Z", "z") else offset_seconds(value) or 0
            out.tz = dt.timezone(dt.timedelta(seconds=seconds)) if seconds else dt.UTC
    for letter in ("z", "V"):
        if letter in got:
            out.tz = _zone_text(got[letter][1])
    return out


def _hour(got: dict[str, tuple[int, str]], text: str, pattern: str) -> int | None:
    if "H" in got:
        return int(got["H"][1])
    if "k" in got:
        return int(got["k"][1]) % 24
    for letter in ("h", "K"):
        if letter in got:
            if "a" not in got:
                raise ExpressionError(f"the date pattern '{pattern}' has a 12-hour clock ({letter}) but no AM/PM (a)",
                                      hint="use HH for a 24-hour clock, or add ' a' to the pattern")
            value = int(got[letter][1]) % 12
            return value + (12 if got["a"][1].upper() == "PM" else 0)
    return None
