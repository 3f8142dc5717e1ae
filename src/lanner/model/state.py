"""Kestra's state types, which moves between them are legal, and the state object with its history.

The names and the terminal/running classification follow Kestra exactly, because users filter
executions by these names and the JSON we print must match Kestra's Execution shape. The sets
below (`TERMINATED`, `ACTIVE`, `UNFINISHED`, `SUCCESSFUL` and the narrower ones the engine and
the CLI ask for) and the table of legal moves
(`TRANSITIONS`) are defined here only: everything else asks this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any


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
        return self in TERMINATED

    @property
    def failed(self) -> bool:
        return self is StateType.FAILED

    @property
    def running(self) -> bool:
        return self in ACTIVE

    @property
    def successful(self) -> bool:
        """Counts as success for the flow's outcome (SKIPPED is a success that did nothing)."""
        return self in SUCCESSFUL

    def __str__(self) -> str:  # print as Kestra does: the bare name
        return self.value


_S = StateType

# Ended: nothing more happens to it (but see the few ways out in TRANSITIONS: retry, restart).
TERMINATED: frozenset[StateType] = frozenset({_S.SUCCESS, _S.WARNING, _S.FAILED, _S.KILLED, _S.CANCELLED, _S.RETRIED,
                                              _S.SKIPPED})
TERMINATED_NAMES: tuple[str, ...] = tuple(s.value for s in StateType if s in TERMINATED)  # for SQL and JSON
# Doing work right now (Kestra's isRunning).
ACTIVE: frozenset[StateType] = frozenset({_S.RUNNING, _S.KILLING})
# Not ended yet: can still be killed, and an owner still has to drive it.
UNFINISHED: frozenset[StateType] = frozenset(StateType) - TERMINATED
# Counts as success for the flow's outcome.
SUCCESSFUL: frozenset[StateType] = frozenset({_S.SUCCESS, _S.WARNING, _S.SKIPPED})
# An execution that has not started: new, or queued by its flow's concurrency limit.
NOT_STARTED: frozenset[StateType] = frozenset({_S.CREATED, _S.QUEUED})
# What `lanner execution kill` accepts: every unfinished state an execution of Lanner's can be in
# (SUBMITTED is Kestra's, never set by Lanner; RESTARTED lasts only inside a restart).
KILLABLE: frozenset[StateType] = UNFINISHED - {_S.SUBMITTED, _S.RESTARTED}
# A runnable task run whose attempt is about to run or running: what a kill cancels and a
# take-over picks up.
AT_WORK: frozenset[StateType] = frozenset({_S.CREATED, _S.RUNNING})
# A task run waiting for a timer or a person (a retry, a pause): a kill ends it at once.
WAITING: frozenset[StateType] = frozenset({_S.RETRYING, _S.PAUSED})
# A run that ended without doing its work: its block counts as failed from there on.
ENDED_BADLY: frozenset[StateType] = frozenset({_S.FAILED, _S.KILLED})

_ENDINGS = TERMINATED - {_S.RETRIED}  # RETRIED is Kestra's mark for a replaced execution; Lanner never sets it

# The legal moves, for executions and task runs alike. Kestra has no table of its own (its
# `State.withState` accepts anything); this one is Kestra's lifecycle (created, maybe queued,
# running, paused, retrying, killing, ended; restartable when FAILED, KILLED or PAUSED) together
# with every move the engine, the runtimes and the restart make, as the whole test suite
# exercises them. A state never moves to itself (`State.to` makes that a no-op).
TRANSITIONS: dict[StateType, frozenset[StateType]] = {
    _S.CREATED: frozenset({_S.SUBMITTED, _S.QUEUED, _S.RUNNING, _S.PAUSED, _S.KILLING} | _ENDINGS),
    _S.SUBMITTED: frozenset({_S.QUEUED, _S.RUNNING, _S.PAUSED, _S.KILLING} | _ENDINGS),
    _S.QUEUED: frozenset({_S.CREATED, _S.RUNNING, _S.KILLING} | _ENDINGS),
    _S.RUNNING: frozenset({_S.PAUSED, _S.RETRYING, _S.KILLING} | _ENDINGS),
    _S.PAUSED: frozenset({_S.RUNNING, _S.KILLING, _S.RESTARTED} | _ENDINGS),
    _S.RETRYING: frozenset({_S.CREATED, _S.RUNNING, _S.KILLING} | _ENDINGS),
    _S.KILLING: _ENDINGS,
    _S.RESTARTED: frozenset({_S.CREATED, _S.QUEUED, _S.RUNNING, _S.KILLING} | _ENDINGS),
    # A failed attempt is retried (the task run waits in RETRYING); a failed, killed or cancelled
    # execution or task run can be restarted. Every other end is final.
    _S.FAILED: frozenset({_S.RETRYING, _S.RESTARTED}),
    _S.KILLED: frozenset({_S.RESTARTED}),
    _S.CANCELLED: frozenset({_S.RESTARTED}),
    _S.SUCCESS: frozenset(),
    _S.WARNING: frozenset(),
    _S.SKIPPED: frozenset(),
    _S.RETRIED: frozenset(),
}


class IllegalTransition(ValueError):
    """A move the state machine does not allow: a bug in whoever asked for it, never user input."""

    def __init__(self, current: StateType, target: StateType) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none, it is final"
        super().__init__(f"illegal state move {current.value} → {target.value} (from {current.value}: {allowed})")
        self.current = current
        self.target = target


def can_move(current: StateType, target: StateType) -> bool:
    """Whether `current` → `target` is a legal move (staying put always is)."""
    return target is current or target in TRANSITIONS[current]


# Which terminal state wins when a block's children end differently (Kestra's
# guessFinalState order): a kill beats a failure beats a warning beats success.
_SEVERITY = {
    StateType.KILLED: 5,
    StateType.FAILED: 4,
    StateType.CANCELLED: 3,
    StateType.WARNING: 2,
}


# The endings that rank above SUCCESS: what a Subflow that transmits its child's failure passes on.
WORSE_THAN_SUCCESS: frozenset[StateType] = frozenset(_SEVERITY)


def worst(states: list[StateType] | tuple[StateType, ...]) -> StateType:
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
    return dt.datetime.now(dt.UTC)


def iso(ts: dt.datetime) -> str:
    """Java Instant.toString style: UTC with `Z`, milliseconds or finer only when present.

    This is the one text of a date everywhere: stored (lossless, to the microsecond), in variables,
    outputs, logs and the API. It is Kestra's too: Kestra's variables hold `Instant.now()` dates,
    printed with `toString`, so Kestra on Linux prints microseconds as well, not milliseconds.
    Called for every date of every task run the store writes, so it avoids strftime (slow).
    """
    if ts.tzinfo is not dt.UTC:
        ts = ts.astimezone(dt.UTC)
    us = ts.microsecond
    spec = "seconds" if not us else "milliseconds" if us % 1000 == 0 else "microseconds"
    return ts.isoformat(timespec=spec)[:-6] + "Z"  # drop the "+00:00" of UTC (cheaper than replace())


@dataclasses.dataclass(slots=True)
class History:
    """One state change. Nothing is cached on it: an execution keeps five of these per task run in
    memory (a ForEach over 100,000 values holds half a million), and printing a date is cheap."""

    state: StateType
    date: dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"state": self.state.value, "date": iso(self.date)}


@dataclasses.dataclass(slots=True)
class State:
    """Current state plus every transition, as Kestra records them."""

    current: StateType = StateType.CREATED
    histories: list[History] = dataclasses.field(default_factory=list)

    @classmethod
    def created(cls, at: dt.datetime | None = None) -> State:
        return cls(StateType.CREATED, [History(StateType.CREATED, at or now())])

    def to(self, state: StateType, at: dt.datetime | None = None) -> bool:
        """Move to `state`; a move to the current state is a no-op. Returns whether it moved.

        Raises IllegalTransition for a move `TRANSITIONS` does not allow, before changing anything.
        """
        if state is self.current:
            return False
        if state not in TRANSITIONS[self.current]:
            raise IllegalTransition(self.current, state)
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
        histories = [h.to_json() for h in self.histories]
        out: dict[str, object] = {"current": self.current.value, "histories": histories}
        if histories:  # the dates are those of history entries, already printed there
            out["startDate"] = histories[0]["date"]
            if self.current.terminated or self.current is StateType.PAUSED:
                out["endDate"] = histories[-1]["date"]
        out["duration"] = _iso_duration(self.duration())
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        hist = [History(StateType(h["state"]), parse_iso(h["date"])) for h in data.get("histories", [])]
        return cls(StateType(data["current"]), hist)


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso_duration(d: dt.timedelta) -> str:
    secs = d.total_seconds()
    return f"PT{secs:.3f}S".replace(".000S", "S")
