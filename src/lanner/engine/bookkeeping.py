"""The executor's state and the small moves every decision is made of.

One `Bookkeeping` holds an execution's scopes and the `Effects` being built by the current call;
its helpers stamp every state move and log line with the clock of the executor's `Surroundings`
and take new ids from it, so nothing below reads the host (see `surroundings.py`). The layers
above it add, in order, kill handling (`kills.py`), execution tasks (`execution_tasks.py`), SLAs
and listeners (`flow_end.py`), the step loop (`steps.py`), Pause (`pauses.py`), Approval
(`approvals.py`), recovery (`recovery.py`) and the entry points (`executor.py`).
"""

from __future__ import annotations

import collections
import datetime as dt

from lanner.engine.context import CollectingLogger, DecisionServices, EngineContext
from lanner.engine.effects import Effects
from lanner.engine.scope import Scope
from lanner.engine.surroundings import Surroundings
from lanner.model import variables
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.results import LogEntry
from lanner.model.state import ENDED_BADLY, State, StateType
from lanner.plugins.api import Task

DEFAULT_MAX_TASK_RUNS = 200_000  # bench/foreach.py's 100,000-value ForEach (100,002 runs) fits twice over
CLEANUP_RESERVE = 1_000  # runs that finally/afterExecution may still create past the limit


class Bookkeeping:
    def __init__(self, flow: Flow, execution: Execution, max_task_runs: int = DEFAULT_MAX_TASK_RUNS,
                 *, surroundings: Surroundings) -> None:
        """`surroundings`: the clock, ids and environment to decide with, always given: the runtimes
        pass this host's (`runtime/core.py:executor`), tests may pass a fixed clock and ids."""
        self.flow = flow
        self.exe = execution
        self.max_task_runs = max_task_runs
        self.surroundings = surroundings
        self._services = DecisionServices(
            surroundings.secret, lambda key, where, must: surroundings.kv(flow.namespace, key, where, must))
        self._limit_said: set[bool] = set()  # which limit (main work, cleanup) was already logged
        self.index = flow.index()
        self.scopes: dict[str | None, Scope] = {}
        self._timers_kept = False
        self._ended: collections.deque[TaskRun] = collections.deque()
        self._fx = Effects()

    def _now(self) -> dt.datetime:
        """The time of the move or log line being made: the surroundings' clock, never the host's."""
        return self.surroundings.now()

    def _touch(self, run: TaskRun) -> None:
        self._fx.runs[run.id] = run

    def _set_execution(self, state: StateType) -> None:
        if self.exe.state.to(state, self._now()):
            self._fx.execution_changed = True

    def _log(self, run: TaskRun | None, task: Task | None, level: str, message: str) -> None:
        self._fx.logs.append(
            LogEntry(self.exe.id, run.id if run else None, run.task_id if run else (task.id if task else None),
                     level, message, self._now())
        )

    def _context(self, run: TaskRun, task: Task, files_of: TaskRun | None = None) -> EngineContext:
        """The context `task` decides in, seeing what `run` sees; given `files_of`, files it stores
        are kept as that run's (their content goes out with the decision's effects)."""
        logger = CollectingLogger(self._fx.logs, self.exe.id, run.id, task.id, self.surroundings.now)
        store = None
        if files_of is not None:
            owner = files_of

            def store(name: str, data: bytes) -> str:
                uri = self.surroundings.file_uri(self.exe.namespace, self.exe.flow_id, self.exe.id, owner.task_id,
                                                 owner.id, name)
                self._fx.files.append((uri, data))
                return uri

        return EngineContext(variables.build(self.flow, self.exe, run, task, envs=self.surroundings.envs), logger,
                             self.exe.id, run.id, self._services, store)

    def _root(self) -> Scope:
        root = self.scopes.get(None)
        if root is None:
            root = Scope.for_flow(self.flow)
            self.scopes[None] = root
        return root

    @property
    def _stopping(self) -> bool:
        return self.exe.kill is not None or self.exe.exit_state is not None

    def _dispatch(self, run: TaskRun, restart: bool = False) -> None:
        run.state.to(StateType.RUNNING, self._now())
        run.attempts.append(Attempt(State(StateType.RUNNING, [run.state.histories[-1]])))
        self._touch(run)
        self._fx.dispatch.append(run)

    def _end_run(self, run: TaskRun, state: StateType) -> None:
        if run.current.terminated:
            return
        if run.interrupted_as is not None and state in ENDED_BADLY | {StateType.CANCELLED}:
            state = run.interrupted_as  # a sibling's failure interrupted it (`onChildFailure`)
        run.state.to(state, self._now())
        self._touch(run)
        self._ended.append(run)
