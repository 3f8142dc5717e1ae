"""Kestra's conditions on `Schedule` and `Webhook` triggers: which kinds exist, what each needs,
and whether they all hold for one fire.

A Schedule fires at a cron date only when its conditions hold for that date (`DayWeek`,
`DayWeekInMonth`, `Weekend`, `PublicHoliday`, `DateTimeBetween`, `TimeBetween`, an `Expression`,
or `Not`/`Or` around others); a date they reject is passed over, as Kestra does, and the next
date is computed as usual. A Webhook call whose conditions do not hold starts nothing (Kestra
answers it 204). Each date condition reads `date`, `{{ trigger.date }}` unless given, rendered
with the trigger's variables; a Webhook has no `trigger.date`, so there `date` must be written.

The date tests are the calendar functions of the expression language (`isWeekend`,
`isDayWeekInMonth`, `isPublicHoliday` …), so a condition and the same test written in an `If`
never disagree. Bounds follow Kestra: `DateTimeBetween` includes them, `TimeBetween` excludes
them and compares the instants of two times with offsets, as Java's `OffsetTime` does.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lanner.model.listener import condition_kind

DATE_KINDS = ("DayWeek", "DayWeekInMonth", "Weekend", "PublicHoliday", "DateTimeBetween", "TimeBetween")
COMPOSITE_KINDS = ("Not", "Or")
LEAF_KINDS = (*DATE_KINDS, "Expression")
DEFAULT_DATE = "{{ trigger.date }}"
DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
POSITIONS = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")

# kind → (properties it takes besides `type`, those it cannot do without)
PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "DayWeek": (frozenset({"date", "dayOfWeek"}), frozenset({"dayOfWeek"})),
    "DayWeekInMonth": (frozenset({"date", "dayOfWeek", "dayInMonth"}), frozenset({"dayOfWeek", "dayInMonth"})),
    "Weekend": (frozenset({"date"}), frozenset()),
    "PublicHoliday": (frozenset({"date", "country", "subDivision"}), frozenset({"country"})),
    "DateTimeBetween": (frozenset({"date", "after", "before"}), frozenset()),
    "TimeBetween": (frozenset({"date", "after", "before"}), frozenset()),
    "Expression": (frozenset({"expression"}), frozenset({"expression"})),
    "Not": (frozenset({"conditions"}), frozenset({"conditions"})),
    "Or": (frozenset({"conditions"}), frozenset({"conditions"})),
}
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


class ConditionError(ValueError):
    """A condition that cannot be evaluated (a date that does not parse, an unknown day …)."""


def problems(cond: Any, where: str, *, has_date: bool, leaf_kinds: tuple[str, ...] = LEAF_KINDS) -> list[str]:
    """What is wrong with one trigger condition, at `where` (`conditions[0]` …), before any fire.

    `has_date` says whether the trigger gives `trigger.date` (a Schedule does, a Webhook not);
    `leaf_kinds` are the kinds allowed outside `Not`/`Or`.
    """
    if not isinstance(cond, dict) or not cond.get("type"):
        return [f"{where}: a condition is a mapping with a `type`"]
    kind = condition_kind(str(cond["type"]))
    if kind not in leaf_kinds and kind not in COMPOSITE_KINDS:
        return [f"{where}: condition `{cond['type']}` is not evaluated on this trigger by Lanner; it evaluates "
                + ", ".join((*leaf_kinds, *COMPOSITE_KINDS)) + " (io.kestra.plugin.core.condition.…)"]
    if kind not in PROPERTIES:  # a kind checked where it is evaluated (the Flow trigger's own)
        return []
    allowed, required = PROPERTIES[kind]
    out = [f"{where}: unknown property `{key}` of `{kind}`" for key in cond if key != "type" and key not in allowed]
    out += [f"{where}: missing required property `{key}` of `{kind}`" for key in sorted(required) if key not in cond]
    if out:
        return out
    if kind in COMPOSITE_KINDS:
        children = cond["conditions"]
        if not isinstance(children, list) or not children:
            return [f"{where}: `conditions` of `{kind}` is a non-empty list of conditions"]
        for i, child in enumerate(children):
            out += problems(child, f"{where}.conditions[{i}]", has_date=has_date, leaf_kinds=leaf_kinds)
        return out
    if kind in DATE_KINDS and "date" not in cond and not has_date:
        out.append(f"{where}: `{kind}` needs `date` here (this trigger has no `trigger.date`)")
    if kind in ("DateTimeBetween", "TimeBetween") and "after" not in cond and "before" not in cond:
        out.append(f"{where}: `{kind}` needs `after`, `before` or both")
    for key, check in _STATIC_CHECKS.get(kind, ()):
        value = cond.get(key)
        if value is not None and not _templated(value):
            problem = check(value)
            if problem:
                out.append(f"{where}: `{key}` of `{kind}`: {problem}")
    return out


def all_hold(conditions: list[dict[str, Any]], variables: dict[str, Any]) -> bool:
    """Whether every condition holds for a fire whose `trigger.*` are `variables`. Raises
    `ConditionError` for a condition that cannot be evaluated."""
    return all(holds(cond, variables) for cond in conditions)


def holds(cond: dict[str, Any], variables: dict[str, Any]) -> bool:
    """One condition, rendered with `{"trigger": variables}`."""
    kind = condition_kind(str(cond.get("type", "")))
    if kind == "Not":  # Kestra: true when none of the wrapped conditions holds
        return not any(holds(child, variables) for child in cond.get("conditions") or [])
    if kind == "Or":
        return any(holds(child, variables) for child in cond.get("conditions") or [])
    if kind == "Expression":
        from lanner import expr

        return expr.is_truthy(_render(cond.get("expression"), variables))
    if kind not in DATE_KINDS:
        raise ConditionError(f"condition `{cond.get('type')}` is not evaluated by Lanner")
    return _date_holds(kind, cond, variables)


# Each date kind as a test of the expression language's calendar functions over `d` (the date),
# `w` (a day name), `p` (a position in the month), `c`/`s` (country, sub-division), `a`/`b` (bounds).
_CALENDAR_TESTS = {
    "DayWeek": "{{ dayOfWeek(d) == w }}",
    "DayWeekInMonth": "{{ isDayWeekInMonth(d, w, p) }}",
    "Weekend": "{{ isWeekend(d) }}",
    "PublicHoliday": "{{ isPublicHoliday(d, c, s) }}",
    "DateTimeBetween": "{{ (a is null or not isDateBefore(d, a)) and (b is null or not isDateAfter(d, b)) }}",
}


def _date_holds(kind: str, cond: dict[str, Any], variables: dict[str, Any]) -> bool:
    date = _render(cond.get("date", DEFAULT_DATE), variables)
    if kind == "TimeBetween":
        return _between_times(date, cond, variables)
    from lanner import expr

    def given(key: str) -> str | None:
        return _render(cond[key], variables) if cond.get(key) is not None else None

    day = given("dayOfWeek")
    arguments = {"d": date, "w": _day_name(day) if day is not None else None, "p": given("dayInMonth"),
                 "c": given("country"), "s": given("subDivision"), "a": given("after"), "b": given("before")}
    try:
        return expr.render(_CALENDAR_TESTS[kind], arguments) == "true"
    except Exception as exc:  # noqa: BLE001 - a date that does not parse makes the condition unknowable
        raise ConditionError(f"`{kind}`: {_first_line(exc)}") from None


def _between_times(date: str, cond: dict[str, Any], variables: dict[str, Any]) -> bool:
    from lanner.expr.date_parsing import parse_iso

    parsed = parse_iso(date)
    if parsed is None or parsed.time is None:
        raise ConditionError(f"`date` `{date}` of `TimeBetween` is not an ISO-8601 date-time")
    offset = (parsed.tz.utcoffset(None) if parsed.tz else None) or dt.timedelta()
    t = parsed.time
    moment = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6 - offset.total_seconds()
    after, before = cond.get("after"), cond.get("before")
    if after is not None and not moment > _time_instant(_render(after, variables)):
        return False
    return not (before is not None and not moment < _time_instant(_render(before, variables)))


def _time_instant(text: str) -> float:
    """Seconds of the day less the offset, as Java compares two `OffsetTime`s (no wrap at midnight)."""
    match = _TIME.match(text.strip())
    if match is None:
        raise ConditionError(f"`{text}` is not a time with an offset such as `08:00:00+02:00`")
    hours, minutes, seconds, zone = match.groups()
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0) - offset


def _day_name(text: str) -> str:
    name = text.strip().upper()
    if name not in DAY_NAMES:
        raise ConditionError(f"`{text}` is not a day of the week; use " + ", ".join(DAY_NAMES))
    return name


def _render(value: Any, variables: dict[str, Any]) -> str:
    from lanner import expr

    if value is None:
        return ""
    try:
        return str(expr.render(str(value), {"trigger": variables}))
    except Exception as exc:  # noqa: BLE001 - any rendering failure makes the condition unknowable
        raise ConditionError(f"`{value}` could not be rendered: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _check_day(value: Any) -> str | None:
    return None if str(value).strip().upper() in DAY_NAMES else "use a day name: " + ", ".join(DAY_NAMES)


def _check_position(value: Any) -> str | None:
    return None if str(value).strip().upper() in POSITIONS else "use " + ", ".join(POSITIONS)


def _check_country(value: Any) -> str | None:
    import holidays

    if str(value).strip().upper() in holidays.list_supported_countries():
        return None
    return f"no holiday calendar for `{value}`; use an ISO 3166-1 alpha-2 code such as FR, US or DE"


def _check_datetime(value: Any) -> str | None:
    from lanner.expr.date_parsing import parse_iso

    parsed = parse_iso(value.isoformat() if isinstance(value, dt.datetime) else str(value))
    if parsed is None or parsed.time is None or parsed.tz is None:
        return f"`{value}` is not an ISO-8601 date-time with an offset, such as 2025-01-01T00:00:00Z"
    return None


def _check_time(value: Any) -> str | None:
    if _TIME.match(str(value).strip()):
        return None
    return f"`{value}` is not a time with an offset, such as 08:00:00+02:00"


_STATIC_CHECKS: dict[str, tuple[tuple[str, Any], ...]] = {
    "DayWeek": (("dayOfWeek", _check_day),),
    "DayWeekInMonth": (("dayOfWeek", _check_day), ("dayInMonth", _check_position)),
    "PublicHoliday": (("country", _check_country),),
    "DateTimeBetween": (("after", _check_datetime), ("before", _check_datetime)),
    "TimeBetween": (("after", _check_time), ("before", _check_time)),
}
