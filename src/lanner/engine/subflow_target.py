"""Where a child execution goes and with which labels: rendered the same way for a Subflow and
for each batch of a ForEachItem, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanner.engine.context import EngineContext


def render_target(ctx: EngineContext, task: Any, parent_labels: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    """The child's namespace, flow id and labels (the parent's own first with `inheritLabels`,
    `system.` ones excepted). Raises LannerError when a template cannot be rendered."""
    raw_labels = task.labels or {}
    if isinstance(raw_labels, list):
        raw_labels = {i.get("key"): i.get("value") for i in raw_labels}
    labels = {str(k): str(v) for k, v in ctx.render(raw_labels).items()}
    namespace, flow_id = str(ctx.render(task.namespace)), str(ctx.render(task.flowId))
    if task.inheritLabels:
        labels = {**{k: v for k, v in parent_labels.items() if not k.startswith("system.")}, **labels}
    return namespace, flow_id, labels
