"""Kestra's `…core.state.Set|Get|Delete`: a small JSON map kept between executions of a flow.

A state is named (`name`, `default` by default) and belongs to the flow, or with `namespace: true`
to the whole namespace; inside a `ForEach` it is kept per iteration value (`taskrunValue`, on by
default) so each value has its own. It lives in internal storage apart from executions' files
(`storage/files.py:state_target`), not in the database. As in Kestra, two executions setting the
same state at once are not isolated from each other: the last write wins.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from lanner.model.maps import deep_merge
from lanner.model.property import Bool
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.core.storage_service import storage_of
from lanner.plugins.properties import render_bool, render_str

DEFAULT_KEY = "default"


class _State(RunnableTask):
    acts_outside: ClassVar[bool] = False  # Lanner's own storage only

    name: str = "default"
    namespace: Bool = False
    taskrunValue: Bool = True

    def where(self, ctx: RunContext) -> tuple[str, bool, str]:
        """(name, shared by the namespace, per-iteration key) of the state this task addresses."""
        name = render_str(ctx, self.name) or ""
        if not name:
            raise TaskFailure("`name` rendered empty; a state needs a name")
        shared = render_bool(ctx, self.namespace, "namespace")
        key = DEFAULT_KEY
        if render_bool(ctx, self.taskrunValue, "taskrunValue"):
            value = (ctx.variables.get("taskrun") or {}).get("value")
            if value is not None:
                key = hashlib.sha256(str(value).encode()).hexdigest()[:32]
        return name, shared, key


class Set(_State):
    """Merge `data` into the state: new keys are added, existing ones replaced."""

    outputs_doc = output_docs(
        count=("integer", "How many keys the state holds after the merge"),
        uri=("string", "The `kestra://` URI of the state file"),
    )

    data: dict[str, Any] | str | None = None

    def run(self, ctx: RunContext) -> Output:
        name, shared, key = self.where(ctx)
        data = self._data(ctx)
        storage = storage_of(ctx)
        merged = deep_merge(storage.get_state(name, shared, key) or {}, data)
        uri = storage.put_state(name, shared, key, merged)
        return Output({"count": len(merged), "uri": uri})

    def _data(self, ctx: RunContext) -> dict[str, Any]:
        if self.data is None:
            return {}
        if isinstance(self.data, str):
            rendered = ctx.render_typed(self.data)
            if not isinstance(rendered, dict):
                raise TaskFailure(f"`data` must render to a map, got a {type(rendered).__name__}")
            return rendered
        # Kestra renders each value to its text, as every templated map property.
        return {str(ctx.render(k)): ctx.render(v) for k, v in self.data.items()}


class Get(_State):
    """Read the state (`data`, and `count` keys); an unknown state is empty unless `errorOnMissing`."""

    outputs_doc = output_docs(
        count=("integer", "How many keys the state holds"),
        data=("object", "The state's keys and values"),
    )

    errorOnMissing: Bool = False

    def run(self, ctx: RunContext) -> Output:
        name, shared, key = self.where(ctx)
        data = storage_of(ctx).get_state(name, shared, key)
        if data is None:
            if render_bool(ctx, self.errorOnMissing, "errorOnMissing"):
                raise TaskFailure(f"Unable to find the state file '{name}'")
            data = {}
        return Output({"count": len(data), "data": data})


class Delete(_State):
    """Delete the state; `deleted` says whether there was one (a missing one fails with `errorOnMissing`)."""

    outputs_doc = output_docs(
        deleted=("boolean", "Whether the state file existed and was deleted"),
    )

    errorOnMissing: Bool = False

    def run(self, ctx: RunContext) -> Output:
        name, shared, key = self.where(ctx)
        deleted = storage_of(ctx).delete_state(name, shared, key)
        if not deleted and render_bool(ctx, self.errorOnMissing, "errorOnMissing"):
            raise TaskFailure(f"Unable to find the state file '{name}'", outputs={"deleted": False})
        return Output({"deleted": deleted})
