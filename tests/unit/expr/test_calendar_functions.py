"""The calendar functions, as Kestra documents them: day parts read as written, comparisons by
instant (a date alone is midnight UTC), Monday-to-Friday working days unless told otherwise."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError, render


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ dayOfMonth('2024-02-29') }}", "29"),
    ("{{ dayOfWeek('2024-02-29') }}", "THURSDAY"),
    ("{{ monthOfYear('2024-02-29T23:00:00-05:00') }}", "2"),  # the month as written, not in UTC
    ("{{ dayOfMonth('2024-02-29T23:00:00-05:00') }}", "29"),
    ("{{ hourOfDay('2024-02-29T07:45:00+09:00') }}", "7"),
    ("{{ isWeekend('2024-03-02') }}", "true"),
    ("{{ isWeekend('2024-03-04T10:00:00Z') }}", "false"),
])
def test_day_parts_read_the_date_as_it_is_written(template: str, expected: str) -> None:
    assert render(template, {}) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ isDateAfter('2024-03-01T01:00:00+02:00', '2024-02-29T22:30:00Z') }}", "true"),  # 23:00Z
    ("{{ isDateBefore('2024-03-01', '2024-03-01T00:00:00Z') }}", "false"),  # equal instants
    ("{{ isDateAfter('2024-03-01T00:00:01', '2024-03-01') }}", "true"),  # no offset: UTC
    ("{{ isDateBetween('2024-06-01T00:00:00+02:00', '2024-05-31T21:00:00Z', '2024-06-01T00:00:00Z') }}", "true"),
    ("{{ isDateBetween('2024-06-01T00:00:00Z', '2024-06-01T00:00:00Z', '2024-07-01T00:00:00Z') }}", "false"),
])
def test_date_comparisons_compare_instants_and_are_strict(template: str, expected: str) -> None:
    assert render(template, {}) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ isDayWeekInMonth('2024-03-01', 'friday', 'first') }}", "true"),
    ("{{ isDayWeekInMonth('2024-03-29', 'FRIDAY', 'LAST') }}", "true"),
    ("{{ isDayWeekInMonth('2024-03-22', 'FRIDAY', 'LAST') }}", "false"),
    ("{{ isDayWeekInMonth('2024-03-22', 'FRIDAY', 'FOURTH') }}", "true"),
    ("{{ isDayWeekInMonth('2024-03-22', 'THURSDAY', 'FOURTH') }}", "false"),
    ("{{ isLastWorkingDay('2024-03-29') }}", "true"),  # March 2024 ends on a Sunday
    ("{{ isLastWorkingDay('2024-03-31') }}", "false"),
    ("{{ isLastWorkingDay('2024-03-31', 'SUNDAY MONDAY') }}", "true"),
    ("{{ isLastWorkingDay('2024-03-25', 'monday') }}", "true"),
])
def test_calendar_tests_count_weekdays_within_the_month(template: str, expected: str) -> None:
    assert render(template, {}) == expected


def test_public_holidays_come_from_the_country_calendar_and_an_unknown_region_means_the_country() -> None:
    assert render("{{ isPublicHoliday('2024-07-14', 'FR') }}", {}) == "true"
    assert render("{{ isPublicHoliday('2024-07-15', 'fr') }}", {}) == "false"
    assert render("{{ isPublicHoliday('2024-07-04', 'US', 'CA') }}", {}) == "true"
    assert render("{{ isPublicHoliday('2024-07-14', 'FR', 'XYZ') }}", {}) == "true"
    assert render("{{ isPublicHoliday('2024-07-14T08:00:00Z', 'FR', '') }}", {}) == "true"


@pytest.mark.parametrize(("template", "message"), [
    ("{{ dayOfMonth() }}", "expects a 'date' argument"),
    ("{{ dayOfWeek('31/01/2024') }}", "could not parse 'date'"),
    ("{{ hourOfDay('2024-01-31') }}", "has no time of day"),
    ("{{ isDateAfter('2024-01-31') }}", "expects a 'reference' argument"),
    ("{{ isDateBetween('2024-01-31T00:00:00', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z') }}", "has no offset"),
    ("{{ isDayWeekInMonth('2024-01-31', 'FUNDAY', 'FIRST') }}", "invalid 'dayOfWeek' value"),
    ("{{ isDayWeekInMonth('2024-01-31', 'MONDAY', 'FIFTH') }}", "invalid 'position' value"),
    ("{{ isLastWorkingDay('2024-01-31', 'MONDAY,SOMEDAY') }}", "invalid 'workingDays' value"),
    ("{{ isPublicHoliday('2024-01-01') }}", "expects a 'countryCode' argument"),
    ("{{ isPublicHoliday('2024-01-01', 'QQ') }}", "no holiday calendar for country"),
])
def test_calendar_functions_refuse_missing_or_bad_arguments_with_a_hint(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as err:
        render(template, {})
    assert err.value.hint
