"""The flow: Kestra's top-level keys, validated, plus an index of where every task sits.

Task lists are typed `list[Task]`; the loader builds each task with its own class first (found
by `type` in the plugin registry) so that every problem is reported at its own line.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from lanner.model.defaults import empty_list
from lanner.model.ids import MAX_LENGTH, PATTERNS
from lanner.model.labels import as_label_map
from lanner.model.listener import Listener
from lanner.model.retry import Retry
from lanner.model.sla import Sla
from lanner.model.task import Task

InputType = Literal[
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME", "DURATION", "JSON",
    "ARRAY", "SELECT", "ENUM", "MULTISELECT", "SECRET", "URI", "EMAIL", "YAML", "FILE", "OBJECT", "TABLE",
]
INPUT_TYPES: tuple[str, ...] = get_args(InputType)


# The properties each input type takes, as Kestra's input classes declare them. A property of
# another type is refused at its line (`min` on a STRING would otherwise be accepted and ignored).
INPUT_COMMON: tuple[str, ...] = ("id", "name", "type", "description", "displayName", "required", "defaults",
                                 "prefill", "dependsOn")
_SELECT = ("values", "allowCustomValue", "isRadio", "autoSelectFirst")
INPUT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "STRING": ("validator",), "SECRET": ("validator",),
    "INT": ("min", "max"), "FLOAT": ("min", "max"), "DURATION": ("min", "max"),
    "DATE": ("after", "before"), "DATETIME": ("after", "before"), "TIME": ("after", "before"),
    "ARRAY": ("itemType",), "SELECT": _SELECT, "ENUM": ("values",),
    "MULTISELECT": (*_SELECT, "options", "itemType"),
    "FILE": ("allowedFileExtensions",),
    "BOOLEAN": (), "BOOL": (), "JSON": ("jsonSchema",), "YAML": (), "URI": (), "EMAIL": (),
    "OBJECT": ("properties",), "TABLE": ("columns", "rows"),
}

# The types a field of a record (an OBJECT's `properties`, a TABLE's `columns`) may have, as Kestra
# allows: scalars checked one key at a time, never another record, a file or a secret.
FIELD_TYPES: tuple[str, ...] = ("STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIME", "DURATION",
                                "EMAIL", "URI", "SELECT", "MULTISELECT")
# What a field may not declare: it has no value of its own to default or prefill, nor a place in the form order.
FIELD_REFUSED: tuple[str, ...] = ("defaults", "prefill", "dependsOn")


class TableRows(BaseModel):
    """A TABLE input's bounds on its number of rows (Kestra's `rows.min` >= 0, `rows.max` >= 1)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=1)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    id: str = Field(pattern=PATTERNS["input id"])
    type: InputType
    description: str | None = None
    displayName: str | None = None
    required: bool = True
    defaults: Any = None
    prefill: Any = None
    dependsOn: Any = None
    itemType: InputType | None = None
    values: list[Any] | str | None = None
    options: list[Any] | None = None  # Kestra's old spelling of a MULTISELECT's `values`
    allowCustomValue: bool = False
    isRadio: bool | None = None
    autoSelectFirst: bool | None = None
    validator: str | None = None
    min: Any = None
    max: Any = None
    after: Any = None
    before: Any = None
    allowedFileExtensions: list[str] | None = None
    jsonSchema: str | dict[str, Any] | bool | None = None  # a JSON input's schema (model/json_schemas.py)
    properties: list[Input] | None = None  # an OBJECT's typed keys
    columns: list[Input] | None = None  # a TABLE's typed keys of every row
    rows: TableRows | None = None  # a TABLE's bounds on its number of rows
    name: str | None = None  # Kestra's old spelling of id, still read (a deprecation, not an error)

    @model_validator(mode="before")
    @classmethod
    def _old_spellings(cls, data: Any) -> Any:
        """Kestra still reads `name:` for `id:` and `options:` for `values:`; so does Lanner."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("id") is None and data.get("name") is not None:
            data["id"] = data["name"]
        if data.get("options") is not None:
            if data.get("values") is not None:
                raise ValueError("you can't define both `values` and `options`; keep `values`")
            data["values"] = data["options"]
        return data


class FlowOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(pattern=PATTERNS["output id"])
    type: InputType = "STRING"
    value: Any
    description: str | None = None
    displayName: str | None = None
    required: bool = True

    @field_validator("type")
    @classmethod
    def _not_a_record(cls, value: str) -> str:
        """OBJECT and TABLE type what a user gives against declared fields; an output declares none."""
        if value in ("OBJECT", "TABLE"):
            raise ValueError(f"an output cannot be of type {value} (it declares no fields); use JSON")
        return value


class PluginDefault(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False


_UNBUILT_CONCURRENCY = ("duration", "queueLimit", "queueSize")


class Concurrency(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    limit: int = Field(gt=0)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"

    @model_validator(mode="before")
    @classmethod
    def _unbuilt(cls, data: Any) -> Any:
        """The newest Kestra's `duration`, `queueLimit` and `queueSize` are refused by name: neither
        its documentation nor its source found here says what they do, and a limit taken and
        ignored would let more executions through than the author meant."""
        if isinstance(data, dict):
            given = [name for name in _UNBUILT_CONCURRENCY if name in data]
            if given:
                raise ValueError(f"{', '.join(f'`{n}`' for n in given)} of `concurrency` "
                                 f"{'is' if len(given) == 1 else 'are'} not supported by Lanner (no documented "
                                 "behaviour of Kestra's to follow); remove it — `limit` and `behavior` "
                                 "(QUEUE, CANCEL, FAIL) are supported")
        return data


class Trigger(BaseModel):
    """A trigger's common keys; each trigger type's own keys are kept for the scheduler."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str = Field(pattern=PATTERNS["trigger id"])
    type: str
    description: str | None = None
    disabled: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TaskPlace:
    """Where a task sits: its parent task (None at the top) and the block that holds it."""

    task: Task
    parent_id: str | None
    block: str  # "tasks", "errors", "finally", "afterExecution", "listeners", or a flowable's own list name


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=PATTERNS["flow id"], max_length=MAX_LENGTH["flow id"])
    namespace: str = Field(pattern=PATTERNS["namespace"], max_length=MAX_LENGTH["namespace"])
    revision: int | None = Field(default=None, ge=1)
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    inputs: list[Input] = Field(default_factory=empty_list)
    variables: dict[str, Any] = Field(default_factory=dict)
    tasks: list[Task] = Field(min_length=1)
    errors: list[Task] = Field(default_factory=empty_list)
    finally_: list[Task] = Field(default_factory=empty_list, alias="finally")
    afterExecution: list[Task] = Field(default_factory=empty_list)
    listeners: list[Listener] = Field(default_factory=empty_list)
    outputs: list[FlowOutput] = Field(default_factory=empty_list)
    disabled: bool = False
    pluginDefaults: list[PluginDefault] = Field(default_factory=empty_list)
    taskDefaults: list[PluginDefault] = Field(default_factory=empty_list)
    retry: Retry | None = None
    concurrency: Concurrency | None = None
    triggers: list[Trigger] = Field(default_factory=empty_list)
    sla: list[Sla] = Field(default_factory=empty_list)
    deleted: bool = False
    tenantId: str | None = None

    _source: str = PrivateAttr(default="")
    _file: str | None = PrivateAttr(default=None)
    _index: dict[str, TaskPlace] | None = PrivateAttr(default=None)
    _shares_folders: bool | None = PrivateAttr(default=None)
    _isolates: bool | None = PrivateAttr(default=None)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return as_label_map(value)

    # -- where things are ------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self._source

    @property
    def file(self) -> str | None:
        return self._file

    @property
    def uid(self) -> str:
        return f"{self.namespace}.{self.id}"

    def blocks(self) -> dict[str, list[Task]]:
        return {
            "tasks": self.tasks,
            "errors": self.errors,
            "finally": self.finally_,
            "afterExecution": self.afterExecution,
            "listeners": [t for listener in self.listeners for t in listener.tasks],
        }

    def index(self) -> dict[str, TaskPlace]:
        """Every task by id with its parent and block; built once.

        Read straight from pydantic's private slot: it is asked for several times per task run,
        and the `self._index` attribute goes through `BaseModel.__getattr__` (slow).
        """
        built = (self.__pydantic_private__ or {}).get("_index")
        if built is not None:
            return built
        if self._index is None:
            index: dict[str, TaskPlace] = {}

            def visit(tasks: list[Task], parent: str | None, block: str) -> None:
                for t in tasks:
                    index.setdefault(t.id, TaskPlace(t, parent, block))
                    for name, children in t.child_lists().items():
                        visit(children, t.id, name)

            for block, tasks in self.blocks().items():
                visit(tasks, None, block)
            self._index = index
        return self._index

    def shares_folders(self) -> bool:
        """Does any task of the flow share its working folder with its children (`WorkingDirectory`)?

        Asked for every task run to dispatch: a flow without one needs no walk up its parents.
        """
        return self._any_task_declares("shares_working_directory", "_shares_folders")

    def isolates_iterations(self) -> bool:
        """Does any task of the flow run its iterations apart from each other (`Loop`)? Asked for
        every template's variables: a flow without one keeps the plain `outputs` view."""
        return self._any_task_declares("isolates_iterations", "_isolates")

    def _any_task_declares(self, flag: str, slot: str) -> bool:
        """Does any task's class set `flag`? Found once, kept in the private `slot`."""
        private = self.__pydantic_private__ or {}
        found = private.get(slot)
        if found is None:
            found = any(getattr(place.task, flag, False) for place in self.index().values())
            setattr(self, slot, found)
        return bool(found)

    def task(self, task_id: str) -> Task:
        return self.index()[task_id].task

    def all_tasks(self) -> list[Task]:
        out: list[Task] = []
        for tasks in self.blocks().values():
            for t in tasks:
                out.extend(t.all_tasks())
        return out
