"""Drives the pure executor with fabricated worker results: no threads, no storage, no templates run."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from lanner.engine.executor import Effects, Executor
from lanner.loading.flows import load_flow
from lanner.model.execution import Execution, TaskRun
from lanner.model.results import WorkerResult
from lanner.model.state import StateType
from lanner.runtime.host import HOST

Outcome = StateType | Callable[[TaskRun], StateType]


class Driver:
    def __init__(self, yaml_text: str, outcomes: dict[str, Outcome] | None = None, **executor: Any) -> None:
        self.flow = load_flow(textwrap.dedent(yaml_text))
        self.exe = Execution(id="exe1", namespace=self.flow.namespace, flow_id=self.flow.id, flow_revision=1)
        self.executor = Executor(self.flow, self.exe, **{"surroundings": HOST, **executor})
        self.outcomes = outcomes or {}
        self.pending: list[TaskRun] = []
        self.order: list[str] = []  # task ids in the order the worker ran them
        self.effects: list[Effects] = []
        self.retries: list[str] = []
        self.started = False

    def _take(self, fx: Effects) -> Effects:
        self.effects.append(fx)
        self.pending.extend(fx.dispatch)
        self.retries.extend(r for r, _ in fx.retries)
        for run_id in fx.cancel:
            for run in list(self.pending):
                if run.id == run_id:
                    self.pending.remove(run)
                    self._take(self.executor.on_result(
                        WorkerResult(self.exe.id, run.id, len(run.attempts), StateType.KILLED)))
        return fx

    def start(self) -> Driver:
        self.started = True
        self._take(self.executor.start())
        return self

    def step(self) -> bool:
        """Finish the oldest dispatched run; returns False when nothing is pending."""
        if not self.pending:
            if self.retries:
                self._take(self.executor.on_retry_due(self.retries.pop(0)))
                return True
            return False
        run = self.pending.pop(0)
        self.order.append(run.task_id)
        outcome = self.outcomes.get(run.task_id, StateType.SUCCESS)
        state = outcome(run) if callable(outcome) else outcome
        self._take(self.executor.on_result(WorkerResult(self.exe.id, run.id, len(run.attempts), state)))
        return True

    def run(self, max_steps: int = 10_000) -> Execution:
        if not self.started:
            self.start()
        for _ in range(max_steps):
            if not self.step():
                break
        return self.exe

    def kill(self, hard: bool = False) -> Effects:
        return self._take(self.executor.kill(hard=hard))

    # -- reading the outcome ------------------------------------------------------------------

    def states(self) -> dict[str, str]:
        return {r.task_id if r.value is None else f"{r.task_id}[{r.value}]": r.current.value
                for r in self.exe.task_runs}

    def logs(self, level: str) -> list[str]:
        return [e.message for fx in self.effects for e in fx.logs if e.level == level]

    def created_order(self) -> list[str]:
        return [r.task_id for r in self.exe.task_runs]

    # -- pauses and crashes -------------------------------------------------------------------

    def resume(self, run_id: str | None = None, state: StateType = StateType.SUCCESS) -> Execution:
        """Resume paused runs (all by default) as `lanner execution resume` does, then run on."""
        self._take(self.executor.resume(run_id, state))
        return self.run()

    def fire_pause_timers(self) -> Execution:
        """Every pause timer armed so far fires (a duration or timeout ran out), then run on."""
        for run_id, _, state in [r for fx in self.effects for r in fx.resumes]:
            self._take(self.executor.resume(run_id, state))
        return self.run()

    def crash(self) -> Effects:
        """A new executor from the stored execution takes over, as after a crash of its process:
        what was dispatched before is lost, what it dispatches again is pending."""
        self.executor = Executor(self.flow, self.exe, surroundings=self.executor.surroundings)
        self.pending.clear()
        return self._take(self.executor.start())
