"""Tasks about the execution itself: Fail, Assert, Exit, Labels."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from lanner.plugins.api import (
    ExecutionEffect,
    ExecutionTask,
    Output,
    RunContext,
    RunnableTask,
    TaskFailure,
)


class Fail(RunnableTask):
    """Fail the task, always or when `condition` is true."""

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)

    condition: str | bool | None = None
    errorMessage: str = "Task failure"

    def run(self, ctx: RunContext) -> None:
        message = str(ctx.render(self.errorMessage))
        if self.condition is None:
            raise TaskFailure(message)
        if ctx.is_true(self.condition):
            ctx.logger.error(message)
            raise TaskFailure(message)
        return None


class Assert(RunnableTask):
    """Check conditions; fail listing the ones that did not hold."""

    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)

    conditions: list[str | bool]
    errorMessage: str | None = None

    def run(self, ctx: RunContext) -> Output:
        from lanner.errors import LannerError

        failed = 0
        for cond in self.conditions:
            try:
                ok = ctx.is_true(cond)
            except LannerError as exc:
                ctx.logger.error(f"Assertion `{cond}` could not be evaluated: {exc.message}")
                ok = False
            if not ok:
                failed += 1
                ctx.logger.error(f"Assertion `{cond}` failed!")
        if failed:
            message = f"{failed} assertion(s) failed!"
            if self.errorMessage:
                message += "\n" + str(ctx.render(self.errorMessage))
            raise TaskFailure(message)
        return Output({"success": len(self.conditions), "failed": 0})


class Exit(ExecutionTask):
    """End the execution now with a given state; later tasks do not run."""

    effect: ClassVar[ExecutionEffect | None] = "exit"

    state: Literal["SUCCESS", "WARNING", "KILLED", "FAILED", "CANCELED", "CANCELLED"] = "SUCCESS"


class Labels(ExecutionTask):
    """Add or overwrite labels of the running execution."""

    effect: ClassVar[ExecutionEffect | None] = "labels"

    labels: dict[str, Any] | list[dict[str, Any]]

    def rendered(self, ctx: RunContext) -> dict[str, str]:
        raw = self.labels
        if isinstance(raw, list):
            pairs = {str(ctx.render(i.get("key"))): i.get("value") for i in raw}
        else:
            pairs = {str(ctx.render(k)): v for k, v in raw.items()}
        out: dict[str, str] = {}
        for k, v in pairs.items():
            if k.startswith("system."):
                raise TaskFailure(f"label `{k}`: `system.` labels are set by Lanner itself")
            value = ctx.render(v) if isinstance(v, str) else v
            out[k] = "" if value is None else str(value)
        return out


class Subflow(ExecutionTask):
    """Start an execution of another flow; with `wait`, end with the child's state and outputs."""

    effect: ClassVar[ExecutionEffect | None] = "subflow"

    namespace: str
    flowId: str
    revision: int | None = None
    inputs: dict[str, Any] = {}
    labels: dict[str, Any] | list[dict[str, Any]] = {}
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False
    scheduleDate: str | None = None
    outputs: dict[str, Any] | None = None  # Kestra's deprecated way to map outputs; still rendered


class Pause(ExecutionTask):
    """Pause the execution until resumed (`lanner execution resume ID`) or `pauseDuration` elapses."""

    effect: ClassVar[ExecutionEffect | None] = "pause"

    pauseDuration: str | None = None
    delay: str | None = None  # Kestra's older name of pauseDuration
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = "RESUME"
    onResume: list[dict[str, Any]] | None = None
    onPause: Any = None


class Kill(ExecutionTask):
    """Kill the current execution (its finally blocks still run in Lanner)."""

    effect: ClassVar[ExecutionEffect | None] = "kill"

    propagateKill: bool = False
    executionId: str | None = None
