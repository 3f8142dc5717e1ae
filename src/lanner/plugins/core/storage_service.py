"""What the storage and state tasks need beyond `RunContext.put_file`/`read_file`.

The worker's context carries it as `ctx.storage` (`worker/storage_access.py`); it is not part of
`RunContext` itself because flowables, resolved by the executor, never touch storage.
"""

from __future__ import annotations

from typing import Any, Protocol

from lanner.plugins.api import RunContext, TaskFailure


class InternalStorage(Protocol):
    def delete(self, uri: str) -> bool: ...
    def size(self, uri: str) -> int: ...
    def purge_execution(self) -> list[str]: ...
    def get_state(self, name: str, shared: bool, value_key: str) -> dict[str, Any] | None: ...
    def put_state(self, name: str, shared: bool, value_key: str, data: dict[str, Any]) -> str: ...
    def delete_state(self, name: str, shared: bool, value_key: str) -> bool: ...


def storage_of(ctx: RunContext) -> InternalStorage:
    storage: InternalStorage | None = getattr(ctx, "storage", None)
    if storage is None:
        raise TaskFailure("internal storage is not reachable from this context; the task must run on a worker")
    return storage

