"""What a task is, and the only door it has to the world (`RunContext`).

A task is a pydantic model validated from the flow YAML. A *runnable* task does work on a worker
through `run(ctx)`. A *flowable* task does no work itself: it tells the executor which child
tasks to run (`resolve`), and the executor, not the plugin, owns the state machine, so every
flowable gets `errors`, `finally`, retries and kills the same way. An *execution* task
(`Exit`, `Labels`) changes the execution itself and is applied by the executor.

These classes live in `model` because a flow is made of tasks: `model/flow.py` types its task
lists with `Task`, so the base classes must sit below it, importing only the lowest model
modules (ids, property, retry, state). Plugins import them through `lanner.plugins.api`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lanner.model.ids import PATTERNS
from lanner.model.property import Bool, Duration
from lanner.model.retry import Retry
from lanner.model.state import StateType

LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]


class TaskLogger(Protocol):
    def trace(self, message: str) -> None: ...
    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def error(self, message: str) -> None: ...


class RunContext(Protocol):
    """What a running task may use. Implemented by the worker (and by the executor for flowables)."""

    execution_id: str
    task_run_id: str
    variables: Mapping[str, Any]
    cancelled: threading.Event

    @property
    def logger(self) -> TaskLogger:
        """Read-only here, so a context may hold any logger of this shape (the worker's masks secrets)."""

    def render(self, value: Any) -> Any:
        """Render templates in a string (to a string) or, recursively, in a list or map."""

    def render_typed(self, value: Any) -> Any:
        """Like render, but a string that is one whole `{{ expr }}` keeps the expression's type."""

    def is_true(self, value: Any) -> bool:
        """Render and judge with Kestra's truthiness (false only for false, 0, -0, empty)."""

    def sleep(self, seconds: float) -> bool:
        """Wait, waking early on cancellation; returns False when cancelled."""

    def working_dir(self) -> Path:
        """A private temporary folder for this task run, removed after it."""

    def put_file(self, name: str, data: bytes) -> str:
        """Store a file in internal storage; returns its `kestra://` URI."""

    def read_file(self, uri: str) -> bytes:
        """Read a file of internal storage by its `kestra://` URI."""

    def kv_store(self) -> Any:
        """The namespace KV store (`storage/kv.py:KVStore`) of the storage this task writes to."""


class TaskFailure(Exception):
    """Raised by a task to fail with a message for people (logged at ERROR, no traceback)."""

    def __init__(self, message: str, outputs: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.outputs = dict(outputs or {})


@dataclasses.dataclass(slots=True)
class Output:
    """What a runnable task returns: its outputs, and optionally a state it insists on."""

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    state: StateType | None = None  # e.g. WARNING for a script that wrote to stderr


OutputType = Literal["string", "integer", "number", "boolean", "object", "array", "any"]


@dataclasses.dataclass(frozen=True, slots=True)
class OutputDoc:
    """One output a task type gives, for its documentation page (`GET /plugins/{type}`): its
    JSON-schema type ("any" when it takes the type of what the flow gave) and what it holds."""

    type: OutputType
    description: str


def output_docs(**outputs: tuple[OutputType, str]) -> dict[str, OutputDoc]:
    """`outputs_doc` written compactly: `output_docs(value=("string", "The rendered text"))`."""
    return {name: OutputDoc(kind, text) for name, (kind, text) in outputs.items()}


class Task(BaseModel):
    """Properties common to every task (Kestra's Task)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True, defer_build=True)

    kind: ClassVar[Literal["runnable", "flowable", "execution"]] = "runnable"
    # The outputs a run of this type may record (`outputs.<id>.<name>`), declared beside the code
    # that makes them so the plugin page can show them; a unit test runs real tasks and fails on
    # an output key missing here. A task with no outputs keeps the empty default.
    outputs_doc: ClassVar[Mapping[str, OutputDoc]] = {}

    id: str = Field(pattern=PATTERNS["task id"], max_length=100)
    type: str
    description: str | None = None
    disabled: bool = False
    retry: Retry | None = None
    timeout: Duration | None = None
    allowFailure: bool = False
    allowWarning: bool = False
    runIf: Bool | None = None
    logLevel: LogLevel | None = None
    logToFile: bool = False
    workerGroup: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _when_is_run_if(cls, data: Any) -> Any:
        """`when` is the newest Kestra's name for `runIf` (its tests hold both to one behaviour):
        read as `runIf`, so a flow written either way runs the same; both at once is ambiguous."""
        if not isinstance(data, dict) or "when" not in data:
            return data
        if "runIf" in data:
            raise ValueError("`when` and `runIf` are the same condition under two names; keep one of them")
        data = dict(data)
        data["runIf"] = data.pop("when")
        return data

    @classmethod
    def outputs_json_schema(cls) -> dict[str, Any]:
        """The declared outputs as a JSON schema object (Kestra's `schema.outputs`)."""
        properties: dict[str, Any] = {}
        for name, doc in cls.outputs_doc.items():
            prop: dict[str, Any] = {"title": name, "description": doc.description}
            if doc.type != "any":
                prop["type"] = doc.type
            properties[name] = prop
        return {"type": "object", "properties": properties}

    def child_lists(self) -> dict[str, list[Task]]:
        """Every list of nested tasks, by the property that holds it (none for runnables)."""
        return {}

    def all_tasks(self) -> list[Task]:
        """This task and every task nested in it, depth first."""
        out: list[Task] = [self]
        for tasks in self.child_lists().values():
            for t in tasks:
                out.extend(t.all_tasks())
        return out


class RunnableTask(Task):
    kind: ClassVar[Literal["runnable", "flowable", "execution"]] = "runnable"
    # Does an attempt act on the world outside Lanner (a process, a container, a request)? Then its
    # result is stored the moment it is known, so that a crash never runs a finished attempt again.
    # Tasks that only compute inside Lanner (Log, Return, …) say False: running one again after a
    # crash changes nothing outside, and they skip that write.
    acts_outside: ClassVar[bool] = True
    # Is an attempt instant: it only renders templates, logs and returns outputs (Log, Return, …),
    # no I/O, no waiting? Then the embedded runtime runs it on its loop thread, where the executor
    # renders its own templates, instead of handing it to the thread pool: for such a task the two
    # thread switches cost more than the task (a ForEach of 100,000 Logs).
    instant: ClassVar[bool] = False

    def run(self, ctx: RunContext) -> Output | Mapping[str, Any] | None:
        raise NotImplementedError


@dataclasses.dataclass(slots=True)
class Group:
    """A run of child tasks, one after another; a flowable is resolved into one or more groups."""

    tasks: list[Task]
    value: str | None = None  # iteration value (ForEach), becomes the children's `taskrun.value`
    iteration: int | None = None


@dataclasses.dataclass(slots=True)
class Resolution:
    """How a flowable's children run: its groups, how many at once, and outputs to record."""

    groups: list[Group]
    concurrency: int = 1  # groups running at once; 0 means all
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Dag: for each group, the indexes of the groups that must have ended before it starts
    depends: list[tuple[int, ...]] | None = None


@dataclasses.dataclass(slots=True)
class IterationEnd:
    """What a flowable records when one of its isolated iterations ends: the outputs it declares
    for it (None: it declares none), and whether the flowable starts no further iteration."""

    outputs: dict[str, Any] | None = None
    stop: bool = False


@dataclasses.dataclass(slots=True)
class Again:
    """A looping flowable runs its children once more, after `after`."""

    after: dt.timedelta


@dataclasses.dataclass(slots=True)
class Stop:
    """A looping flowable is done; `state` overrides the state its children give (FAILED at a limit)."""

    state: StateType | None = None


class FlowableTask(Task):
    kind: ClassVar[Literal["runnable", "flowable", "execution"]] = "flowable"
    # Each group is an iteration kept apart from the others (Kestra's Loop, whose iterations are
    # sub-executions): its runs see only their own iteration's outputs, and `item`; nothing
    # outside the flowable sees them (see `model/variables.py`).
    isolates_iterations: ClassVar[bool] = False

    errors: list[Task] | None = None
    finally_: list[Task] | None = Field(default=None, alias="finally")

    def resolve(self, ctx: RunContext) -> Resolution:
        """Decide the children once, when the flowable starts (conditions, loop values)."""
        raise NotImplementedError

    def final_state(self, state: StateType) -> StateType:
        """Adjust the state computed from the children (AllowFailure turns FAILED to WARNING)."""
        return state

    def transmits_failure(self) -> bool:
        """Does a child that ends FAILED or KILLED fail this flowable and stop new children?
        (A Loop with `transmitFailed: false` lets every iteration run and ends SUCCESS.)"""
        return True

    def iteration_ended(self, ctx: RunContext, iteration: int, state: StateType) -> IterationEnd | None:
        """For a flowable that isolates its iterations: one ended `state`; `ctx` sees that
        iteration's outputs. Returns what to record, or None."""
        return None

    def child_failure_state(self) -> StateType | None:
        """The state still-running children are interrupted into when one child fails for good
        (a Dag's or Parallel's `onChildFailure`: CANCELLED or FAILED); None lets them run on."""
        return None

    def next_iteration(self, ctx: RunContext, iterations: int, started: dt.datetime) -> Again | Stop | None:
        """For a looping flowable (LoopUntil): after an iteration ended well, go again or stop.

        None (the default) means the flowable does not loop.
        """
        return None

    def child_lists(self) -> dict[str, list[Task]]:
        out: dict[str, list[Task]] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list) and value and all(isinstance(t, Task) for t in value):
                out[name.rstrip("_")] = value
        return out


ExecutionEffect = Literal["labels", "subflow", "item_subflows", "pause", "approval", "kill", "exit", "variables"]


class ExecutionTask(Task):
    """A task that changes the execution itself (Exit, Labels); applied by the executor."""

    kind: ClassVar[Literal["runnable", "flowable", "execution"]] = "execution"
    # What it does to the execution. The engine decides by this declared effect, never by
    # importing task classes, so it depends on the plugin API alone.
    effect: ClassVar[ExecutionEffect | None] = None
