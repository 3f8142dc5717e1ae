"""Kestra's `MultipleCondition` in a Flow trigger: several conditions, each met by some execution,
all within one time window, before the trigger fires.

Each condition (keyed by its name under `conditions`) is marked met when an execution that counts
for the trigger (its `states` and its other conditions hold) satisfies it; when every one is met
in the current window the trigger fires, and with `resetOnSuccess` (the default) the marks start
over. The window (`sla`, also spelled `timeSLA`, or the deprecated `window`/`windowAdvance`):

- `DURATION_WINDOW` (default, `window` P1D): fixed windows of `window`, the first starting at
  midnight UTC plus `windowAdvance`, one after another; marks from an earlier window are dropped;
- `SLIDING_WINDOW`: a mark counts for `window` after it was made;
- `DAILY_TIME_DEADLINE`: marks count from midnight until `deadline` each day, none after it;
- `DAILY_TIME_WINDOW`: marks count between `startTime` and `endTime` each day, none outside.

Times of day are UTC: Lanner's clock is. The marks are the trigger's persisted state, so they
survive a restart of the scheduler and are shared by the cluster's schedulers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lanner.model.duration import parse_duration
from lanner.model.listener import LISTENER_CONDITIONS, condition_kind
from lanner.model.state import iso, parse_iso

KIND = "Multiple"
WindowType = Literal["DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"]
_DAY = dt.timedelta(days=1)


def _duration(value: Any) -> dt.timedelta | None:
    return None if value is None else parse_duration(str(value))


def _time_of_day(value: Any) -> dt.timedelta | None:
    if value is None:
        return None
    t = dt.time.fromisoformat(str(value))
    return dt.timedelta(hours=t.hour, minutes=t.minute, seconds=t.second)


class Window(BaseModel):
    """The `sla` of a MultipleCondition (Kestra's SLA / TimeSLA)."""

    model_config = ConfigDict(extra="forbid")

    type: WindowType = "DURATION_WINDOW"
    window: str | None = None
    windowAdvance: str | None = None
    deadline: str | None = None
    startTime: str | None = None
    endTime: str | None = None

    @model_validator(mode="after")
    def _readable(self) -> Window:
        for name in ("window", "windowAdvance"):
            value = _duration(getattr(self, name))
            if value is not None and value <= dt.timedelta(0) and name == "window":
                raise ValueError("`window` must be a positive duration")
        for name in ("deadline", "startTime", "endTime"):
            _time_of_day(getattr(self, name))
        if self.type == "DAILY_TIME_DEADLINE" and self.deadline is None:
            raise ValueError("a DAILY_TIME_DEADLINE window needs `deadline` (a time of day, like 09:00:00)")
        if self.type == "DAILY_TIME_WINDOW" and (self.startTime is None or self.endTime is None):
            raise ValueError("a DAILY_TIME_WINDOW needs `startTime` and `endTime` (times of day)")
        return self

    def current(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """The window `at` falls in, or None when marks made now count for nothing (outside a
        daily range). A sliding window has no fixed bounds: (at - window, at)."""
        size = _duration(self.window) or _DAY
        midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.type == "SLIDING_WINDOW":
            return at - size, at
        if self.type == "DAILY_TIME_DEADLINE":
            end = midnight + (_time_of_day(self.deadline) or dt.timedelta(0))
            return (midnight, end) if at < end else None
        if self.type == "DAILY_TIME_WINDOW":
            start = midnight + (_time_of_day(self.startTime) or dt.timedelta(0))
            end = midnight + (_time_of_day(self.endTime) or dt.timedelta(0))
            return (start, end) if start <= at < end else None
        origin = dt.datetime(1970, 1, 1, tzinfo=at.tzinfo) + (_duration(self.windowAdvance) or dt.timedelta(0))
        start = origin + ((at - origin) // size) * size
        return start, start + size


class MultipleCondition(BaseModel):
    """One `io.kestra.plugin.core.condition.MultipleCondition` of a Flow trigger, checked."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str
    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
    conditions: dict[str, dict[str, Any]] = Field(min_length=1)
    sla: Window = Field(default_factory=Window)
    resetOnSuccess: bool = True

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        """`timeSLA` is the older name of `sla`; `window`/`windowAdvance` at the top the oldest."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "timeSLA" in data:
            if "sla" in data:
                raise ValueError("`sla` and `timeSLA` are one setting under two names; keep `sla`")
            data["sla"] = data.pop("timeSLA")
        old = {k: data.pop(k) for k in ("window", "windowAdvance") if k in data}
        if old:
            data["sla"] = {**(data.get("sla") or {}), **old}
        return data

    @field_validator("conditions")
    @classmethod
    def _evaluated(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key, cond in value.items():
            kind = condition_kind(str(cond.get("type", ""))) if isinstance(cond, dict) else ""
            if kind not in LISTENER_CONDITIONS:
                raise ValueError(f"condition `{key}` (`{cond.get('type') if isinstance(cond, dict) else cond}`) is "
                                 f"not evaluated by Lanner; use {', '.join(LISTENER_CONDITIONS)}")
        return value


def is_multiple(cond: dict[str, Any]) -> bool:
    return condition_kind(str(cond.get("type", ""))) == KIND


@dataclasses.dataclass(slots=True)
class Progress:
    """What one execution did to a trigger's MultipleConditions: fire now? and the marks to keep."""

    fire: bool
    state: dict[str, Any]


def advance(conditions: list[MultipleCondition], state: dict[str, Any], at: dt.datetime,
            satisfied: Callable[[dict[str, Any]], bool]) -> Progress:
    """Mark what `satisfied` (one condition on the execution at hand) says is met, in each
    MultipleCondition's current window; fire when every MultipleCondition has all its marks."""
    new: dict[str, Any] = {}
    fire, touched = True, False
    for mc in conditions:
        kept = state.get(mc.id) or {}
        window = mc.sla.current(at)
        marks: dict[str, str] = dict(kept.get("marks") or {})
        if window is None:
            new[mc.id] = kept
            fire = False
            continue
        start, end = window
        if mc.sla.type == "SLIDING_WINDOW":
            marks = {k: d for k, d in marks.items() if parse_iso(d) > start}
        elif kept.get("window") != [iso(start), iso(end)]:
            marks = {}
        for key, cond in mc.conditions.items():
            if satisfied(cond):
                marks[key] = iso(at)
                touched = True
        met = all(key in marks for key in mc.conditions)
        fire = fire and met
        new[mc.id] = {"window": [iso(start), iso(end)], "marks": marks}
    fire = fire and touched  # an execution that meets none of the conditions starts nothing
    if fire:
        for mc in conditions:
            if mc.resetOnSuccess:
                new[mc.id]["marks"] = {}
    return Progress(fire, new)
