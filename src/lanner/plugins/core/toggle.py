"""`…core.trigger.Toggle` (old name `…core.tasks.trigger.Toggle`): enable or disable a trigger of
a flow, by default of the flow that runs the task.

The runtime does it (`runtime/trigger_toggles.py`, reached as `ctx.triggers`): through the
scheduler that holds the trigger's state when one runs in the same process.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from lanner.model.property import Bool
from lanner.plugins.api import RunContext, RunnableTask, TaskFailure
from lanner.plugins.properties import render_bool, render_str


class Toggling(Protocol):
    def toggle(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None: ...


class Toggle(RunnableTask):
    """No outputs, as in Kestra. A trigger that is not declared by the flow fails the task."""

    acts_outside: ClassVar[bool] = False  # Lanner's own trigger store; toggling twice is harmless

    trigger: str
    enabled: Bool = False
    namespace: str | None = None
    flowId: str | None = None

    def run(self, ctx: RunContext) -> None:
        service: Toggling | None = getattr(ctx, "triggers", None)
        if service is None:
            raise TaskFailure("toggling triggers is not available in this runtime")
        flow = ctx.variables.get("flow") or {}
        namespace = render_str(ctx, self.namespace) or str(flow.get("namespace"))
        flow_id = render_str(ctx, self.flowId) or str(flow.get("id"))
        trigger = render_str(ctx, self.trigger) or ""
        enabled = render_bool(ctx, self.enabled, "enabled")
        service.toggle(namespace, flow_id, trigger, enabled)
        ctx.logger.info(f"Trigger {trigger} of {namespace}.{flow_id} {'enabled' if enabled else 'disabled'}")
