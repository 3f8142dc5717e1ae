"""What the executor may know of the world it decides in, handed to it instead of read by it.

A decision depends on the flow, the execution, the event — and on five things outside them: the
time (state histories, log lines, retry and pause due dates), fresh ids (task runs, Subflow
executions), the `ENV_*` variables a template reads as `{{ envs.x }}`, the secrets a template
reads with `secret()`, and the namespace KV store a template reads with `kv()` (a `runIf`, an
`If.condition`, a `ForEach.values` or a flow output may read it, as in Kestra); and where a file it
decides to store (a Loop's iteration outputs with `fetchType: STORE`) will be found. The executor takes
them from a `Surroundings` it is given, never from the process it runs in, so that on a cluster
the decision does not depend on which executor host took it, and so a test can drive one
execution twice and get the same stored result.

Template functions that produce a new value on each call (`now()`, `uuid()`, `id()`,
`randomInt()`) are the flow author's request for a fresh value, not a decision of the engine:
they keep the real clock and randomness (docs/architecture.md, "The engine's inputs").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol


class Surroundings(Protocol):
    """The clock, the id source and the environment an executor decides with.

    The production implementation is `runtime/host.py:Host` (this host's clock, random ids, the
    process's `ENV_*` and `SECRET_*` variables, the KV store of the runtime's storage), handed to
    every executor by the runtimes through `runtime/core.py:executor`.
    """

    def now(self) -> dt.datetime:
        """The time a state move, a log line or a due date is stamped with (UTC)."""
        ...

    def new_id(self) -> str:
        """A new task run or execution id (22 base62 characters)."""
        ...

    @property
    def envs(self) -> Mapping[str, str]:
        """What `{{ envs.<name> }}` reads: the `ENV_<NAME>` variables, names in lower case."""
        ...

    def secret(self, name: str) -> str:
        """The value of secret `name`; raises `LannerError` (with a hint) when there is none."""
        ...

    def kv(self, flow_namespace: str, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        """What `kv(key, namespace, errorOnMissing)` gives in a flow of `flow_namespace`: the value
        with its stored type, searched in the flow's namespace and its parents when `namespace` is
        None; None when missing and not `error_on_missing`, else raises `LannerError`."""
        ...

    def file_uri(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str,
                 name: str) -> str:
        """The `kestra://` URI a file the executor hands over (`Effects.files`) will have in internal
        storage: the executor names the file, the runtime writes it with the decision; raises
        `LannerError` when there is no storage to keep it in."""
        ...
