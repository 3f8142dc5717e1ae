"""`…core.flow.Approval`: a review the execution waits for, decided APPROVED or DENIED by a person
(or EXPIRED by its `timeout`), each decision with its own block of tasks.

The task only declares; the executor carries it out as an execution task (its `effect`,
`engine/execution_tasks.py`): `onWait` runs first, then the run pauses until a decision arrives
(`lanner execution approve|deny ID`, `POST /api/v1/executions/{id}/actions/approve|deny`, the UI); the
decided block runs with the Approval's own `errors` and `finally`, and the matching `…Behavior`
maps the block's good end onto the run and the execution. What the decision carries is typed
before it is sent (`model/approval_decisions.py`), so the executor only stores checked values.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import field_validator

from lanner.model.flow import Input
from lanner.plugins.api import (
    ExecutionEffect,
    ExecutionTask,
    FlowableTask,
    Group,
    Resolution,
    RunContext,
    Task,
    output_docs,
)
from lanner.plugins.core.execution import unique_inputs
from lanner.plugins.core.refusals import refusing

Behavior = Literal["CONTINUE", "WARN", "FAIL", "SUCCEED", "CANCEL", "KILL"]


class Approval(ExecutionTask, FlowableTask):
    """Wait for a reviewer's decision; run `onApprove` or `onDeny` (nothing when it expired).

    Outputs (`outputs.<id>.…`): `decision` (APPROVED, DENIED, EXPIRED), `auto` (autoApprove),
    `by`, `on`, `comment`, `inputs` (the reviewer's values, typed against `inputs`) and `due`
    (when it expires, with a `timeout`). A block that ends badly keeps its own state; one that
    ends well is mapped by the decision's behaviour: CONTINUE keeps it, WARN/FAIL mark the run,
    SUCCEED/CANCEL/KILL end the whole execution so (its `finally` blocks still run).
    """

    outputs_doc = output_docs(
        decision=("string", "APPROVED, DENIED or EXPIRED"),
        auto=("boolean", "Whether `autoApprove` approved it without waiting"),
        by=("string", "Who decided (null when no user was signed in, or on expiry)"),
        on=("string", "When the decision was reached (ISO 8601)"),
        comment=("string", "The comment given with the decision"),
        inputs=("object", "The values given for the approval's inputs"),
        due=("string", "When the approval expires (ISO 8601); null without a timeout"),
    )

    effect: ClassVar[ExecutionEffect | None] = "approval"

    inputs: list[Input] | None = None
    onWait: list[Task] | None = None
    onApprove: list[Task] | None = None
    onDeny: list[Task] | None = None
    autoApprove: bool | str = False  # a template is rendered per execution
    commentRequired: Literal["NEVER", "ALWAYS", "ON_DENY", "ON_APPROVE"] = "NEVER"
    approveBehavior: Behavior = "CONTINUE"
    denyBehavior: Behavior = "CANCEL"
    expireBehavior: Behavior = "CANCEL"
    decisions: Any = None  # refused below: Lanner's UI and CLI name the decisions Approve and Deny

    refused: ClassVar[dict[str, str]] = {
        "decisions": "is not supported by Lanner: its CLI, API and UI name the two decisions approve and "
                     "deny; remove it",
    }

    check_refused = refusing("decisions")

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, value: list[Input] | None) -> list[Input] | None:
        return unique_inputs(value)

    @property
    def onResume(self) -> list[Input] | None:
        """The reviewer's fields, under the name resume typing reads (`model/resume_inputs.py`)."""
        return self.inputs

    def resolve(self, ctx: RunContext) -> Resolution:
        """Before a decision: `onWait` (the engine asks `phase` with the stored decision instead)."""
        return self.phase(None, auto=False)

    def phase(self, decision: str | None, auto: bool) -> Resolution:
        """The children for the run's stored decision: `onWait` alone before it; after it, `onWait`
        (already run, or skipped when approved automatically) then the decided block, one after
        the other, so that a scope rebuilt after a crash finds each child where it was created."""
        wait = Group([] if auto else _enabled(self.onWait))
        if decision is None:
            return Resolution([wait])
        block = {"APPROVED": self.onApprove, "DENIED": self.onDeny}.get(decision)
        return Resolution([wait, Group(_enabled(block))])

    def behavior(self, decision: str) -> Behavior:
        return {"APPROVED": self.approveBehavior, "DENIED": self.denyBehavior}.get(decision, self.expireBehavior)


def _enabled(tasks: list[Task] | None) -> list[Task]:
    return [t for t in tasks or [] if not t.disabled]
