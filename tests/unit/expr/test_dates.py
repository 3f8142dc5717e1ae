"""Dates: Java patterns, named formats, reading date text, zones, arithmetic and epoch values.

Expected strings come from Kestra's own tests (DateFilterTest) where one exists, else from
what Java's DateTimeFormatter prints for the same pattern.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.expr.env import Env
from lanner.expr.errors import ExpressionError
from lanner.expr.filters import FILTERS
from lanner.expr.functions import FUNCTIONS

ENV = Env(variables={})
PLUS_ONE = dt.timezone(dt.timedelta(hours=1))
# Kestra's DateFilterTest.NOW: 2013-09-08T16:19:12.123456+01
NOW = dt.datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=PLUS_ONE)


def date(value: object, *args: object, **kwargs: object) -> object:
    return FILTERS["date"](ENV, value, *args, **kwargs)


def test_date_converts_every_kind_of_input_to_the_requested_zone() -> None:
    paris = {"timeZone": "Europe/Paris"}
    assert date(dt.datetime(2013, 9, 8, 15, 19, 12, tzinfo=dt.UTC), "iso", **paris) \
        == "2013-09-08T17:19:12.000000+02:00"
    assert date(NOW, "iso_sec", **paris) == "2013-09-08T17:19:12+02:00"
    assert date(NOW, format="iso", **paris) == "2013-09-08T17:19:12.123456+02:00"
    local = NOW.replace(tzinfo=None)
    assert date(local, "yyyy-MM-dd HH:mm:ss.SSSSSSXXX", **paris) == "2013-09-08 16:19:12.123456+02:00"
    assert date(local, "yyyy-MM-dd HH:mm:ss.SSSSSSXXX", timeZone="UTC") == "2013-09-08 16:19:12.123456Z"


def test_date_reads_iso_strings_zoned_then_local_then_date() -> None:
    paris = {"timeZone": "Europe/Paris"}
    assert date("2013-09-08T17:19:12+02:00", **paris) == "2013-09-08T17:19:12.000000+02:00"
    assert date("2013-09-08T17:19:12", **paris) == "2013-09-08T17:19:12.000000+02:00"
    assert date("2013-09-08", **paris) == "2013-09-08T00:00:00.000000+02:00"
    assert date("2024-01-02T03:04:05.123456789Z", "HH:mm:ss.SSSSSS") == "03:04:05.123456"
    assert date("2024-03-10T12:00:00+01:00[Europe/Paris]", "VV HH:mm", **paris) == "Europe/Paris 12:00"


def test_date_default_zone_is_utc_and_default_format_is_iso() -> None:
    assert date("2024-01-02T03:04:05+02:00") == "2024-01-02T01:04:05.000000Z"


def test_date_of_a_plain_date_is_noon_and_of_an_integer_is_epoch_seconds() -> None:
    assert date(dt.date(2024, 1, 2), "yyyy-MM-dd HH:mm") == "2024-01-02 12:00"
    assert date(1378653552, "iso_sec", timeZone="Europe/Paris") == "2013-09-08T17:19:12+02:00"


def test_date_formats_java_pattern_with_quoted_literal() -> None:
    assert date(NOW, "yyyy-MM-dd'T'HH:mm:ss", timeZone="UTC") == "2013-09-08T15:19:12"
    assert date(NOW, "'Day' D 'of' yyyy, 'it''s' h a", timeZone="UTC") == "Day 251 of 2013, it's 3 PM"
    assert date(NOW, "''yy''", timeZone="UTC") == "'13'"
    assert date(NOW, "HH[:mm]", timeZone="UTC") == "15:19"


def test_date_formats_text_fields_in_english() -> None:
    assert date(NOW, "EEE, dd MMM yyyy", timeZone="UTC") == "Sun, 08 Sep 2013"
    assert date(NOW, "EEEE d MMMM G QQQ", timeZone="UTC") == "Sunday 8 September AD Q3"
    assert date(NOW, "E MMMMM QQQQ", timeZone="UTC") == "Sun S 3rd quarter"


def test_date_formats_zones_and_offsets_like_java() -> None:
    paris = {"timeZone": "Europe/Paris"}
    assert date(NOW, "z zzzz VV", **paris) == "CEST Central European Summer Time Europe/Paris"
    assert date(NOW, "X XX XXX XXXXX", **paris) == "+02 +0200 +02:00 +02:00"
    assert date(NOW, "x Z ZZZZ O OOOO", **paris) == "+02 +0200 GMT+02:00 GMT+2 GMT+02:00"
    assert date(NOW, "X x Z ZZZZZ O", timeZone="UTC") == "Z +00 +0000 Z GMT"
    assert date(NOW, "XXX", timeZone="Asia/Kolkata") == "+05:30"
    assert date(NOW, "VV XXX", timeZone="+03:00") == "+03:00 +03:00"


def test_date_formats_clock_hours_and_fractions() -> None:
    midnight = dt.datetime(2024, 1, 2, 0, 5, 7, 120000, tzinfo=dt.UTC)
    assert date(midnight, "h K k H a", timeZone="UTC") == "12 0 24 0 AM"
    assert date(midnight, "S SSS SSSSSSSSS n A", timeZone="UTC") == "1 120 120000000 120000000 307120"


def test_date_week_based_fields_follow_the_us_week() -> None:
    # Sunday 31 Dec 2023 starts the first US week of 2024.
    assert date(dt.date(2023, 12, 31), "YYYY-'w'ww e", timeZone="UTC") == "2024-w01 1"
    assert date(dt.date(2023, 12, 30), "YYYY ww W", timeZone="UTC") == "2023 52 5"


def test_date_named_formats() -> None:
    utc = {"timeZone": "UTC"}
    assert date(NOW, "sql", **utc) == "2013-09-08 15:19:12.123456"
    assert date(NOW, "sql_seq", **utc) == "2013-09-08 15:19:12"
    assert date(NOW, "iso_instant", timeZone="Europe/Paris") == "2013-09-08T15:19:12.123456Z"
    assert date(NOW, "iso_date_time", timeZone="Europe/Paris") == "2013-09-08T17:19:12.123456+02:00[Europe/Paris]"
    assert date(NOW, "iso_zoned_date_time", timeZone="Z") == "2013-09-08T15:19:12.123456Z"
    assert date(NOW, "iso_local_date", **utc) == "2013-09-08"
    assert date(NOW, "iso_date", timeZone="Europe/Paris") == "2013-09-08+02:00"
    assert date(NOW.replace(microsecond=0), "iso_local_time", **utc) == "15:19:12"
    assert date(NOW, "iso_week_date", timeZone="Z") == "2013-W36-7Z"
    assert date(NOW, "iso_ordinal_date", timeZone="Z") == "2013-251Z"
    assert date(NOW, "rfc_1123_date_time", timeZone="Europe/Paris") == "Sun, 8 Sep 2013 17:19:12 +0200"
    assert date(NOW, "rfc_1123_date_time", **utc) == "Sun, 8 Sep 2013 15:19:12 GMT"
    assert date(NOW, "medium", **utc) == "Sep 8, 2013, 3:19:12\u202fPM"
    assert date(NOW, "short", **utc) == "9/8/13, 3:19\u202fPM"


def test_date_reads_text_with_existing_format() -> None:
    assert date("July 24, 2001", "yyyy-MM-dd", existingFormat="MMMM dd, yyyy") == "2001-07-24"
    assert date("24/07/2001 5:30 PM", "iso_sec", existingFormat="dd/MM/yyyy h:mm a") == "2001-07-24T17:30:00Z"
    assert date("20010724", "yyyy-MM-dd", existingFormat="yyyyMMdd") == "2001-07-24"
    assert date("01-07-24 10:00 +0200", "iso_sec", existingFormat="yy-MM-dd HH:mm Z") == "2001-07-24T08:00:00Z"
    assert date("2001-07-24 10:00 America/New_York", "HH:mm", existingFormat="yyyy-MM-dd HH:mm VV") == "14:00"
    assert date("2024-01-02 03:04:05", "iso_sec", existingFormat="sql_seq") == "2024-01-02T03:04:05Z"


def test_date_reads_rfc_1123_text() -> None:
    assert date("Tue, 08 Feb 2022 19:38:26 GMT", existingFormat="rfc_1123_date_time",
                timeZone="Europe/Paris") == "2022-02-08T20:38:26.000000+01:00"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: date(NOW, "yyyy-tt"), "unknown pattern letter 't'"),
    (lambda: date(NOW, "yyyy-MM-dd'T"), "is not closed"),
    (lambda: date(NOW, "ddd"), "wrong number of 'd' letters"),
    (lambda: date(NOW, "yyyy {x}"), "'{' is reserved"),
    (lambda: date(NOW, timeZone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    (lambda: date("2024-01-02 03:04:05"), "'2024-01-02 03:04:05' is not a date"),
    (lambda: date("2024-13-02"), "is not a valid date"),
    (lambda: date("02/01/2024", existingFormat="yyyy-MM-dd"), "does not match the date pattern"),
    (lambda: date("02/01/2024 5", existingFormat="dd/MM/yyyy h"), "no AM/PM"),
    (lambda: date(1.5), "expects a date, got decimal"),
    (lambda: date(NOW, "EEEE", locale="fr_FR"), "locale 'fr_FR' is not supported"),
    (lambda: date(NOW, "yyyy", locale="not a locale"), "invalid locale"),
    (lambda: date(NOW, 12), "format must be a string"),
])
def test_date_errors_name_the_problem_and_give_a_hint(call: object, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        call()  # type: ignore[operator]
    assert message in str(err.value)
    assert err.value.hint


def test_date_accepts_a_foreign_locale_for_numeric_patterns() -> None:
    assert date(NOW, "dd/MM/yyyy", timeZone="UTC", locale="fr_FR") == "08/09/2013"


def test_date_add_moves_days_on_the_wall_clock_and_hours_on_the_timeline() -> None:
    add = FILTERS["dateAdd"]
    assert add(ENV, NOW, -1, "DAYS", timeZone="Europe/Paris") == "2013-09-07T17:19:12.123456+02:00"
    # Across the spring-forward night in Paris: one day keeps 12:00, 24 hours do not.
    before = "2024-03-30T12:00:00+01:00[Europe/Paris]"
    assert add(ENV, before, 1, "DAYS", "HH:mm", timeZone="Europe/Paris") == "12:00"
    assert add(ENV, before, 24, "HOURS", "HH:mm", timeZone="Europe/Paris") == "13:00"
    assert add(ENV, "2024-01-31T10:00:00Z", 1, "MONTHS", "yyyy-MM-dd") == "2024-02-29"
    assert add(ENV, "2024-02-29", 1, "YEARS", "yyyy-MM-dd") == "2025-02-28"
    assert add(ENV, "2024-01-01T00:00:00Z", 90, "MINUTES", "HH:mm") == "01:30"
    assert add(ENV, "2024-01-01T00:00:00Z", 1500, "micros", "SSSSSS") == "001500"


def test_date_add_errors() -> None:
    with pytest.raises(ExpressionError, match="unknown time unit 'FORTNIGHTS'"):
        FILTERS["dateAdd"](ENV, NOW, 1, "FORTNIGHTS")
    with pytest.raises(ExpressionError, match="amount must be an integer"):
        FILTERS["dateAdd"](ENV, NOW, 1.5, "DAYS")
    with pytest.raises(ExpressionError, match="out of range"):
        FILTERS["dateAdd"](ENV, NOW, 9000, "YEARS")


def test_timestamps_match_kestra() -> None:
    assert FILTERS["timestamp"](ENV, NOW, timeZone="Europe/Paris") == 1378653552
    assert FILTERS["timestampMilli"](ENV, NOW) == 1378653552123
    assert FILTERS["timestampNano"](ENV, NOW, timeZone="Europe/Paris") == "1378653552123456000"
    assert FILTERS["timestampMicro"](ENV, NOW, timeZone="Europe/Paris") == "1378653552000123456"
    assert FILTERS["timestamp"](ENV, "1969-12-31T23:59:59.5Z") == -1
    assert FILTERS["timestamp"](ENV, None) is None


def test_now_returns_iso_text_in_the_zone_asked() -> None:
    text = FUNCTIONS["now"](ENV)
    assert text.endswith("Z") and len(text) == len("2024-07-09T06:17:01.171193Z")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    assert FUNCTIONS["now"](ENV, format="iso_local_date", timeZone="Europe/Lisbon") == \
        dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Lisbon")).date().isoformat()
