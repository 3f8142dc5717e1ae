"""Kestra's state types and the state object with its history.

The names and the terminal/running classification follow Kestra exactly, because users filter
executions by these names and the JSON we print must match Kestra's Execution shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class StateType(str, enum.Enum):
    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    QUEUED = "QUEUED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"

    @property
    def terminated(self) -> bool:
        return self in _TERMINATED

    @property
    def failed(self) -> bool:
        return self is StateType.FAILED

    @property
    def running(self) -> bool:
        return self in (StateType.RUNNING, StateType.KILLING)

    @property
    def successful(self) -> bool:
        """Counts as success for the flow's outcome (SKIPPED is a success that did nothing)."""
        return self in (StateType.SUCCESS, StateType.WARNING, StateType.SKIPPED)

    def __str__(self) -> str:  # print as Kestra does: the bare name
        return self.value


_TERMINATED = frozenset(
    {
        StateType.SUCCESS,
        StateType.WARNING,
        StateType.FAILED,
        StateType.KILLED,
        StateType.CANCELLED,
        StateType.RETRIED,
        StateType.SKIPPED,
    }
)

# Which terminal state wins when a block's children end differently (Kestra's
# guessFinalState order): a kill beats a failure beats a warning beats success.
_SEVERITY = {
    StateType.KILLED: 5,
    StateType.FAILED: 4,
    StateType.CANCELLED: 3,
    StateType.WARNING: 2,
}


def worst(states: "list[StateType] | tuple[StateType, ...]") -> StateType:
    """The final state of a block whose children ended in `states`."""
    best = StateType.SUCCESS
    rank = 0
    for s in states:
        r = _SEVERITY.get(s, 0)
        if r > rank:
            best, rank = s, r
    return best


def severity(state: StateType) -> int:
    return _SEVERITY.get(state, 0)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(ts: dt.datetime) -> str:
    """Java Instant.toString style: UTC with `Z`, milliseconds or finer only when present.

    Called for every date of every task run the store writes, so it avoids strftime (slow).
    """
    if ts.tzinfo is not dt.timezone.utc:
        ts = ts.astimezone(dt.timezone.utc)
    us = ts.microsecond
    spec = "seconds" if not us else "milliseconds" if us % 1000 == 0 else "microseconds"
    return ts.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


@dataclasses.dataclass(slots=True)
class History:
    state: StateType
    date: dt.datetime
    _json: dict[str, str] | None = dataclasses.field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, str]:
        # A history entry never changes, and the store writes it again with every state change.
        if self._json is None:
            self._json = {"state": self.state.value, "date": iso(self.date)}
        return dict(self._json)


@dataclasses.dataclass(slots=True)
class State:
    """Current state plus every transition, as Kestra records them."""

    current: StateType = StateType.CREATED
    histories: list[History] = dataclasses.field(default_factory=list)

    @classmethod
    def created(cls, at: dt.datetime | None = None) -> "State":
        return cls(StateType.CREATED, [History(StateType.CREATED, at or now())])

    def to(self, state: StateType, at: dt.datetime | None = None) -> bool:
        """Move to `state`; a move to the current state is a no-op. Returns whether it moved."""
        if state is self.current:
            return False
        self.current = state
        self.histories.append(History(state, at or now()))
        return True

    @property
    def start_date(self) -> dt.datetime | None:
        return self.histories[0].date if self.histories else None

    @property
    def end_date(self) -> dt.datetime | None:
        if self.histories and (self.current.terminated or self.current is StateType.PAUSED):
            return self.histories[-1].date
        return None

    def duration(self, at: dt.datetime | None = None) -> dt.timedelta:
        if not self.histories:
            return dt.timedelta(0)
        end = self.end_date or at or now()
        return end - self.histories[0].date

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "current": self.current.value,
            "histories": [h.to_json() for h in self.histories],
        }
        if self.start_date:
            out["startDate"] = iso(self.start_date)
        if self.end_date:
            out["endDate"] = iso(self.end_date)
        out["duration"] = _iso_duration(self.duration())
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> "State":
        hist = [
            History(StateType(h["state"]), parse_iso(h["date"]))  # type: ignore[index,arg-type]
            for h in data.get("histories", [])  # type: ignore[union-attr]
        ]
        return cls(StateType(data["current"]), hist)  # type: ignore[arg-type]


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso_duration(d: dt.timedelta) -> str:
    secs = d.total_seconds()
    return f"PT{secs:.3f}S".replace(".000S", "S")
