"""One scope's bookkeeping: the flow itself, or one run of a flowable task.

Counters (open runs, groups started and done, worst state so far) are kept up to date as runs
end, so deciding the next step costs the same with 10 children or 10,000. `replay` rebuilds the
counters from persisted task runs, which is how a restarted process resumes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from lanner.model.state import ENDED_BADLY, StateType, severity
from lanner.plugins.api import FlowableTask, Group, Resolution, Task

if TYPE_CHECKING:
    from lanner.model.execution import TaskRun
    from lanner.model.flow import Flow

CLEANUP_BLOCKS = ("finally", "afterExecution", "listeners")
STOPS_A_GROUP = ENDED_BADLY | {StateType.CANCELLED}  # the rest of a group does not run after such a run


def _enabled(tasks: list[Task] | None) -> list[Task]:
    return [t for t in tasks or [] if not t.disabled]


@dataclasses.dataclass(slots=True)
class Scope:
    key: str | None  # the flowable's task run id; None for the flow
    run: TaskRun | None
    task: FlowableTask | None
    groups: list[Group]
    concurrency: int
    errors: list[Task]
    finally_: list[Task]
    after: list[Task]
    phase: str = "main"  # main → errors → finally → (flow: after) → done
    listener_count: int = 0  # the flow's `after` list starts with this many matched listener tasks
    next_group: int = 0
    active: dict[int, int] = dataclasses.field(default_factory=dict)  # group → position of its current task
    done_groups: int = 0
    open_main: int = 0
    failed: bool = False
    worst_main: StateType = StateType.SUCCESS
    worst_finally: StateType = StateType.SUCCESS
    block_pos: int = 0
    block_open: bool = False
    depends: list[tuple[int, ...]] | None = None  # Dag only
    waiting: bool = False  # a loop waits for its next iteration
    forced_state: StateType | None = None  # a loop that hit its limit with failOnMaxReached
    started: set[int] = dataclasses.field(default_factory=set)  # Dag only
    finished: set[int] = dataclasses.field(default_factory=set)  # Dag only
    group_worst: dict[int, StateType] = dataclasses.field(default_factory=dict)  # Loop: each iteration's state
    broken: bool = False  # a Loop's `breakWhen` held: no further iteration starts

    @classmethod
    def for_flow(cls, flow: Flow) -> Scope:
        return cls(None, None, None, [Group(_enabled(flow.tasks))], 1, _enabled(flow.errors),
                   _enabled(flow.finally_), _enabled(flow.afterExecution))

    @classmethod
    def for_flowable(cls, run: TaskRun, task: FlowableTask, res: Resolution) -> Scope:
        return cls(run.id, run, task, res.groups, res.concurrency, _enabled(task.errors), _enabled(task.finally_), [],
                   depends=res.depends)

    # -- progress ----------------------------------------------------------------------------

    def take_group(self) -> int | None:
        """The next group allowed to start now (order, concurrency, Dag dependencies), or None."""
        if self.broken:
            return None
        if self.concurrency > 0 and len(self.active) >= self.concurrency:
            return None
        if self.depends is None:
            if self.next_group >= len(self.groups):
                return None
            self.next_group += 1
            return self.next_group - 1
        for gi, deps in enumerate(self.depends):
            if gi not in self.started and all(d in self.finished for d in deps):
                self.started.add(gi)
                return gi
        return None

    def group_done(self, gi: int) -> None:
        self.active.pop(gi, None)
        self.done_groups += 1
        if self.depends is not None:
            self.finished.add(gi)

    def main_done(self) -> bool:
        if self.broken:
            return not self.active
        if self.depends is not None:
            return len(self.finished) >= len(self.groups)
        return self.next_group >= len(self.groups) and not self.active

    def record_main(self, state: StateType, group: int | None = None) -> None:
        if group is not None and self.task is not None and self.task.isolates_iterations:
            if severity(state) > severity(self.group_worst.get(group, StateType.SUCCESS)):
                self.group_worst[group] = state
        if state in ENDED_BADLY and self.task is not None and not self.task.transmits_failure():
            return  # a Loop with `transmitFailed: false`: a failed iteration neither fails nor stops it
        if severity(state) > severity(self.worst_main):
            self.worst_main = state
        if state in ENDED_BADLY:
            self.failed = True

    def record_finally(self, state: StateType) -> None:
        if severity(state) > severity(self.worst_finally):
            self.worst_finally = state

    def main_state(self) -> StateType:
        return self.worst_main

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.block_pos = 0
        self.block_open = False

    def block_tasks(self) -> list[Task]:
        return {"errors": self.errors, "finally": self.finally_, "after": self.after}.get(self.phase, [])

    def add_iteration(self) -> int:
        """A looping flowable runs its children again: one more group like the first."""
        first = self.groups[0]
        self.groups.append(Group(first.tasks, first.value, len(self.groups)))
        return len(self.groups) - 1

    def final_state(self, kill: str | None, exit_state: StateType | None) -> StateType:
        """The scope's state from its main tasks, a kill or Exit, and its finally block.

        `errors` never rescue a failure and their own failures change nothing (Kestra); a
        failing `finally` task makes the scope FAILED (Lanner: cleanup failures are visible).
        """
        if exit_state is not None:
            state = exit_state
        elif kill is not None:
            state = StateType.KILLED
        else:
            state = self.worst_main
            if self.forced_state is not None and severity(self.forced_state) > severity(state):
                state = self.forced_state
        if self.worst_finally is StateType.FAILED and severity(StateType.FAILED) > severity(state):
            state = StateType.FAILED
        elif self.worst_finally is StateType.WARNING and state is StateType.SUCCESS:
            state = StateType.WARNING
        return state

    # -- rebuilding from persisted runs ------------------------------------------------------

    def replay(self, children: list[TaskRun]) -> None:
        """Recompute the counters from the runs already created in this scope."""
        positions: dict[int, int] = {}
        group_ended: dict[int, bool] = {}
        blocks: dict[str, list[TaskRun]] = {"errors": [], "finally": [], "afterExecution": [], "listeners": []}
        for run in children:
            if run.block == "tasks" and self.task is not None and self.groups and run.group >= len(self.groups) \
                    and run.iteration is not None:
                while len(self.groups) <= run.group:  # a loop's later iterations
                    self.add_iteration()
            if run.block == "tasks":
                tasks = self.groups[run.group].tasks if run.group < len(self.groups) else []
                ids = [t.id for t in tasks]
                pos = ids.index(run.task_id) if run.task_id in ids else 0
                positions[run.group] = max(positions.get(run.group, 0), pos)
                self.next_group = max(self.next_group, run.group + 1)
                self.started.add(run.group)
                if run.current.terminated:
                    self.record_main(run.current, run.group)
                    ended_last = pos + 1 >= len(tasks) or run.current in STOPS_A_GROUP
                    group_ended[run.group] = group_ended.get(run.group, False) or ended_last
                else:
                    self.open_main += 1
                    group_ended[run.group] = False
            elif run.block in blocks:
                blocks[run.block].append(run)
        for gi, pos in positions.items():
            if group_ended.get(gi):
                self.done_groups += 1
                self.finished.add(gi)
            else:
                self.active[gi] = pos
        after = blocks["listeners"] + blocks["afterExecution"]  # listeners run first, then afterExecution
        for runs, phase in ((after, "after"), (blocks["finally"], "finally"), (blocks["errors"], "errors")):
            if runs:
                self.phase = phase
                self.block_pos = len(runs) - 1
                self.block_open = not runs[-1].current.terminated
                if not self.block_open:
                    self.block_pos = len(runs)
                break
        for run in blocks["finally"]:
            if run.current.terminated:
                self.record_finally(run.current)


def final_run_state(task: Task, state: StateType, attempts: int, flowable: bool = False) -> StateType:
    """Kestra's post-processing of a task run's last state, in Kestra's order."""
    if flowable and task.kind == "flowable":
        assert isinstance(task, FlowableTask)  # kind "flowable" is FlowableTask's
        state = task.final_state(state)
    retry = task.retry
    if retry is not None and retry.warningOnRetry and state is StateType.SUCCESS and attempts > 1:
        state = StateType.WARNING  # any retry counts (Kestra's code has an off-by-one here)
    if task.allowFailure and state is StateType.FAILED:
        state = StateType.WARNING
    if task.allowWarning and state is StateType.WARNING:
        state = StateType.SUCCESS
    return state
