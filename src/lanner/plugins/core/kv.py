"""`…kv.Set`, `Get`, `GetKeys`, `Delete` and `PurgeKV`: the namespace KV store from a flow.

The store itself is `storage/kv.py` (files in internal storage), reached through the task's
`RunContext.kv_store()`; value types are `model/kv_values.py`. Every task defaults to the flow's
namespace; only the `kv()` function looks in parent namespaces, as in Kestra.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lanner.errors import LannerError
from lanner.model import kv_values
from lanner.model.duration import parse_duration
from lanner.model.property import Bool, Duration, is_template
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.properties import render_bool, render_list, render_str

KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
T = TypeVar("T")


def _store_call(action: Callable[[], T]) -> T:
    """Run a store operation, a refusal (bad key, bad value, existing key) failing the task with
    the store's message instead of a traceback."""
    try:
        return action()
    except LannerError as exc:
        raise TaskFailure(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None


class _KVTask(RunnableTask):
    acts_outside: ClassVar[bool] = False  # writes only Lanner's own storage: safe to run again

    namespace: str | None = None

    def _namespace(self, ctx: RunContext) -> str:
        rendered = render_str(ctx, self.namespace)
        return rendered if rendered else str(ctx.variables.get("flow", {}).get("namespace", ""))

    def _key(self, ctx: RunContext, key: str) -> str:
        return str(ctx.render(key))


class Set(_KVTask):
    """Store a value under a key, with a type (declared or inferred) and an optional TTL."""

    key: str
    value: Any
    overwrite: Bool = True
    ttl: Duration | None = None
    kvType: str | None = None  # noqa: N815 - Kestra's name
    kvDescription: str | None = None  # noqa: N815 - Kestra's name

    @field_validator("kvType")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is None or is_template(value) or value.upper() in KV_TYPES:
            return value.upper() if value is not None and not is_template(value) else value
        raise ValueError(f"unknown kvType `{value}`; use one of " + ", ".join(KV_TYPES))

    def run(self, ctx: RunContext) -> Output:
        namespace, key = self._namespace(ctx), self._key(ctx, self.key)
        if self.value is None:
            raise TaskFailure("`value` is null; a KV value cannot be null (use the Delete task to remove a key)")
        rendered = ctx.render_typed(self.value) if isinstance(self.value, str) else ctx.render(self.value)
        declared = render_str(ctx, self.kvType)
        kv_type = declared.strip().upper() if declared else kv_values.infer(rendered)
        if kv_type not in KV_TYPES:
            raise TaskFailure(f"unknown kvType `{declared}`; use one of " + ", ".join(KV_TYPES))
        value = _store_call(lambda: kv_values.coerce(kv_type, rendered))
        ttl = self._ttl(ctx)
        overwrite = render_bool(ctx, self.overwrite, "overwrite")
        store = ctx.kv_store()
        _store_call(lambda: store.put(namespace, key, kv_type, value, ttl=ttl,
                                      description=render_str(ctx, self.kvDescription), overwrite=overwrite))
        ctx.logger.debug(f"set KV key '{key}' in namespace '{namespace}' ({kv_type})")
        return Output({})

    def _ttl(self, ctx: RunContext) -> dt.timedelta | None:
        if self.ttl is None or isinstance(self.ttl, dt.timedelta):
            return self.ttl
        return _store_call(lambda: parse_duration(str(ctx.render(self.ttl)).strip()))


class Get(_KVTask):
    """Read a key's value into the `value` output (null when missing, unless `errorOnMissing`)."""

    outputs_doc = output_docs(
        value=("any", "The value stored under the key, typed as stored; null when absent (without `errorOnMissing`)"),
    )

    key: str
    errorOnMissing: Bool = False  # noqa: N815 - Kestra's name

    def run(self, ctx: RunContext) -> Output:
        namespace, key = self._namespace(ctx), self._key(ctx, self.key)
        must = render_bool(ctx, self.errorOnMissing, "errorOnMissing")
        store = ctx.kv_store()
        value = _store_call(lambda: store.lookup(namespace, key, namespace, must))
        return Output({"value": value})


class GetKeys(_KVTask):
    """List the live keys of a namespace, optionally only those starting with `prefix`."""

    outputs_doc = output_docs(
        keys=("array", "The keys of the namespace that start with `prefix`"),
    )

    prefix: str | None = None

    def run(self, ctx: RunContext) -> Output:
        namespace = self._namespace(ctx)
        prefix = render_str(ctx, self.prefix) or ""
        store = ctx.kv_store()
        entries = _store_call(lambda: store.entries(namespace))
        return Output({"keys": [e.key for e in entries if e.key.startswith(prefix)]})


class Delete(_KVTask):
    """Remove a key; the `deleted` output says whether there was one."""

    outputs_doc = output_docs(
        deleted=("boolean", "Whether the key existed and was deleted"),
    )

    key: str
    errorOnMissing: Bool = False  # noqa: N815 - Kestra's name

    def run(self, ctx: RunContext) -> Output:
        namespace, key = self._namespace(ctx), self._key(ctx, self.key)
        store = ctx.kv_store()
        deleted = _store_call(lambda: store.delete(namespace, key))
        if not deleted and render_bool(ctx, self.errorOnMissing, "errorOnMissing"):
            raise TaskFailure(f"No value found for key '{key}' in namespace '{namespace}' "
                              "and `errorOnMissing` is set to true")
        return Output({"deleted": deleted})


def _purge(store: Any, namespace: str, expired_only: bool, key_glob: str | None) -> int:
    now = store.clock()
    doomed = [e.key for e in store.entries(namespace, include_expired=True)
              if (not expired_only or e.expired(now)) and (key_glob is None or fnmatch.fnmatchcase(e.key, key_glob))]
    return int(store.purge(namespace, doomed))


class PurgeBehavior(BaseModel):
    """Kestra's `behavior`: which entries of each selected namespace go. Lanner keeps no earlier
    versions of a key, so only `type: key` exists here."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["key", "KEY"] = Field("key", description="`version` is refused: Lanner keeps one version per key")
    expiredOnly: Bool = True  # noqa: N815 - Kestra's name


class PurgeKV(RunnableTask):
    """Delete keys across namespaces (expired ones only, by default); `size` counts them."""

    outputs_doc = output_docs(
        size=("integer", "How many keys were purged"),
    )

    acts_outside: ClassVar[bool] = False  # writes only Lanner's own storage: safe to run again

    keyPattern: str | None = None  # noqa: N815 - Kestra's names
    namespaces: list[str] | str | None = None
    namespacePattern: str | None = None  # noqa: N815
    includeChildNamespaces: Bool = True  # noqa: N815
    behavior: PurgeBehavior | None = None
    expiredOnly: Bool | None = None  # noqa: N815 - deprecated in Kestra 1.1; overrides `behavior`

    def run(self, ctx: RunContext) -> Output:
        store = ctx.kv_store()
        chosen = self._namespaces(ctx, _store_call(store.namespaces))
        expired_only = self._expired_only(ctx)
        key_glob = render_str(ctx, self.keyPattern)
        ctx.logger.info(f"purging {len(chosen)} namespaces: {chosen}")
        size = _store_call(lambda: sum(_purge(store, ns, expired_only, key_glob) for ns in chosen))
        ctx.logger.info(f"purged {size} keys")
        return Output({"size": size})

    def _expired_only(self, ctx: RunContext) -> bool:
        if self.expiredOnly is not None:
            return render_bool(ctx, self.expiredOnly, "expiredOnly")
        return render_bool(ctx, self.behavior.expiredOnly, "behavior.expiredOnly") if self.behavior else True

    def _namespaces(self, ctx: RunContext, existing: list[str]) -> list[str]:
        listed = render_list(ctx, self.namespaces, "namespaces") if self.namespaces is not None else None
        pattern = render_str(ctx, self.namespacePattern)
        if listed is not None and pattern is not None:
            raise TaskFailure("`namespaces` and `namespacePattern` cannot be used together; keep one of them")
        children = render_bool(ctx, self.includeChildNamespaces, "includeChildNamespaces")
        if listed is not None:
            return [ns for ns in existing
                    if any(ns == want or (children and ns.startswith(want + ".")) for want in listed)]
        if pattern is not None:
            return [ns for ns in existing if fnmatch.fnmatchcase(ns, pattern)
                    or (children and any(fnmatch.fnmatchcase(".".join(ns.split(".")[:n]), pattern)
                                         for n in range(1, ns.count(".") + 1)))]
        return existing
