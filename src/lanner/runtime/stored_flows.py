"""Flows as the server and the cluster roles see them: parsed once per (namespace, id, revision).

A revision never changes once stored, so executors and workers parse each at most once and
share the parsed `Flow` between threads (the engine and the worker only read it). Executions
name the revision they run, which every process reads from the `flows` table: no flow file is
needed on the machines of the cluster.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from lanner.errors import LannerError
from lanner.model.flow import Flow
from lanner.storage.flow_store import FlowStore

CACHE_SIZE = 1024


class StoredFlows:
    def __init__(self, engine_or_store: Any) -> None:
        self.store = engine_or_store if isinstance(engine_or_store, FlowStore) else FlowStore(engine_or_store)
        self._cache: collections.OrderedDict[tuple[str, str, int], Flow] = collections.OrderedDict()
        self._lock = threading.Lock()

    def parse(self, namespace: str, flow_id: str, revision: int, source: str) -> Flow:
        from lanner.loading.flows import load_flow

        key = (namespace, flow_id, revision)
        with self._lock:
            flow = self._cache.get(key)
            if flow is not None:
                self._cache.move_to_end(key)
                return flow
        flow = load_flow(source, file=f"<stored flow {namespace}.{flow_id} revision {revision}>")
        flow.revision = revision
        with self._lock:
            self._cache[key] = flow
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return flow

    def get(self, namespace: str, flow_id: str, revision: int | None = None) -> Flow:
        """The given revision (deleted or not), or the latest live one; raises LannerError if none."""
        if revision is None:  # which revision is the latest is asked each time: another process may save one
            revision = self.store.latest_revision_number(namespace, flow_id)
        if revision is not None:
            with self._lock:
                flow = self._cache.get((namespace, flow_id, revision))
            if flow is not None:
                return flow
        stored = self.store.revision(namespace, flow_id, revision) if revision is not None else None
        if stored is None:
            raise LannerError(f"flow `{namespace}.{flow_id}`" + (f" revision {revision}" if revision else "")
                              + " is not in the store", hint="deploy it (POST /api/v1/flows) before running it")
        return self.parse(namespace, flow_id, stored.revision, stored.source)

    def find(self, namespace: str, flow_id: str, revision: int | None = None) -> Flow | None:
        """Like `get`, but None when there is no such flow, or its stored source no longer validates
        (a revision stored by an older version)."""
        try:
            return self.get(namespace, flow_id, revision)
        except LannerError:
            return None

    def holds(self, flow: Flow) -> bool:
        """Is this very object the one stored (or read from the store) as its revision? Then it needs
        no saving again: a revision never changes once stored."""
        if flow.revision is None:
            return False
        with self._lock:
            return self._cache.get((flow.namespace, flow.id, flow.revision)) is flow

    def save(self, flow: Flow) -> int:
        """Store a flow given as a file (tests, `lanner` clients); returns its revision."""
        if not flow.source:
            raise LannerError(f"flow `{flow.namespace}.{flow.id}` has no source to store",
                              hint="load it with lanner.loading.flows.load_flow")
        stored = self.store.save(flow.namespace, flow.id, flow.source)
        flow.revision = stored.revision
        with self._lock:
            self._cache[(flow.namespace, flow.id, stored.revision)] = flow
        return stored.revision

    def all_latest(self) -> list[Flow]:
        out: list[Flow] = []
        for stored in self.store.all_latest():
            try:
                out.append(self.parse(stored.namespace, stored.id, stored.revision, stored.source))
            except LannerError:
                continue  # a revision stored by an older version that no longer validates
        return out
