"""`…core.execution.Resume`: resume a PAUSED execution, by default the current one (a Pause in
one branch of a Parallel, resumed from another branch).

The worker's context carries the runtime's command channel as `ctx.executions`
(`runtime/task_commands.py`): the resume is handed to the execution's owner, never applied here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import model_validator

from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.properties import render_str


class ExecutionCommands(Protocol):
    def resume(self, execution_id: str, namespace: str | None, flow_id: str | None,
               inputs: dict[str, Any] | None = None) -> dict[str, Any]: ...


class Resume(RunnableTask):
    """Outputs the resumed execution's `id`, `namespace` and `flowId` (Kestra puts them in the
    execution's `resumedExecution` variable instead). `inputs` are checked against the paused
    task's `onResume` before the resume is sent: invalid ones fail this task, and the execution
    stays PAUSED."""

    outputs_doc = output_docs(
        id=("string", "The id of the execution resumed"),
        namespace=("string", "Its namespace"),
        flowId=("string", "Its flow id"),
    )

    # The resume is a stored command: kept once sent, so a crash does not send it twice.
    acts_outside: ClassVar[bool] = True

    executionId: str | None = None
    namespace: str | None = None
    flowId: str | None = None
    inputs: dict[str, Any] | str | None = None  # the Pause's `onResume` values; a template may give the map

    @model_validator(mode="after")
    def _id_with_filters(self) -> Resume:
        if self.executionId is None and (self.namespace is not None or self.flowId is not None):
            raise ValueError("`namespace` and `flowId` only check the execution `executionId` names; "
                             "set `executionId` too, or remove them to resume the current execution")
        return self

    def run(self, ctx: RunContext) -> Output:
        commands: ExecutionCommands | None = getattr(ctx, "executions", None)
        if commands is None:
            raise TaskFailure("resuming executions is not available in this runtime")
        target = render_str(ctx, self.executionId) or ctx.execution_id
        inputs = ctx.render_typed(self.inputs) if self.inputs is not None else None
        if inputs is not None and not isinstance(inputs, dict):
            raise TaskFailure(f"`inputs` must be a map of the paused task's `onResume` inputs, got {inputs!r}")
        resumed = commands.resume(target, render_str(ctx, self.namespace), render_str(ctx, self.flowId), inputs)
        ctx.logger.info(f"Resume of execution {resumed['id']} ({resumed['namespace']}.{resumed['flowId']}) sent "
                        "to the process that runs it")
        return Output(resumed)
