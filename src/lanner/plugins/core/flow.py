"""Sleep and the flowable tasks. Flowables only *resolve* their children; the engine runs them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from lanner.model.duration import parse_duration
from lanner.model.property import Duration
from lanner.model.state import StateType
from lanner.plugins.api import (
    Again,
    FlowableTask,
    Group,
    Resolution,
    RunContext,
    RunnableTask,
    Stop,
    Task,
    TaskFailure,
    output_docs,
)
from lanner.plugins.core.refusals import refusing
from lanner.plugins.scripts.support import NamespaceFilesOptions


class Sleep(RunnableTask):
    acts_outside: ClassVar[bool] = False  # computes inside Lanner only (see RunnableTask)

    duration: Duration

    def run(self, ctx: RunContext) -> None:
        d = parse_duration(ctx.render(self.duration) if isinstance(self.duration, str) else self.duration)
        if not ctx.sleep(d.total_seconds()):
            raise TaskFailure("Sleep was cancelled")
        return None


def _enabled(tasks: list[Task] | None) -> list[Task]:
    return [t for t in tasks or [] if not t.disabled]


class Sequential(FlowableTask):
    tasks: list[Task] = Field(min_length=1)

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution([Group(_enabled(self.tasks))])


class AllowFailure(Sequential):
    """Like Sequential, but a failure inside ends this task WARNING and the flow goes on."""

    def final_state(self, state: StateType) -> StateType:
        return StateType.WARNING if state is StateType.FAILED else state


class WorkingDirectoryCache(BaseModel):
    """Files kept between executions of the flow: globs relative to the folder, for `ttl` (no
    `ttl`: until the files change)."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(min_length=1)
    ttl: dt.timedelta | None = None  # a plain duration, as Kestra's (not a template)

    @field_validator("ttl", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except Exception:  # noqa: BLE001 - said as a validation error at its line
                raise ValueError(f"`{value}` is not an ISO-8601 duration such as PT1H or P7D") from None
        return value

    @field_validator("patterns")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if pattern.startswith("/") or ".." in pattern.split("/"):
                raise ValueError(f"`{pattern}` must be relative to the working directory, without `..`")
        return value


class WorkingDirectory(Sequential):
    """Children run one after another in one shared folder (`{{ workingDir }}`), removed afterwards.

    `inputFiles` are written into the folder before the first child runs; `outputFiles` globs are
    stored in internal storage when the last child has ended (`outputs.<id>.outputFiles`); the
    `cache` is unpacked before everything else and archived after (`runtime/workdir_caches.py`).
    """

    outputs_doc = output_docs(
        outputFiles=("object", "Each file of the folder matched by `outputFiles`, by name, as a `kestra://` URI"),
    )

    shares_working_directory: ClassVar[bool] = True

    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] | None = None
    namespaceFiles: NamespaceFilesOptions | None = None  # copied into the folder before inputFiles
    cache: WorkingDirectoryCache | None = None  # unpacked first, archived after (runtime/workdir_caches.py)


class CheckFrequency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval: Duration = "PT1M"
    maxIterations: int | str | None = None
    maxDuration: Duration | None = None


class LoopUntil(FlowableTask):
    """Run the children, then again after `checkFrequency.interval`, until `condition` is true.

    The condition is judged after each iteration with Kestra's truthiness, and can read the
    iteration's outputs; `outputs.<id>.iterationCount` counts iterations from 1. A limit
    (`maxIterations`, `maxDuration`) ends the loop, FAILED with `failOnMaxReached`.
    """

    outputs_doc = output_docs(
        iterationCount=("integer", "How many iterations have started"),
    )

    condition: str | bool
    tasks: list[Task] = Field(min_length=1)
    checkFrequency: CheckFrequency = Field(default_factory=CheckFrequency)
    failOnMaxReached: bool = False

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution([Group(_enabled(self.tasks), iteration=0)], outputs={"iterationCount": 1})

    def next_iteration(self, ctx: RunContext, iterations: int, started: dt.datetime) -> Again | Stop | None:
        if ctx.is_true(self.condition):
            return Stop()
        freq = self.checkFrequency
        limit = freq.maxIterations
        if isinstance(limit, str):
            limit = int(str(ctx.render(limit)))
        reached = limit is not None and iterations >= limit
        interval = parse_duration(ctx.render(freq.interval) if isinstance(freq.interval, str) else freq.interval)
        if freq.maxDuration is not None and not reached:
            max_duration = parse_duration(ctx.render(freq.maxDuration) if isinstance(freq.maxDuration, str)
                                          else freq.maxDuration)
            reached = dt.datetime.now(dt.UTC) + interval - started > max_duration
        if reached:
            ctx.logger.warn(f"LoopUntil stopped after {iterations} iteration(s): its limit was reached "
                            "before the condition became true")
            return Stop(StateType.FAILED if self.failOnMaxReached else None)
        return Again(interval)


def _concurrent(ctx: RunContext, value: int | str) -> int:
    """`concurrent` of a Parallel or Dag: a number, or a template (Kestra's Property<Integer>)
    rendered when the task starts; what it renders to must be a whole number, 0 or more."""
    if isinstance(value, int):
        return value
    rendered = ctx.render_typed(value)
    try:
        number = int(str(rendered).strip())
    except ValueError:
        raise TaskFailure(f"`concurrent` rendered to `{rendered}`, which is not a whole number") from None
    if number < 0:
        raise TaskFailure(f"`concurrent` rendered to {number}; it must be 0 (no limit) or more")
    return number


def _concurrent_property(value: Any) -> Any:
    """What `concurrent` may be written as: a whole number, 0 or more, or a template."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"`{value}` is not a whole number 0 (no limit) or more, nor a template rendering to one")


ConcurrentCount = Annotated[int | str, BeforeValidator(_concurrent_property)]

_ON_CHILD_FAILURE = {"CONTINUE": None, "CANCEL": StateType.CANCELLED, "CANCELLED": StateType.CANCELLED,
                     "FAIL": StateType.FAILED, "FAILED": StateType.FAILED}


def _on_child_failure(value: Any) -> Any:
    """Kestra's `onChildFailure`, any case; its enum says CANCEL/FAIL, its docs and test flows
    CANCELLED/FAILED, so both spellings are read. Anything else is refused, not taken as CONTINUE."""
    if isinstance(value, str) and value.strip().upper() in _ON_CHILD_FAILURE:
        return value.strip().upper()
    raise ValueError(f"`{value}` is not one of CONTINUE (let running siblings end), CANCELLED or FAILED "
                     "(interrupt them into that state)")


OnChildFailure = Annotated[str, BeforeValidator(_on_child_failure)]


class InterruptsOnChildFailure(FlowableTask):
    """A flowable whose children run side by side (Dag, Parallel): when one fails for good (no
    retry left), `onChildFailure` CANCELLED or FAILED interrupts every sibling still running, at
    any depth, into that state; the default CONTINUE lets them end. Either way no new child starts,
    and the flowable's `errors` and `finally` run as usual."""

    onChildFailure: OnChildFailure = "CONTINUE"

    def child_failure_state(self) -> StateType | None:
        return _ON_CHILD_FAILURE[self.onChildFailure]


class Parallel(InterruptsOnChildFailure):
    tasks: list[Task] = Field(min_length=1)
    concurrent: ConcurrentCount = 0

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution([Group([t]) for t in _enabled(self.tasks)], concurrency=_concurrent(ctx, self.concurrent))


class If(FlowableTask):
    outputs_doc = output_docs(
        evaluationResult=("boolean", "Whether `condition` held (so `then` ran)"),
    )

    condition: str | bool | int
    then: list[Task] = Field(min_length=1)
    else_: list[Task] | None = Field(default=None, alias="else")

    def resolve(self, ctx: RunContext) -> Resolution:
        result = ctx.is_true(self.condition)
        branch = self.then if result else (self.else_ or [])
        return Resolution([Group(_enabled(branch))], outputs={"evaluationResult": result})


class Switch(FlowableTask):
    outputs_doc = output_docs(
        value=("string", "The rendered `value` that chose the case"),
        defaults=("boolean", "Whether no case matched and `defaults` ran"),
    )

    value: str | int | bool
    cases: dict[str, list[Task]] | None = None
    defaults: list[Task] | None = None

    @field_validator("cases", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        return {str(k).lower() if isinstance(k, bool) else str(k): t for k, t in v.items()}

    def child_lists(self) -> dict[str, list[Task]]:
        out = {f"cases.{k}": v for k, v in (self.cases or {}).items()}
        if self.defaults:
            out["defaults"] = self.defaults
        for name in ("errors", "finally_"):
            if getattr(self, name):
                out["finally" if name == "finally_" else name] = getattr(self, name)
        return out

    def resolve(self, ctx: RunContext) -> Resolution:
        rendered = ctx.render(self.value) if isinstance(self.value, str) else self.value
        key = json.dumps(rendered) if not isinstance(rendered, str) else rendered
        if isinstance(rendered, bool):
            key = "true" if rendered else "false"
        cases = self.cases or {}
        if key in cases:
            return Resolution([Group(_enabled(cases[key]))], outputs={"value": key, "defaults": False})
        if self.defaults:
            return Resolution([Group(_enabled(self.defaults))], outputs={"value": key, "defaults": True})
        raise TaskFailure(f"Switch: no case matches `{key}` and there are no `defaults`")


def each_groups(ctx: RunContext, raw: str | list[Any], tasks: list[Task], prop: str) -> list[Group]:
    """One group of `tasks` per distinct value of a looping property (`values`, or the old tasks' `value`).

    The property is a list (each string item rendered) or a template rendering to a list or to a
    JSON text of one; null items fail the task, as in Kestra.
    """
    if isinstance(raw, str):
        rendered = ctx.render_typed(raw)
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered)
            except json.JSONDecodeError as exc:
                raise TaskFailure(f"`{prop}` is not a JSON list: {exc.msg} in `{rendered[:80]}`") from None
        values = rendered
    else:
        values = [ctx.render(v) if isinstance(v, str) else v for v in raw]
    if not isinstance(values, list):
        raise TaskFailure(f"`{prop}` must be a list, got {type(values).__name__}")
    nulls = sum(1 for v in values if v is None)
    if nulls:
        raise TaskFailure(f"Found '{nulls}' null values on Each, with values={json.dumps(values)}")
    seen: dict[str, None] = {}
    for v in values:
        key = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        seen.setdefault(key, None)
    children = _enabled(tasks)
    return [Group(children, value=v, iteration=i) for i, v in enumerate(seen)]


class ForEach(FlowableTask):
    values: str | list[Any]
    tasks: list[Task] = Field(min_length=1)
    concurrencyLimit: int = Field(default=1, ge=0)
    # refused below: names Kestra tried (pull request #15366 began as `failFast`, then became
    # `childFailurePolicy`) and did not release on ForEach
    childFailurePolicy: Any = None
    failFast: Any = None

    refused: ClassVar[dict[str, str]] = {
        "childFailurePolicy": "is a name from Kestra's development that its releases do not have; pull "
                              "request #15366 proposed STOP and FAIL_FAST, and Kestra released `onChildFailure` "
                              "on Parallel and Dag, not on ForEach, so Lanner cannot say what it should do; "
                              "remove it",
        "failFast": "is a name from Kestra's development that its releases do not have: pull request #15366 "
                    "proposed it, renamed it `childFailurePolicy` and was closed without being merged, and no "
                    "released ForEach has either name, so Lanner cannot say what it should do; remove it "
                    "(Kestra released `onChildFailure`, on Parallel and Dag only)",
    }

    check_refused = refusing("childFailurePolicy", "failFast")

    @model_validator(mode="before")
    @classmethod
    def _old_concurrency_name(cls, data: Any) -> Any:
        """`concurrency` is the name ForEach's limit had in Kestra's first ForEach, before its release
        named it `concurrencyLimit`; the meaning is the same (0: no limit), so it is read as the new one."""
        if not isinstance(data, dict) or "concurrency" not in data:
            return data
        if "concurrencyLimit" in data:
            raise ValueError("`concurrency` is the old name of `concurrencyLimit`; give only `concurrencyLimit`")
        renamed = {k: v for k, v in data.items() if k != "concurrency"}
        renamed["concurrencyLimit"] = data["concurrency"]
        return renamed

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution(each_groups(ctx, self.values, self.tasks, "values"), concurrency=self.concurrencyLimit)


class EachSequential(FlowableTask):
    """Kestra's older loop: the children run for each item of `value`, one item after another.

    Its own property names stay (`value`, not ForEach's `values`), so a flow written for Kestra
    runs unchanged; each child sees its item as `taskrun.value`, as under ForEach.
    """

    value: str | list[Any]
    tasks: list[Task] = Field(min_length=1)

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution(each_groups(ctx, self.value, self.tasks, "value"))


class EachParallel(EachSequential):
    """Kestra's older parallel loop: every item of `value` at once, or `concurrent` at a time (0: all)."""

    concurrent: int = Field(default=0, ge=0)

    def resolve(self, ctx: RunContext) -> Resolution:
        return Resolution(each_groups(ctx, self.value, self.tasks, "value"), concurrency=self.concurrent)


class DagTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Task
    dependsOn: list[str] = Field(default_factory=list)


class Dag(InterruptsOnChildFailure):
    """Children start when every task they depend on has ended; a failure stops new starts."""

    tasks: list[DagTask] = Field(min_length=1)
    concurrent: ConcurrentCount = 0

    @model_validator(mode="after")
    def _check_graph(self) -> Dag:
        ids = [t.task.id for t in self.tasks]
        for t in self.tasks:
            missing = [d for d in t.dependsOn if d not in ids]
            if missing:
                raise ValueError(f"dag: Not existing task id in dependency: {', '.join(missing)}")
        deps = {t.task.id: set(t.dependsOn) for t in self.tasks}
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(node: str, trail: list[str]) -> None:
            if node in done:
                return
            if node in visiting:
                cycle = trail[trail.index(node):]
                raise ValueError(f"dag: Cyclic dependency detected: {', '.join(cycle)}")
            visiting.add(node)
            for d in sorted(deps[node]):
                visit(d, [*trail, d])
            visiting.discard(node)
            done.add(node)

        for node in ids:
            visit(node, [node])
        return self

    def child_lists(self) -> dict[str, list[Task]]:
        out: dict[str, list[Task]] = {"tasks": [t.task for t in self.tasks]}
        if self.errors:
            out["errors"] = self.errors
        if self.finally_:
            out["finally"] = self.finally_
        return out

    def resolve(self, ctx: RunContext) -> Resolution:
        enabled = [t for t in self.tasks if not t.task.disabled]
        index = {t.task.id: i for i, t in enumerate(enabled)}
        depends = [tuple(index[d] for d in t.dependsOn if d in index) for t in enabled]
        return Resolution([Group([t.task]) for t in enabled], concurrency=_concurrent(ctx, self.concurrent),
                          depends=depends)
