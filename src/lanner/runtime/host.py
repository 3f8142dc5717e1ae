"""This host's clock, id source, environment and KV store: the surroundings the runtimes give the executor.

The engine reads none of these itself (`engine/surroundings.py` says why); the runtimes hand
every executor `HOST` (through `runtime/core.py`), so the one place that decides which clock, ids,
`ENV_*` and `SECRET_*` variables an execution sees is here. It lives in `runtime/`, the room that
touches the host, and uses the model's clock (`state.now`), ids (`execution.new_id`) and `envs`
variables (`variables.py`). The KV store is the one of the storage the runtime keeps its files in
(`LocalFiles.kv`), so a template the executor renders reads the same keys a task's does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lanner import secrets
from lanner.errors import LannerError
from lanner.model import execution, state, variables

if TYPE_CHECKING:
    from lanner.storage.files import LocalFiles


class Host:
    """The surroundings of a real process: wall clock (UTC), random ids, its environment, and the
    KV store of `files` (none for `HOST`, which tools and tests use without a storage)."""

    __slots__ = ("_files",)

    def __init__(self, files: LocalFiles | None = None) -> None:
        self._files = files

    def now(self) -> dt.datetime:
        return state.now()

    def new_id(self) -> str:
        return execution.new_id()

    @property
    def envs(self) -> Mapping[str, str]:
        return variables.process_envs()

    def secret(self, name: str) -> str:
        return secrets.secret(name)

    def kv(self, flow_namespace: str, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        if self._files is None:
            raise LannerError("this executor was started without a storage, so it has no KV store",
                              hint="use kv() in a task property, or run the flow with `lanner run` or a server")
        return self._files.kv.lookup(flow_namespace, key, namespace, error_on_missing)

    def file_uri(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str,
                 name: str) -> str:
        if self._files is None:
            raise LannerError("this executor was started without a storage, so it cannot store files",
                              hint="run the flow with `lanner run` or a server")
        return self._files.uri(self._files.target(namespace, flow_id, execution_id, task_id, run_id, name))


HOST = Host()
