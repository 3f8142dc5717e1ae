"""What the `…trigger.Toggle` task asks of the runtime: enable or disable a trigger of a flow.

The trigger's state lives in the trigger store (`storage/trigger_store.py`). Where a scheduler
runs in this process (`lanner server local`) it holds that state in memory and is its only
writer, so the toggle goes through it (`use_scheduler`); elsewhere the store is written directly:
cluster schedulers read it back every few seconds, and an embedded one loads it when it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lanner.errors import LannerError
from lanner.model.flow import Flow

if TYPE_CHECKING:  # the store (and SQLAlchemy under it) is imported on the first toggle, not by every run
    from lanner.storage.trigger_store import TriggerKey, TriggerStore


class TriggerToggles:
    def __init__(self, find_flow: Callable[[str, str], Flow | None], store: Callable[[], TriggerStore]) -> None:
        self._find_flow = find_flow
        self._store = store  # made on first use: most runs toggle nothing
        self._scheduler: Callable[[TriggerKey, bool], Any] | None = None

    def use_scheduler(self, set_disabled: Callable[[TriggerKey, bool], Any]) -> None:
        self._scheduler = set_disabled

    def toggle(self, namespace: str, flow_id: str, trigger_id: str, enabled: bool) -> None:
        flow = self._find_flow(namespace, flow_id)
        if flow is None:
            raise LannerError(f"Unable to find flow {namespace}.{flow_id}",
                              hint="check `namespace` and `flowId`; the flow must be stored (saved or run once)")
        ids = [t.id for t in flow.triggers]
        if trigger_id not in ids:
            raise LannerError(f"Unable to find trigger {trigger_id} for the flow {namespace}.{flow_id}",
                              hint=f"its triggers: {', '.join(ids) or 'none'}")
        key = (namespace, flow_id, trigger_id)
        if self._scheduler is not None:
            self._scheduler(key, not enabled)
            return
        from lanner.runtime.scheduler import toggled

        store = self._store()
        store.put(key, toggled(store.get(key) or {}, not enabled))
