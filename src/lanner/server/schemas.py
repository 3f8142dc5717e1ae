"""Request and response models of the API (documented in the OpenAPI document).

Executions and flows are answered in Kestra's JSON shapes, produced by `views`; these models
describe the envelopes and the small request bodies around them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PagedResults(BaseModel):
    """Kestra's paged answer: one page of results and the total count."""

    model_config = ConfigDict(extra="allow")

    results: list[dict[str, Any]]
    total: int


class Located(BaseModel):
    message: str
    hint: str | None = None
    line: int | None = Field(default=None, description="1-based line in the YAML")
    column: int | None = None
    path: str | None = Field(default=None, description="property path, e.g. tasks[0].message")
    text: str | None = Field(default=None, description="the one-line form: LINE:COL: what; what to do")


class ValidateResult(BaseModel):
    """One flow document's validation (Kestra's ValidateConstraintViolation, plus located errors)."""

    index: int
    flow: str | None = None
    namespace: str | None = None
    constraints: str | None = None
    outdated: bool = False
    deprecationPaths: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    infos: list[str] = Field(default_factory=list)
    errors: list[Located] = Field(default_factory=list)


class BackfillRequest(BaseModel):
    """Kestra's `Backfill`, as a request: the range of past dates to run, and what to run them with."""

    model_config = ConfigDict(extra="ignore")

    start: str = Field(description="ISO 8601 date-time with an offset; the first date of the range")
    end: str | None = Field(default=None, description="the last date of the range (default: now)")
    inputs: dict[str, Any] | None = Field(default=None, description="laid over the trigger's own inputs")
    labels: dict[str, Any] | list[dict[str, Any]] | None = Field(default=None, description="added to the executions")
    paused: bool = False


class TriggerUpdate(BaseModel):
    """Enable or disable one trigger (for instance after `stopAfter` disabled it), or start a
    backfill of a Schedule trigger (Kestra's `PUT /triggers` with `backfill`)."""

    model_config = ConfigDict(extra="ignore")

    namespace: str
    flowId: str
    triggerId: str
    disabled: bool | None = None
    backfill: BackfillRequest | None = None


class TriggerKeys(BaseModel):
    """Which trigger: its flow and its id."""

    model_config = ConfigDict(extra="ignore")

    namespace: str
    flowId: str
    triggerId: str


class TriggersDisabled(BaseModel):
    """Kestra's `set-disabled/by-triggers` body."""

    triggers: list[TriggerKeys] = Field(max_length=10_000)
    disabled: bool


class PluginGroup(BaseModel):
    name: str
    title: str
    group: str
    tasks: list[str]
    triggers: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    schemas: dict[str, Any] = Field(default_factory=dict, description="JSON schema of each task and trigger type")


class PluginSchema(BaseModel):
    cls: str
    title: str | None = None
    markdown: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class ServerConfig(BaseModel):
    version: str
    isBasicAuthEnabled: bool
    resumedExecutions: list[str] = Field(default_factory=list)


class Label(BaseModel):
    """One execution label, as Kestra sends and answers them."""

    key: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=1000)


class BulkResponse(BaseModel):
    """Kestra's answer to a bulk action: how many executions it acted on."""

    count: int


class FlowKey(BaseModel):
    """Kestra's IdWithNamespace: which flow."""

    namespace: str
    id: str
