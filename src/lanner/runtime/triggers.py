"""The trigger types the scheduler runs, as typed models of Kestra's keys.

The flow model keeps a trigger's own keys untyped (`Trigger` allows extras) so that `lanner run`
never pays for them; the server validates them here when a flow is saved, and reports each
problem at its line like the loader does for tasks.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lanner.errors import Located
from lanner.errors import ValidationError as LannerValidationError
from lanner.model.flow import Flow, Trigger

SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
FLOW = "io.kestra.plugin.core.trigger.Flow"
WEBHOOK = "io.kestra.plugin.core.trigger.Webhook"
ALIASES = {
    "io.kestra.core.models.triggers.types.Schedule": SCHEDULE,
    "io.kestra.core.models.triggers.types.Flow": FLOW,
    "io.kestra.core.models.triggers.types.Webhook": WEBHOOK,
}
StateName = Literal["CREATED", "SUBMITTED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING",
                    "FAILED", "KILLED", "CANCELLED", "QUEUED", "RETRYING", "RETRIED", "SKIPPED",
                    "BREAKPOINT"]  # Kestra's debugging state: a flow may name it; Lanner never enters it
TERMINAL: list[StateName] = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    type: str
    description: str | None = None
    disabled: bool = False
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    stopAfter: list[StateName] = Field(default_factory=list)
    logLevel: str | None = None
    workerGroup: dict[str, Any] | None = None


class ScheduleSpec(_Spec):
    """`Schedule`: a cron expression in a time zone; missed fires recovered by policy."""

    cron: str
    timezone: str = "Etc/UTC"
    withSeconds: bool = False
    recoverMissedSchedules: Literal["ALL", "LAST", "NONE"] = "ALL"
    lateMaximumDelay: str | None = None
    backfill: dict[str, Any] | None = None
    interval: str | None = None  # Kestra's deprecated polling interval; ignored

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone `{value}`; use an IANA name like Europe/Paris") from None
        return value

    def croniter_expression(self) -> str:
        """croniter takes seconds as the last field; Kestra (Quartz style) as the first."""
        expr = self.cron.strip()
        if self.withSeconds and not expr.startswith("@"):
            fields = expr.split()
            if len(fields) == 6:
                expr = " ".join(fields[1:] + fields[:1])
        return expr

    def zone(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Precondition(BaseModel):
    model_config = ConfigDict(extra="allow")

    namespace: str | None = None
    flowId: str | None = None
    states: list[StateName] = Field(default_factory=lambda: list(TERMINAL))
    labels: dict[str, Any] | None = None


class Preconditions(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    flows: list[Precondition] = Field(default_factory=list)
    timeWindow: dict[str, Any] | None = None
    resetOnSuccess: bool = True


class Dependency(BaseModel):
    """One upstream flow of a Flow trigger's `dependsOn` (Kestra's newest spelling of `preconditions`)."""

    model_config = ConfigDict(extra="forbid")

    namespace: str | None = None
    flowId: str | None = None
    states: list[StateName] | None = None
    labels: dict[str, Any] | None = None
    when: Any = None  # refused below: a template Lanner's scheduler does not render per dependency

    @field_validator("when")
    @classmethod
    def _refuse_when(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("a dependency's `when` is not evaluated by Lanner's scheduler; remove it, and test "
                             "the condition in the flow (`runIf` on a task, or an `If` task)")
        return value


class FlowSpec(_Spec):
    """`Flow`: starts when another flow's execution reaches one of `states`, filtered.

    `dependsOn` is Kestra's newest way to write `preconditions` (each dependency a flow, by
    namespace, id, states and labels, all to be met within a day, then starting over): it is read
    as those preconditions, so both run the same. A dependency without `states` takes the
    trigger's; with both, a state must be in both, as Kestra filters by the trigger's states first.
    """

    states: list[StateName] = Field(default_factory=lambda: list(TERMINAL))
    preconditions: Preconditions | None = None
    dependsOn: list[Dependency] | None = None
    window: Any = None  # refused below with `mode` and `minSatisfied`: not carried out by Lanner
    mode: Literal["ALL", "ANY", "AT_LEAST"] = "ALL"
    minSatisfied: int | None = None

    @model_validator(mode="after")
    def _depends_on_as_preconditions(self) -> FlowSpec:
        if self.dependsOn is None:
            return self
        if self.preconditions is not None:
            raise ValueError("`dependsOn` and `preconditions` both list upstream flows; keep one (`dependsOn` is "
                             "Kestra's newer spelling)")
        if not self.dependsOn:
            raise ValueError("`dependsOn` lists no flow; name at least one (namespace, flowId, states)")
        explicit = "states" in self.model_fields_set
        flows = []
        for dep in self.dependsOn:
            states = dep.states if dep.states is not None else self.states
            if dep.states is not None and explicit:
                states = [s for s in dep.states if s in self.states]
            flows.append(Precondition(namespace=dep.namespace, flowId=dep.flowId, states=states, labels=dep.labels))
        self.preconditions = Preconditions(id=f"depends_on_{self.id}", flows=flows)
        return self


class WebhookSignature(BaseModel):
    """A Webhook's `signature`: the caller signs the raw request body with HMAC and a shared
    secret, and sends the digest (hex, after `prefix`) in `header`, as GitHub and most vendors do.

    The key in the URL only says which flow; the signature proves who sent this very body, so
    a call whose key leaked still cannot start the flow with a body of the caller's choosing.
    `secret` may be a template (`{{ secret('X') }}`, `{{ vars.x }}`), rendered when a call comes.
    """

    model_config = ConfigDict(extra="forbid")

    header: str = Field(min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    secret: str = Field(min_length=1)
    prefix: str = ""
    algorithm: Literal["SHA1", "SHA256", "SHA512"] = "SHA256"

    @field_validator("algorithm", mode="before")
    @classmethod
    def _algorithm(cls, value: Any) -> Any:
        """`sha256`, `HmacSHA256` and `SHA-256` all name the same digest."""
        if isinstance(value, str):
            return value.upper().removeprefix("HMAC").replace("-", "")
        return value


class WebhookSpec(_Spec):
    """`Webhook`: started by an HTTP call carrying `key` (and, with `signature`, a valid HMAC of its body)."""

    key: str = Field(min_length=1, max_length=256)
    wait: bool = False
    returnOutputs: bool = False
    signature: WebhookSignature | None = None


SPECS: dict[str, type[_Spec]] = {SCHEDULE: ScheduleSpec, FLOW: FlowSpec, WEBHOOK: WebhookSpec}


def canonical_type(type_name: str) -> str:
    return ALIASES.get(type_name, type_name)


def parse(trigger: Trigger) -> _Spec | None:
    """The typed spec of a trigger, or None for a type the scheduler does not run."""
    cls = SPECS.get(canonical_type(trigger.type))
    if cls is None:
        return None
    return cls.model_validate(trigger.model_dump())


def specs(flow: Flow) -> list[_Spec]:
    """The flow's triggers that can fire: known type, valid, not disabled; none if the flow is disabled."""
    if flow.disabled:
        return []
    out: list[_Spec] = []
    for trig in flow.triggers:
        try:
            spec = parse(trig)
        except ValidationError:
            continue
        if spec is not None and not spec.disabled:
            out.append(spec)
    return out


def validate(flow: Flow) -> list[LannerValidationError]:
    """Problems in the flow's triggers, located at their lines in the flow's source."""
    from lanner.runtime.schedule import check_cron

    problems: list[LannerValidationError] = []
    lines = _trigger_lines(flow.source)
    for i, trig in enumerate(flow.triggers):
        name = canonical_type(trig.type)
        cls = SPECS.get(name)
        if cls is None:  # accepted, it would never fire: a flow waiting on it would wait forever
            line, col = lines.get((i, "type"), lines.get((i, None), (None, None)))
            problems.append(LannerValidationError(
                f"triggers[{i}] ({trig.id}): trigger type `{trig.type}` is not run by Lanner; it runs "
                "the Schedule, Flow and Webhook triggers (io.kestra.plugin.core.trigger.*)",
                hint="remove the trigger, or poll from a task of a flow with a Schedule trigger",
                where=Located(flow.file, line, col, f"triggers[{i}].type")))
            continue
        try:
            spec = cls.model_validate(trig.model_dump())
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                key = str(err["loc"][0]) if err["loc"] else None
                path = ".".join(str(p) for p in err["loc"])  # `signature.header` for a nested key
                line, col = lines.get((i, path), lines.get((i, key), lines.get((i, None), (None, None))))
                msg = err["msg"].removeprefix("Value error, ")
                what = f"unknown property `{path}`" if err["type"] == "extra_forbidden" else (
                    f"missing required property `{path}`" if err["type"] == "missing" else f"`{path}`: {msg}")
                # A rule over several keys (no key of its own) is said as it is, not as one key's.
                said = msg if key is None else f"{what} of `{name.rsplit('.', 1)[-1]}`"
                problems.append(LannerValidationError(
                    f"triggers[{i}] ({trig.id}): {said}",
                    hint="see `GET /api/v1/plugins/" + name + "` for its properties",
                    where=Located(flow.file, line, col, f"triggers[{i}].{key}" if key else f"triggers[{i}]")))
            continue
        if isinstance(spec, ScheduleSpec):
            problem = check_cron(spec)
            if problem:
                line, col = lines.get((i, "cron"), lines.get((i, None), (None, None)))
                problems.append(LannerValidationError(
                    f"triggers[{i}] ({trig.id}): {problem}", hint="write five fields like `0 9 * * 1-5` or a "
                    "nickname like @daily", where=Located(flow.file, line, col, f"triggers[{i}].cron")))
        for key, problem, hint in _not_acted_on(spec):
            line, col = lines.get((i, key), lines.get((i, None), (None, None)))
            problems.append(LannerValidationError(f"triggers[{i}] ({trig.id}): {problem}", hint=hint,
                                                  where=Located(flow.file, line, col, f"triggers[{i}].{key}")))
    return problems


def _said(err: Any) -> str:
    return "unknown property" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")


def _multiple_problems(cond: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, problem, hint) for a MultipleCondition that cannot be evaluated as written."""
    from lanner.runtime.multiple_conditions import MultipleCondition

    try:
        MultipleCondition.model_validate(cond)
    except ValidationError as exc:
        return [("conditions", f"MultipleCondition `{cond.get('id', '?')}`: "
                 f"{'.'.join(str(p) for p in err['loc']) or 'it'}: {_said(err)}",
                 "see Kestra's MultipleCondition: `id`, `conditions` (a map of conditions), `sla` "
                 "(`type`, `window`, `windowAdvance`, `deadline`, `startTime`, `endTime`), `resetOnSuccess`")
                for err in exc.errors(include_url=False)]
    return []


def _not_acted_on(spec: _Spec) -> list[tuple[str, str, str]]:
    """(key, problem, hint) for what Kestra acts on and the scheduler would accept and never act
    on: a schedule that fires on weekends its author excluded is worse than a refusal."""
    from lanner.model.listener import LISTENER_CONDITIONS, condition_kind
    from lanner.runtime import trigger_conditions

    out: list[tuple[str, str, str]] = []
    leaves = LISTENER_CONDITIONS if isinstance(spec, FlowSpec) else trigger_conditions.LEAF_KINDS
    hint = "see the Conditions section of docs/compatibility.md for the kinds and properties Lanner evaluates"
    if isinstance(spec, FlowSpec):
        hint += "; or use `preconditions`"
    for i, cond in enumerate(spec.conditions):
        if isinstance(spec, FlowSpec) and condition_kind(str(cond.get("type", ""))) == "Multiple":
            out.extend(_multiple_problems(cond))
            continue
        for problem in trigger_conditions.problems(cond, f"conditions[{i}]", has_date=isinstance(spec, ScheduleSpec),
                                                   leaf_kinds=leaves):
            out.append(("conditions", problem, hint))
    if isinstance(spec, FlowSpec) and spec.window is not None:
        out.append(("window", "a Flow trigger's `window` is not applied by Lanner (its `dependsOn` flows must all "
                    "end within a day)", "remove `window`"))
    if isinstance(spec, FlowSpec) and spec.mode != "ALL":
        out.append(("mode", f"`mode: {spec.mode}` is not supported by Lanner (every `dependsOn` flow must be met)",
                    "remove `mode`, or write one Flow trigger per upstream flow to start on any of them"))
    if isinstance(spec, FlowSpec) and spec.minSatisfied is not None:
        out.append(("minSatisfied", "`minSatisfied` is not supported by Lanner (every `dependsOn` flow must be met)",
                    "remove `minSatisfied`"))
    if isinstance(spec, FlowSpec) and spec.preconditions is not None and not spec.preconditions.resetOnSuccess:
        out.append(("preconditions", "`preconditions.resetOnSuccess: false` is not supported by Lanner (its "
                    "preconditions start over after each execution they start)", "remove `resetOnSuccess`"))
    if spec.logLevel is not None:
        out.append(("logLevel", "a trigger's `logLevel` is not applied by Lanner (its scheduler writes to the "
                    "server's log, not to trigger logs)", "remove `logLevel`; set `logLevel` on the flow's tasks"))
    if spec.workerGroup is not None:
        out.append(("workerGroup", "a trigger's `workerGroup` is not applied by Lanner (triggers are evaluated by "
                    "the scheduler role, not by workers)", "remove `workerGroup` from the trigger"))
    if isinstance(spec, ScheduleSpec) and spec.backfill is not None:
        out.extend(("backfill", problem, hint) for problem, hint in _backfill_problems(spec.backfill))
    if isinstance(spec, ScheduleSpec) and spec.lateMaximumDelay is not None:
        out.append(("lateMaximumDelay", "`lateMaximumDelay` is not applied by Lanner",
                    "remove it; `recoverMissedSchedules` (ALL, LAST, NONE) says which missed dates still run"))
    return out


def _backfill_problems(backfill: dict[str, Any]) -> list[tuple[str, str]]:
    """(problem, hint) for a Schedule's own `backfill` (Kestra's deprecated ScheduleBackfill:
    only `start`), which the scheduler runs once, when it first sees the trigger."""
    from lanner.runtime.backfills import BackfillError, parse_instant

    example = "backfill: {start: 2024-01-01T00:00:00Z}"
    extra = sorted(set(backfill) - {"start"})
    if extra:
        return [(f"`backfill` of a Schedule takes only `start`, not `{extra[0]}`",
                 f"write {example}; for an end, inputs or labels use PUT /api/v1/triggers with a `backfill`")]
    try:
        if parse_instant("start", backfill.get("start")) is None:
            return [("`backfill` needs a `start` date", f"write {example}")]
    except BackfillError as exc:
        return [(exc.message, exc.hint)]
    return []


def _trigger_lines(source: str) -> dict[tuple[int, str | None], tuple[int | None, int | None]]:
    """(trigger index, key or None) → (line, column), 1-based, read from the YAML text."""
    out: dict[tuple[int, str | None], tuple[int | None, int | None]] = {}
    if not source:
        return out
    from lanner.model import yaml_source

    try:
        root = yaml_source.load(source)
        items = root.get("triggers") or []
        for i, item in enumerate(items):
            out[(i, None)] = yaml_source.position(items, i)
            if isinstance(item, dict):
                for key, value in item.items():
                    out[(i, str(key))] = yaml_source.position(item, key)
                    if isinstance(value, dict):  # one level down: `signature.header`
                        for sub in value:
                            out[(i, f"{key}.{sub}")] = yaml_source.position(value, sub)
    except (yaml_source.YamlError, AttributeError):  # lines are a courtesy; the flow itself already parsed
        return out
    return out
