"""Tasks about the execution itself: Fail, Assert, Exit, Labels."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import ValidationInfo, field_validator, model_validator

from lanner.model.flow import Input
from lanner.model.property import is_template
from lanner.plugins.api import (
    ExecutionEffect,
    ExecutionTask,
    FlowableTask,
    Group,
    Output,
    Resolution,
    RunContext,
    RunnableTask,
    Task,
    TaskFailure,
    output_docs,
)
from lanner.plugins.core.refusals import refuse_when_set, refusing

SCHEDULE_DATE_REFUSED = ("is not supported by Lanner: it has no scheduled start for an execution, "
                         "so the child would start at once instead of at that date; remove it, or start the child "
                         "flow at that date with a Schedule trigger")


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

    outputs_doc = output_docs(
        success=("integer", "How many conditions held"),
        failed=("integer", "How many conditions failed (any failed condition fails the task)"),
    )

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
    """Add or overwrite labels of the running execution.

    `labels` is a map, a list of `{key, value}`, or a template rendering to the JSON text of
    either (Kestra reads only a map from a template; a list is accepted here too). A map or list
    value becomes its JSON text, anything else its text.
    """

    effect: ClassVar[ExecutionEffect | None] = "labels"

    labels: dict[str, Any] | list[dict[str, Any]] | str

    def rendered(self, ctx: RunContext) -> dict[str, str]:
        raw = _label_source(ctx, self.labels)
        if isinstance(raw, list):
            pairs: dict[str, Any] = {}
            for item in raw:
                if not isinstance(item, dict) or "key" not in item:
                    raise TaskFailure(f"label `{json.dumps(item, default=str)[:80]}` is not a `{{key, value}}` map")
                pairs[str(ctx.render(item["key"]))] = item.get("value")
        else:
            pairs = {str(ctx.render(k)): v for k, v in raw.items()}
        out: dict[str, str] = {}
        for k, v in pairs.items():
            if k.startswith("system."):
                raise TaskFailure(f"label `{k}`: `system.` labels are set by Lanner itself")
            value = ctx.render(v)
            if isinstance(value, (dict, list)):
                out[k] = json.dumps(value, separators=(",", ":"), default=str)
            else:
                out[k] = "" if value is None else str(value)
        return out


def _label_source(ctx: RunContext, labels: dict[str, Any] | list[dict[str, Any]] | str) -> Any:
    """The labels as a map or a list: a template is rendered and its text read as JSON."""
    if not isinstance(labels, str):
        return labels
    rendered = ctx.render_typed(labels)
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise TaskFailure(f"`labels` rendered to `{rendered[:80]}`, which is not JSON ({exc.msg}); "
                              "it must be a JSON map of labels or a list of {key, value}") from None
    if not isinstance(rendered, (dict, list)):
        raise TaskFailure(f"`labels` rendered to a {type(rendered).__name__}; it must be a map of labels "
                          "or a list of {key, value}")
    return rendered


class ChildFlow(ExecutionTask):
    """What names the child executions a task starts, and how it waits for them (Kestra's
    ChildFlowInterface): shared by Subflow and ForEachItem's `<id>_items`."""

    namespace: str
    flowId: str
    revision: int | None = None
    labels: dict[str, Any] | list[dict[str, Any]] = {}
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False


class Subflow(ChildFlow):
    """Start an execution of another flow; with `wait`, end with the child's state and outputs."""

    outputs_doc = output_docs(
        executionId=("string", "The id of the child execution"),
        state=("string", "The final state of the child execution (with `wait: true`)"),
        outputs=("object", "The child flow's declared outputs, or else this task's `outputs` map (with `wait: true`)"),
    )

    effect: ClassVar[ExecutionEffect | None] = "subflow"

    inputs: dict[str, Any] = {}
    scheduleDate: Any = None  # refused below: Kestra's, named so that the refusal says why
    restartBehavior: Any = None
    outputs: dict[str, Any] | None = None  # Kestra's deprecated way to map outputs; still rendered

    refused: ClassVar[dict[str, str]] = {
        "scheduleDate": SCHEDULE_DATE_REFUSED,
        "restartBehavior": "is not supported by Lanner: a Subflow is not restarted in place "
                           "(a `retry` on the Subflow starts a new child); remove it",
    }

    check_refused = refusing("scheduleDate", "restartBehavior")

    @model_validator(mode="after")
    def _outputs_need_wait(self) -> Subflow:
        if self.outputs and not self.wait:
            raise ValueError("`outputs` is rendered when the child execution ends, so only with `wait: true`; "
                             "remove `outputs` or `wait: false`")
        return self


# What a Pause with a duration ends in once the duration is over, by its `behavior`.
PAUSE_ENDS: tuple[str, ...] = ("RESUME", "WARN", "FAIL", "CANCEL")


class Pause(ExecutionTask, FlowableTask):
    """Pause the execution until resumed (`lanner execution resume ID`, the API, the UI, the Resume
    task) or `pauseDuration` elapses.

    `onResume` declares inputs, as a flow declares its own: a manual resume must give valid values
    (defaults fill the others) or it is refused and the execution stays PAUSED; the values reach the
    next tasks as `outputs.<id>.onResume.<input>`, with who resumed and when in `outputs.<id>.resumed`.
    `onPause` is one runnable task started, as the Pause's first child, when the pause starts
    waiting; it runs while the execution is PAUSED, and the Pause counts it once the pause is
    over (waiting for it if it still runs; a failure of it fails the Pause, as Kestra's first
    child would). Kestra's deprecated `tasks` still work as there: a block that runs once the
    pause is over (resumed, or its duration ended with RESUME or WARN), and the Pause ends with
    the block's state. A pause that ends failed (its `timeout`, `behavior: FAIL`) or cancelled runs
    no block but still its own `errors` and `finally`. The executor applies it as an execution
    task (by its `effect`, `engine/pauses.py`); after the pause it resolves its children
    (`phase`) as it does a flowable's.
    """

    outputs_doc = output_docs(
        onResume=("object", "The values given for the `onResume` inputs when the execution was resumed"),
        resumed=("object", "Who resumed the execution (`by`, null without a signed-in user) and when (`on`)"),
    )

    effect: ClassVar[ExecutionEffect | None] = "pause"

    pauseDuration: str | None = None
    delay: str | None = None  # Kestra's older name of pauseDuration
    behavior: str = "RESUME"  # RESUME, WARN, FAIL, CANCEL, or a template rendered when the pause starts
    onResume: list[Input] | None = None  # typed when resumed (`model/resume_inputs.py`)
    onPause: Task | None = None  # one runnable task, started when the pause starts waiting
    tasks: list[Task] | None = None  # deprecated in Kestra, still run there: a block after the pause

    @field_validator("behavior")
    @classmethod
    def _behavior_or_template(cls, value: str) -> str:
        """Kestra's `behavior` is a Property: one of the four, or a template rendered when the pause starts."""
        if value in PAUSE_ENDS or is_template(value):
            return value
        raise ValueError(f"`{value}` is not one of {', '.join(PAUSE_ENDS)}, nor a template rendering to one")

    @field_validator("onResume")
    @classmethod
    def _unique_resume_inputs(cls, value: list[Input] | None) -> list[Input] | None:
        return unique_inputs(value)

    @field_validator("onPause", mode="before")
    @classmethod
    def _one_on_pause_task(cls, value: Any) -> Any:
        if isinstance(value, list):
            raise ValueError("is one task (a map with `id` and `type`), not a list: Kestra's Pause runs a single "
                             "task when it starts waiting; keep one, or put the others in `tasks` (after the pause) "
                             "or just before the Pause")
        return value

    @field_validator("onPause")
    @classmethod
    def _runnable_on_pause(cls, value: Task | None) -> Task | None:
        if value is not None and value.kind != "runnable":
            raise ValueError(f"`{value.type}` ({value.id}) is not a runnable task: `onPause` is handed to a worker "
                             "when the pause starts waiting, as in Kestra, so it cannot be a flowable or a task "
                             "that changes the execution; use a runnable task (a Log, a script, a request…)")
        return value

    def child_lists(self) -> dict[str, list[Task]]:
        """`onPause` is a single task: listed as a list of one, so the flow's index and graph know it."""
        out = super().child_lists()
        if self.onPause is not None:
            out = {"onPause": [self.onPause], **out}
        return out

    def resolve(self, ctx: RunContext) -> Resolution:
        return self.phase(over=True)

    def phase(self, over: bool) -> Resolution:
        """The children for where the run is: `onPause` alone while it waits (or when the pause ended
        failed); then, once the pause is over, also the `tasks` block, as a second group that starts
        when `onPause` ended. The group of each child stays the same across phases, so a scope rebuilt
        after a crash finds each child where it was created."""
        groups = [Group([self.onPause])] if self.onPause is not None and not self.onPause.disabled else []
        if over:
            groups.append(Group([t for t in self.tasks or [] if not t.disabled]))
        return Resolution(groups)


def unique_inputs(value: list[Input] | None) -> list[Input] | None:
    """A task's input list (Pause `onResume`, Approval `inputs`) names each input once."""
    ids = [i.id for i in value or []]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"declares `{repeated[0]}` more than once; give each input its own id")
    return value


class Kill(ExecutionTask):
    """Kill the current execution (its finally blocks still run in Lanner)."""

    effect: ClassVar[ExecutionEffect | None] = "kill"

    propagateKill: Any = None  # refused below unless true: Lanner's kill always reaches the children
    executionId: Any = None

    refused: ClassVar[dict[str, str]] = {
        "propagateKill": "`false` is not supported by Lanner: killing an execution always kills "
                         "the child executions its Subflow and ForEachItem tasks wait for (Kestra's default); "
                         "remove it",
        "executionId": "is not supported by Lanner: the Kill task kills its own execution; remove "
                       "it, and kill another execution with `lanner execution kill ID` or the API",
    }

    @field_validator("propagateKill", "executionId")
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name == "propagateKill" and value in (None, True, "true", "True"):
            return value
        return refuse_when_set(cls.refused, value, info)
