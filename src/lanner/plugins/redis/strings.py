"""`io.kestra.plugin.redis.string.Set`, `…Get` and `…Delete` (aliases `io.kestra.plugin.redis.Set|Get|Delete`).

Outputs keep Kestra's shape, including what is *absent*: Kestra serializes outputs without nulls,
so `Get` of a missing key has no `data` at all (flows test `outputs.get contains 'data'`), and
`Set` has an `oldValue` only when `get: true` found a previous value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from lanner.model.property import Bool, Duration
from lanner.plugins.api import Output, RunContext, TaskFailure, output_docs
from lanner.plugins.properties import render_bool, render_list, render_str
from lanner.plugins.redis.connection import RedisConnection
from lanner.plugins.redis.values import (
    SerdeType,
    deserialize,
    render_datetime,
    render_duration,
    render_serde,
    serialize,
)


class SetOptions(BaseModel):
    """The `options` of `Set`, as in Redis' SET command (PX, PXAT, NX, XX, KEEPTTL)."""

    model_config = ConfigDict(extra="forbid")

    expirationDuration: Duration | None = None
    expirationDate: dt.datetime | str | None = None
    mustNotExist: Bool = False
    mustExist: Bool = False
    keepTtl: Bool = False


class Set(RedisConnection):
    """Store a value under a key, optionally returning the value it replaced."""

    outputs_doc = output_docs(
        oldValue=("string", "The value the key held before (with `get: true` and a key that existed)"),
    )

    key: str
    value: Any  # Kestra's Property<Object>: text, a template, or a YAML structure (stored as JSON)
    options: SetOptions | None = None
    get: Bool = False
    serdeType: SerdeType = "STRING"

    def run(self, ctx: RunContext) -> Output:
        key = render_str(ctx, self.key) or ""
        serde = render_serde(ctx, self.serdeType)
        value = ctx.render(self.value) if isinstance(self.value, (str, dict, list)) else self.value
        payload = serialize(value, serde, "value")
        get = render_bool(ctx, self.get, "get")
        arguments = self._set_arguments(ctx)
        with self.session(ctx) as client:
            result = client.set(key, payload, get=get, **arguments)
        outputs: dict[str, Any] = {}
        if get and result is not None:
            outputs["oldValue"] = result
        if not get and result is None:
            condition = "did not exist" if arguments.get("xx") else "already existed"
            ctx.logger.info(f"Key `{key}` was not set: it {condition}")
        else:
            ctx.logger.debug(f"Key `{key}` set")
        return Output(outputs)

    @field_validator("value")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("`value` must not be null; "
                             "give the text (or, with serdeType JSON, the structure) to store")
        return value

    def _set_arguments(self, ctx: RunContext) -> dict[str, Any]:
        """redis-py's SET keywords from `options` (each option may be a template)."""
        options = self.options
        if options is None:
            return {}
        duration = render_duration(ctx, options.expirationDuration, "options.expirationDuration")
        date = render_datetime(ctx, options.expirationDate, "options.expirationDate")
        keep_ttl = render_bool(ctx, options.keepTtl, "options.keepTtl")
        must_exist = render_bool(ctx, options.mustExist, "options.mustExist")
        must_not_exist = render_bool(ctx, options.mustNotExist, "options.mustNotExist")
        if keep_ttl and (duration is not None or date is not None):
            raise TaskFailure("Invalid Redis options: `keepTtl` cannot be used with `expirationDuration` or "
                              "`expirationDate`; either keep the existing TTL or set a new expiration")
        if must_exist and must_not_exist:
            raise TaskFailure("Invalid Redis options: `mustExist` and `mustNotExist` cannot both be true")
        arguments: dict[str, Any] = {}
        if duration is not None:
            millis = int(duration.total_seconds() * 1000)
            if millis <= 0:
                raise TaskFailure(f"`options.expirationDuration` must be positive, got {duration}")
            arguments["px"] = millis
        if date is not None:
            arguments["pxat"] = int(date.timestamp() * 1000)
        if must_not_exist:
            arguments["nx"] = True
        if must_exist:
            arguments["xx"] = True
        if keep_ttl:
            arguments["keepttl"] = True
        return arguments


class Get(RedisConnection):
    """Read the value of a key; `data` is absent from the outputs when the key does not exist."""

    outputs_doc = output_docs(
        key=("string", "The key that was read"),
        data=("any", "The value, deserialized by `serdeType`; absent when the key does not exist"),
    )

    key: str
    serdeType: SerdeType = "STRING"
    failedOnMissing: Bool = False

    def run(self, ctx: RunContext) -> Output:
        key = render_str(ctx, self.key) or ""
        serde = render_serde(ctx, self.serdeType)
        failed_on_missing = render_bool(ctx, self.failedOnMissing, "failedOnMissing")
        with self.session(ctx) as client:
            payload = client.get(key)
        if payload is None:
            if failed_on_missing:
                raise TaskFailure(f"Key `{key}` does not exist in Redis (failedOnMissing is true)")
            ctx.logger.debug(f"Key `{key}` does not exist; no `data` output")
            return Output({"key": key})
        return Output({"data": deserialize(payload, serde, key), "key": key})


class Delete(RedisConnection):
    """Delete keys; `count` says how many existed. With `failedOnMissing`, a missing key fails the task."""

    outputs_doc = output_docs(
        count=("integer", "How many keys were deleted"),
    )

    keys: list[Any] | str
    failedOnMissing: Bool = False

    def run(self, ctx: RunContext) -> Output:
        keys = render_list(ctx, self.keys, "keys")
        failed_on_missing = render_bool(ctx, self.failedOnMissing, "failedOnMissing")
        count = 0
        if keys:
            with self.session(ctx) as client:
                count = int(client.delete(*keys))
        else:
            ctx.logger.warn("`keys` is empty: nothing to delete")
        ctx.logger.debug(f"deleted.records.count = {count}")
        if count < len(keys) and failed_on_missing:
            raise TaskFailure(f"Only {count} of {len(keys)} keys were deleted: the others do not exist "
                              "(failedOnMissing is true)", {"count": count})
        return Output({"count": count})
