"""Loop iterations counted as one group, so a ForEach of 10,000 values prints one line, not 10,000.

A task run with a `value` is an iteration (of a ForEach, or inside one). Its group is its task id
under its *anchor*: the nearest ancestor run that is not itself an iteration (the loop task's
own run, or the run of the loop nested deepest that still has no value). The group keeps how many
of its runs are in each state, and the runs a user must see one by one: those that ended in a
state other than SUCCESS or SKIPPED (the failed ones, with their value).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from lanner.model.execution import TaskRun
from lanner.model.state import StateType

GroupKey = tuple[str | None, str]  # (anchor task run id, task id)
QUIET_ENDS = frozenset({"SUCCESS", "SKIPPED"})  # iterations that end so are only counted


@dataclasses.dataclass
class Group:
    """The iterations of one task under one anchor."""

    task_id: str
    block: str
    first: TaskRun  # its first run, for where the group sits among the other rows
    states: dict[str, int] = dataclasses.field(default_factory=dict)
    attempts: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    unfinished: int = 0
    listed: dict[str, TaskRun] = dataclasses.field(default_factory=dict)  # ended otherwise than quietly

    @property
    def size(self) -> int:
        return sum(self.states.values())

    def duration(self, now: dt.datetime | None = None) -> dt.timedelta:
        """From the first iteration's start to the last one's end (or now, while some still run)."""
        if self.start is None:
            return dt.timedelta(0)
        end = self.end if self.unfinished == 0 and self.end is not None else (now or dt.datetime.now(dt.UTC))
        return max(end - self.start, dt.timedelta(0))


class Iterations:
    """Groups kept up to date as task runs change, one run at a time (cheap for 10,000 runs)."""

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        self._anchors: dict[str, str | None] = {}
        self._counted: dict[str, tuple[Group, StateType, int]] = {}  # run id → (group, state, attempts) counted

    def anchor(self, run: TaskRun, runs: Mapping[str, TaskRun]) -> str | None:
        """The nearest ancestor of an iteration that is no iteration itself (None when unknown)."""
        found = self._anchors.get(run.id, "")
        if found != "":
            return found
        parent = runs.get(run.parent_id) if run.parent_id else None
        if parent is None:
            found = None
        elif parent.value is None:
            found = parent.id
        else:
            found = self.anchor(parent, runs)
        self._anchors[run.id] = found
        return found

    def count(self, run: TaskRun, runs: Mapping[str, TaskRun]) -> Group | None:
        """Count `run` in its group (moving it between states as it changes); None if no iteration."""
        if run.value is None:
            return None
        state, attempts = run.current, len(run.attempts)
        before = self._counted.get(run.id)
        if before is None:
            key = (self.anchor(run, runs), run.task_id)
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = Group(run.task_id, run.block, run)
            start = run.state.start_date
            if start is not None and (group.start is None or start < group.start):
                group.start = start
        else:
            group, old_state, old_attempts = before
            if old_state is state and old_attempts == attempts:
                return group  # told again, unchanged
            group.states[old_state.value] -= 1
            group.attempts -= old_attempts
            if not old_state.terminated:
                group.unfinished -= 1
        group.states[state.value] = group.states.get(state.value, 0) + 1
        group.attempts += attempts
        self._counted[run.id] = (group, state, attempts)
        if state.terminated:
            end = run.state.end_date
            if end is not None and (group.end is None or end > group.end):
                group.end = end
            if state.value in QUIET_ENDS:
                group.listed.pop(run.id, None)
            else:
                group.listed[run.id] = run
        else:
            group.unfinished += 1
            group.listed.pop(run.id, None)
        return group

    def anchored_at(self, run_id: str | None) -> list[Group]:
        return [g for (anchor, _), g in self.groups.items() if anchor == run_id]


def grouped(runs: Iterable[TaskRun]) -> tuple[list[TaskRun | Group], Iterations]:
    """The rows of a finished execution: each plain task run, and each group where its first
    iteration stood (in creation order)."""
    runs = list(runs)
    by_id = {r.id: r for r in runs}
    its = Iterations()
    rows: list[TaskRun | Group] = []
    for run in runs:
        group = its.count(run, by_id)
        if group is None:
            rows.append(run)
        elif group.first is run:
            rows.append(group)
    return rows, its


def state_counts(group: Group) -> list[tuple[str, int]]:
    """The group's states, most frequent first, for `SUCCESS 9,999  FAILED 1`."""
    return sorted(((s, n) for s, n in group.states.items() if n), key=lambda sn: -sn[1])
