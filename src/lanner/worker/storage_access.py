"""Internal storage as the tasks of one execution reach it: files by URI, the execution's own
files, and the task states of its namespace and flow (`…storage.*`, `…state.*`).

The worker must not import `storage/` (import-linter), so this wraps the storage object the
runtime handed the worker (`storage/files.py:LocalFiles`) and fixes the execution's identity:
a task names files and states, never the namespace, flow or execution it acts for.
"""

from __future__ import annotations

import json
from typing import Any

from lanner.errors import LannerError


class ExecutionStorage:
    def __init__(self, files: Any, namespace: str, flow_id: str, execution_id: str) -> None:
        self._files = files
        self._namespace = namespace
        self._flow_id = flow_id
        self._execution_id = execution_id

    def delete(self, uri: str) -> bool:
        """Delete a stored file; whether there was one."""
        return bool(self._files.remove(uri))

    def size(self, uri: str) -> int:
        return int(self._files.size(uri))

    def purge_execution(self) -> list[str]:
        """Delete every file of this execution; their URIs."""
        return list(self._files.purge_execution(self._namespace, self._flow_id, self._execution_id))

    def get_state(self, name: str, shared: bool, value_key: str) -> dict[str, Any] | None:
        """The state's data, or None when there is no such state."""
        target = self._state(name, shared, value_key)
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LannerError(f"state `{name}` is not readable JSON ({exc.msg})",
                              hint="delete it (…state.Delete) and set it again") from None
        if not isinstance(data, dict):
            raise LannerError(f"state `{name}` holds a {type(data).__name__}, not a map",
                              hint="delete it (…state.Delete) and set it again")
        return data

    def put_state(self, name: str, shared: bool, value_key: str, data: dict[str, Any]) -> str:
        """Replace the state's data; its `kestra://` URI."""
        body = json.dumps(data, separators=(",", ":"), default=str).encode()
        return str(self._files.put_state(self._state(name, shared, value_key), body))

    def delete_state(self, name: str, shared: bool, value_key: str) -> bool:
        return bool(self._files.remove_state(self._state(name, shared, value_key)))

    def _state(self, name: str, shared: bool, value_key: str) -> Any:
        return self._files.state_target(self._namespace, None if shared else self._flow_id, name, value_key)
