"""Backfills of a `Schedule` trigger: the past dates of a range run as if the schedule had fired.

A backfill is kept in the trigger's stored state (`state["backfill"]`, Kestra's `Backfill` shape:
`start`, `end`, `currentDate`, `paused`, `inputs`, `labels`, plus Lanner's `id`, `total`,
`fired` and `lastDate`, the last date run), so it lives through restarts and is seen by every
process of a cluster. The scheduler starts one execution per tick for it, oldest date first,
while the flow's concurrency limit has room; each execution's id is derived from the backfill's
id and the date, so a step repeated after a crash finds the execution it already made, and the
cursor (`lastDate`, `currentDate`) only moves past a date once its execution exists: no date
runs twice, none is skipped.

Pure functions over the state document; the scheduler does the I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from lanner.model.state import iso, parse_iso
from lanner.runtime import schedule
from lanner.runtime.triggers import ScheduleSpec

MAX_DATES = 10_000  # one backfill never starts more executions than this
ONE_SECOND = dt.timedelta(seconds=1)


class BackfillError(ValueError):
    """A backfill request that cannot be carried out; `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_instant(name: str, raw: Any) -> dt.datetime | None:
    """`start`/`end` as Kestra sends them (ISO 8601 with an offset), as an aware datetime."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BackfillError(f"backfill `{name}` must be an ISO 8601 date-time string", "e.g. 2024-05-01T00:00:00Z")
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BackfillError(f"backfill `{name}`=`{raw[:60]}` is not an ISO 8601 date-time",
                            "e.g. 2024-05-01T00:00:00Z or 2024-05-01T02:00:00+02:00") from None
    if value.tzinfo is None:
        raise BackfillError(f"backfill `{name}`=`{raw[:60]}` has no UTC offset, so it names no single instant",
                            f"add Z or an offset, e.g. {raw.strip()}Z")
    return value.astimezone(dt.UTC)


def labels_list(raw: Any) -> list[dict[str, str]]:
    """Labels given as a map or as Kestra's `[{key, value}]` list, as that list; `system.` keys refused."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        items = [{"key": k, "value": v} for k, v in raw.items()]
    elif isinstance(raw, list) and all(isinstance(i, Mapping) and "key" in i for i in raw):
        items = [{"key": i["key"], "value": i.get("value")} for i in raw]
    else:
        raise BackfillError("backfill `labels` must be a map or a list of {key, value}",
                            'e.g. {"source": "backfill"} or [{"key": "source", "value": "backfill"}]')
    out = []
    for item in items:
        key, value = str(item["key"]).strip(), item["value"]
        if not key or value is None:
            raise BackfillError("a backfill label needs a key and a value", "give both, or leave the label out")
        if key.startswith("system."):
            raise BackfillError(f"label `{key}`: `system.` labels are Kestra's own", "choose another key")
        out.append({"key": key, "value": str(value)})
    return out


def first_at_or_after(spec: ScheduleSpec, instant: dt.datetime) -> dt.datetime:
    """The first scheduled date at or after `instant` (schedules are whole seconds)."""
    return schedule.next_after(spec, instant.replace(microsecond=0) - ONE_SECOND)


def count_dates(spec: ScheduleSpec, start: dt.datetime, end: dt.datetime, limit: int = MAX_DATES) -> int:
    """How many scheduled dates lie in [start, end]; stops counting past `limit`."""
    n, cursor = 0, first_at_or_after(spec, start)
    while cursor <= end and n <= limit:
        n += 1
        cursor = schedule.next_after(spec, cursor)
    return n


def new(spec: ScheduleSpec, body: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
    """A backfill's stored state from a request body (`start`, optional `end`, `inputs`, `labels`,
    `paused`); `end` defaults to `at`, the moment it is created. Raises `BackfillError`."""
    start = parse_instant("start", body.get("start"))
    if start is None:
        raise BackfillError("a backfill needs a `start` date", "give start, e.g. 2024-05-01T00:00:00Z")
    end = parse_instant("end", body.get("end")) or at.replace(microsecond=0)
    if start > at:
        raise BackfillError(f"backfill start {iso(start)} is in the future",
                            "a backfill runs past dates; the schedule itself runs the dates to come")
    if end > at:
        raise BackfillError(f"backfill end {iso(end)} is in the future",
                            "give an end up to now, or none (it then means now)")
    if end < start:
        raise BackfillError(f"backfill end {iso(end)} is before its start {iso(start)}", "swap them")
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise BackfillError("backfill `inputs` must be a map of input id to value", 'e.g. {"region": "eu"}')
    total = count_dates(spec, start, end)
    if total == 0:
        raise BackfillError(f"no date of schedule `{spec.cron}` lies between {iso(start)} and {iso(end)}",
                            "widen the range")
    if total > MAX_DATES:
        raise BackfillError(f"the range holds more than {MAX_DATES} dates of schedule `{spec.cron}`",
                            f"backfill at most {MAX_DATES} dates at a time: split the range")
    return {"id": secrets.token_hex(6), "start": iso(start), "end": iso(end),
            "currentDate": iso(first_at_or_after(spec, start)), "paused": bool(body.get("paused", False)),
            "inputs": dict(inputs), "labels": labels_list(body.get("labels")), "total": total, "fired": 0,
            "created": iso(at)}


@dataclasses.dataclass(slots=True, frozen=True)
class Step:
    date: dt.datetime | None  # the date to start an execution for now; None: the backfill is done


def next_date(spec: ScheduleSpec, backfill: Mapping[str, Any]) -> Step:
    """The date the backfill runs next, or None past its end. Counted from the last date run
    (`lastDate`), on the schedule's cron as it is now: a cron changed meanwhile skips nothing."""
    last = backfill.get("lastDate")
    date = (schedule.next_after(spec, parse_iso(last)) if last
            else first_at_or_after(spec, parse_iso(backfill["currentDate"])))
    return Step(date if date <= parse_iso(backfill["end"]) else None)


def advanced(spec: ScheduleSpec, backfill: Mapping[str, Any], date: dt.datetime) -> dict[str, Any]:
    """The backfill once the execution of `date` exists: its cursor moves past that date."""
    return {**backfill, "lastDate": iso(date), "currentDate": iso(schedule.next_after(spec, date)),
            "fired": int(backfill["fired"]) + 1}


def summary(backfill: Mapping[str, Any], outcome: str, at: dt.datetime) -> dict[str, Any]:
    """What stays of a backfill once it ended (`done`) or was deleted (`deleted`), for the triggers page."""
    return {"start": backfill["start"], "end": backfill["end"], "total": backfill["total"],
            "fired": backfill["fired"], "outcome": outcome, "ended": iso(at)}


def public(backfill: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The backfill as the API shows it: Kestra's fields (`previousNextExecutionDate` has no
    meaning here: the live schedule keeps running beside a backfill) and Lanner's counts."""
    if backfill is None:
        return None
    return {k: backfill[k] for k in ("start", "end", "currentDate", "paused", "inputs", "labels", "total",
                                     "fired", "lastDate", "created") if k in backfill}
