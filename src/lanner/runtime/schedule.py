"""Cron arithmetic for `Schedule` triggers: next fire times and the catch-up policy.

Pure functions over datetimes so the policy is tested without waiting for a clock: given the
trigger's persisted next date and the current time, `due` says which dates to fire now and what
the next date becomes. Dates are computed in the trigger's time zone (DST-correct) and returned
in UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from lanner.runtime.triggers import ScheduleSpec

ON_TIME = dt.timedelta(seconds=60)  # a fire at most this late is "now", not a missed schedule
MAX_CATCH_UP = 10_000  # ALL never creates more than this many executions at once


def check_cron(spec: ScheduleSpec) -> str | None:
    """Why the cron expression is not valid, or None."""
    from croniter import croniter

    expr = spec.croniter_expression()
    fields = expr.split()
    if not expr.startswith("@"):
        wanted = 6 if spec.withSeconds else 5
        if len(fields) != wanted:
            return (f"cron `{spec.cron}` has {len(fields)} fields; {wanted} expected"
                    + (" (seconds first, as withSeconds is true)" if spec.withSeconds else ""))
    if not croniter.is_valid(expr):
        return f"cron `{spec.cron}` is not a valid cron expression"
    return None


def next_after(spec: ScheduleSpec, after: dt.datetime) -> dt.datetime:
    """The first fire time strictly after `after` (UTC in, UTC out)."""
    from croniter import croniter

    local = after.astimezone(spec.zone())
    nxt = croniter(spec.croniter_expression(), local).get_next(dt.datetime)
    return nxt.astimezone(dt.UTC)


def previous_before(spec: ScheduleSpec, before: dt.datetime) -> dt.datetime:
    from croniter import croniter

    local = before.astimezone(spec.zone())
    prev = croniter(spec.croniter_expression(), local).get_prev(dt.datetime)
    return prev.astimezone(dt.UTC)


@dataclasses.dataclass(slots=True)
class Due:
    fire: list[dt.datetime]  # scheduled dates to start executions for, oldest first
    skipped: int  # missed dates dropped by the policy
    next_date: dt.datetime  # the trigger's next scheduled date after this tick


def due(spec: ScheduleSpec, next_date: dt.datetime, at: dt.datetime) -> Due:
    """What to fire at `at` when the trigger was due at `next_date`.

    Dates later than `ON_TIME` behind `at` were missed (the server was down): ALL fires each of
    them, LAST only the newest one, NONE none of them. A date within `ON_TIME` always fires.
    """
    dates: list[dt.datetime] = []
    cursor = next_date
    while cursor <= at and len(dates) < MAX_CATCH_UP:
        dates.append(cursor)
        cursor = next_after(spec, cursor)
    if cursor <= at:  # more than MAX_CATCH_UP missed: skip ahead
        cursor = next_after(spec, at)
    missed = [d for d in dates if at - d > ON_TIME]
    on_time = [d for d in dates if at - d <= ON_TIME]
    policy = spec.recoverMissedSchedules
    if policy == "ALL":
        keep = missed
    elif policy == "LAST":
        keep = missed[-1:]
    else:
        keep = []
    return Due(fire=keep + on_time, skipped=len(missed) - len(keep), next_date=cursor)


def variables(spec: ScheduleSpec, date: dt.datetime) -> dict[str, str]:
    """`trigger.date`, `trigger.next`, `trigger.previous` for an execution scheduled at `date`."""
    from lanner.model.state import iso

    return {"date": iso(date), "next": iso(next_after(spec, date)), "previous": iso(previous_before(spec, date))}


def condition_variables(spec: ScheduleSpec, date: dt.datetime) -> dict[str, str]:
    """`trigger.*` as the trigger's conditions read them: dates in the schedule's own time zone,
    as Kestra gives them, so `DayWeek` at 00:30 in Paris is the Paris day, not the UTC one."""
    zone = spec.zone()
    return {"date": date.astimezone(zone).isoformat(), "next": next_after(spec, date).astimezone(zone).isoformat(),
            "previous": previous_before(spec, date).astimezone(zone).isoformat()}
