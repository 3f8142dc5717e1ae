"""Internal storage: files of executions under LANNER_HOME/storage, addressed as `kestra://` URIs."""

from __future__ import annotations

import re
from pathlib import Path

from lanner.errors import LannerError

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class LocalFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str, name: str,
            data: bytes) -> str:
        rel = Path(namespace.replace(".", "/")) / flow_id / "executions" / execution_id / "tasks" / task_id / run_id
        target = self.root / rel / _SAFE.sub("_", Path(name).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return "kestra:///" + target.relative_to(self.root).as_posix()

    def path(self, uri: str) -> Path:
        if not uri.startswith("kestra://"):
            raise LannerError(f"`{uri}` is not an internal-storage URI", hint="use a kestra:///… URI from a task output")
        rel = uri[len("kestra://"):].lstrip("/")
        target = (self.root / rel).resolve()
        if not str(target).startswith(str(self.root.resolve())):
            raise LannerError(f"`{uri}` points outside internal storage", hint="use a URI produced by a task")
        return target

    def get(self, uri: str) -> bytes:
        target = self.path(uri)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise LannerError(f"no file at `{uri}`", hint="check the task output that produced it") from None
