"""YAML → validated `Flow`, with every problem reported at its line.

`yaml_source` keeps the line and column of every key, value and item, so each pydantic error
can be pointed back at the text the user wrote. Tasks are built one by one with their own class
(looked up by `type`) before the flow itself is validated: a flow with three mistakes gets three
located messages, not one mapper stack trace.
"""

from __future__ import annotations

import functools
import stat
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydantic

from lanner.errors import LannerError, Located, ValidationError, ValidationErrors
from lanner.loading.inputs import check_inputs
from lanner.loading.messages import located_errors, short
from lanner.model import yaml_source
from lanner.model.flow import Flow, Input
from lanner.model.maps import deep_merge, dotted_clash
from lanner.model.task import Task
from lanner.plugins import registry


def load_flow_file(path: str | Path) -> Flow:
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise ValidationError(f"no such file `{path}`", hint="check the path") from None
    except OSError as exc:
        raise ValidationError(f"cannot read `{path}`: {exc.strerror or exc}",
                              hint="give a readable YAML file") from None
    if not stat.S_ISREG(mode):  # reading a FIFO or a device would block or never end
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ValidationError(f"`{path}` is {kind}", hint="give the path of a flow's YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"no such file `{path}`", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read `{path}`: {exc}", hint="give a UTF-8 YAML file") from exc
    return load_flow(text, file=str(path))


def load_flow(text: str, file: str | None = None) -> Flow:
    """Parse and validate; raises `ValidationErrors` listing every problem found."""
    builder = _Builder(file)
    flow = builder.flow(text)
    if builder.errors or flow is None:
        problems = builder.errors or [ValidationError("invalid flow", where=Located(file))]
        problems.sort(key=lambda e: (e.where.line or 0, e.where.column or 0))
        raise ValidationErrors(problems)
    flow._source = text
    flow._file = file
    from lanner.model.subflow_chains import check_chains

    calls_itself = check_chains([flow], [flow])
    if calls_itself:
        raise ValidationErrors(list(calls_itself))
    return flow


# ---------------------------------------------------------------------------------------------


def _plain(node: Any) -> Any:
    return yaml_source.plain(node)


def _line_of(container: Any, key: Any, *, value: bool = False) -> tuple[int | None, int | None]:
    return yaml_source.position(container, key, value=value)


def _node_line(node: Any) -> int | None:
    return yaml_source.line_of(node)


def _contains_task(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """`seen`: the models already being walked, so that a model holding itself (an OBJECT input's
    `properties` are inputs) ends the walk instead of recursing forever."""
    if isinstance(annotation, type):
        if issubclass(annotation, Task):
            return True
        if issubclass(annotation, pydantic.BaseModel) and annotation not in seen:
            inner = seen | {annotation}
            return any(_contains_task(f.annotation, inner) for f in annotation.model_fields.values())
        return False
    return any(_contains_task(a, seen) for a in typing.get_args(annotation))


def _contains_input(annotation: Any) -> bool:
    """A field declared as a list of flow-style inputs (`list[Input] | None`)."""
    if annotation is Input:
        return True
    return any(_contains_input(a) for a in typing.get_args(annotation))


@functools.cache
def _input_fields(cls: type[Task]) -> tuple[str, ...]:
    """The fields of a task class that hold flow-style inputs: once per class, not per task (the
    walk through the annotations cost more than the rest of loading a flow of 400 tasks)."""
    return tuple(key for key, field in cls.model_fields.items() if _contains_input(field.annotation))


def _without_refused(items: Any, refused: dict[int, set[str]]) -> Any:
    """The raw inputs without the properties `check_inputs` refused (reported once, by it)."""
    if not refused or not isinstance(items, list):
        return items
    return [{k: v for k, v in item.items() if k not in refused.get(i, ())} if isinstance(item, dict) else item
            for i, item in enumerate(items)]


def _union_member(members: list[Any], value: Any) -> Any:
    """The member of a union that holds tasks and fits the value's shape (a list or a map), if any."""
    for member in members:
        if _contains_task(member) and ((isinstance(value, list) and typing.get_origin(member) is list) or (
                isinstance(value, dict) and typing.get_origin(member) is not list)):
            return member
    return None


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.text = ""  # the flow's YAML, for placing template errors on their line
        self.errors: list[LannerError] = []
        self.defaults: list[dict[str, Any]] = []
        self.seen_ids: dict[str, str] = {}

    # -- errors ------------------------------------------------------------------------------

    def error(self, message: str, hint: str | None, line: int | None, col: int | None = None,
              path: str | None = None) -> None:
        self.errors.append(ValidationError(message, hint=hint, where=Located(self.file, line, col, path)))

    # -- the flow ----------------------------------------------------------------------------

    def flow(self, text: str) -> Flow | None:
        self.text = text
        root = self.root(text)
        if root is None:
            return None
        raw_defaults = root.get("pluginDefaults") or root.get("taskDefaults") or []
        if isinstance(raw_defaults, list):
            self.defaults = [_plain(d) for d in raw_defaults if isinstance(d, dict)]
        data: dict[str, Any] = {}
        for key, value in root.items():
            if key in ("tasks", "errors", "finally", "afterExecution"):
                data[key] = self.task_list(root, key, value, key)
            elif key == "listeners":  # each listener's `tasks` are built and located like any task list
                data[key] = self.nested(Flow.model_fields[key].annotation, root, key, value, key)
                for listener in data[key] if isinstance(data[key], list) else []:
                    if isinstance(listener, dict) and isinstance(listener.get("tasks"), list):
                        listener["tasks"] = [t for t in listener["tasks"] if t is not None]  # reported already
            else:
                data[key] = _plain(value)
        if "tasks" not in root:
            self.error("the flow has no `tasks`", "add a `tasks:` list with at least one task", 1)
            return None
        self.check_templates(root.get("outputs"), root, "outputs", "outputs")
        self.check_inputs(root, data)
        task_errors = len(self.errors)
        try:
            flow = Flow.model_validate(data)
        except pydantic.ValidationError as exc:
            self.errors.extend(located_errors(exc, root, "", Flow, "the flow", self.file))
            if task_errors:  # a list emptied by its own broken tasks is not a further problem
                self.errors = [e for i, e in enumerate(self.errors)
                               if i < task_errors or "`tasks` is empty" not in e.message]
            return None
        self.check_flow(flow, root)
        return flow

    def root(self, text: str) -> Any:
        """The YAML's top-level map, or None with the reason reported (empty, not YAML, not a map)."""
        if not text.strip():
            self.error("the file is empty", "a flow needs at least `id`, `namespace` and `tasks`", 1)
            return None
        try:
            root = yaml_source.load(text)
        except yaml_source.YamlError as exc:
            line = exc.line + 1 if exc.line is not None else None
            col = exc.column + 1 if exc.column is not None else None
            self.error(f"invalid YAML: {exc.problem}", exc.hint, line, col)
            return None
        if not isinstance(root, dict):
            self.error("a flow must be a YAML map", "start with `id:`, `namespace:` and `tasks:`", 1)
            return None
        return root

    # -- tasks -------------------------------------------------------------------------------

    def task_list(self, container: Any, key: Any, value: Any, path: str) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            line, col = _line_of(container, key)
            self.error(f"`{path}` must be a list of tasks", "start each task with `- id: …`", line, col, path)
            return []
        out: list[Any] = []
        for i, item in enumerate(value):
            task = self.task(value, i, item, f"{path}[{i}]")
            if task is not None:
                out.append(task)
        return out

    def task(self, container: Any, key: Any, raw: Any, path: str) -> Task | None:
        line, col = _line_of(container, key)
        if not isinstance(raw, dict):
            self.error(f"`{path}` must be a task (a map with `id` and `type`)", "write `- id: …` then `type: …`",
                       line, col, path)
            return None
        label = f"{path} ({raw.get('id')})" if raw.get("id") else path
        self.check_unique_id(raw, label, path)
        cls = self.task_class(raw, label, path, line)
        if cls is None:
            return None
        built, broken = self.properties(cls, raw, path)
        self.check_task_inputs(cls, raw, built, path)
        try:
            task = cls.model_validate(built)
        except pydantic.ValidationError as exc:
            self.errors.extend(located_errors(exc, raw, path, cls, label, self.file, skip=broken))
            return None
        for inner in getattr(task, "internal_tasks", list)():  # ForEachItem's `<id>_split`, …: ids of their own
            self.check_unique_id({"id": inner.id}, label, path, at=(line, col))
        if task.logToFile and task.kind != "runnable":
            # A runnable task's attempt keeps its lines as a file (`worker/log_files.py`); a flowable or
            # execution task has no attempt of its own to run, its lines are the executor's.
            ll, lc = _line_of(raw, "logToFile") if "logToFile" in raw else (line, col)
            self.error(f"{label}: `logToFile: true` applies to tasks that run (scripts, HTTP, Log…); a {task.kind} "
                       "task's lines are the executor's and stay in the log store",
                       "remove `logToFile`", ll, lc, f"{path}.logToFile")
        return task

    def check_task_inputs(self, cls: type[Task], raw: dict[str, Any], built: dict[str, Any], path: str) -> None:
        """A task's lists of inputs (a Pause's `onResume`) are checked like the flow's own, type by type."""
        for key in _input_fields(cls):
            if isinstance(raw.get(key), list):
                problems, refused = check_inputs(raw[key], self.file, f"{path}.{key}")
                self.errors.extend(problems)
                built[key] = _without_refused(built.get(key), refused)

    def check_unique_id(self, raw: dict[str, Any], label: str, path: str,
                        at: tuple[int | None, int | None] | None = None) -> None:
        """`at`: where a task a plugin made itself (no text of its own) is reported: its maker's line."""
        tid = raw.get("id")
        if not isinstance(tid, str):
            return
        if tid in self.seen_ids:
            il, ic = at or _line_of(raw, "id", value=True)
            self.error(f"{label}: duplicate task id `{tid}` (also used at {self.seen_ids[tid]})",
                       "task ids must be unique in the whole flow, including errors and finally (and the "
                       "`<id>_split`, `<id>_items`, `<id>_merge` tasks a ForEachItem adds)", il, ic, path)
        else:
            self.seen_ids[tid] = f"line {at[0] if at else _node_line(raw)}"

    def task_class(self, raw: dict[str, Any], label: str, path: str, line: int | None) -> type[Task] | None:
        """The class registered for the task's `type`, or None with the reason reported at that line."""
        type_name = raw.get("type")
        if not isinstance(type_name, str) or not type_name:
            if "type" in raw:
                tl, tc = _line_of(raw, "type", value=True)
                self.error(f"{label}: `type` must be a task type name, not `{short(type_name)}`",
                           "write e.g. `type: io.kestra.plugin.core.log.Log`", tl, tc, path)
            else:
                self.error(f"{label}: the task has no `type`", "add e.g. `type: io.kestra.plugin.core.log.Log`",
                           _node_line(raw) or line, None, path)
            return None
        try:
            return registry.load(type_name)
        except LannerError as exc:
            tl, tc = _line_of(raw, "type", value=True)
            self.error(f"{label}: {exc.message}", exc.hint, tl, tc, path)
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not crash validation
            tl, tc = _line_of(raw, "type", value=True)
            self.error(f"{label}: the plugin for `{type_name}` failed to load: {exc}",
                       "reinstall the package that provides it", tl, tc, path)
        return None

    def properties(self, cls: type[Task], raw: dict[str, Any], path: str) -> tuple[dict[str, Any], set[str]]:
        """The task's properties (plugin defaults applied, nested tasks built), and those whose nested
        tasks already reported their own errors (pydantic's complaints about them would repeat those)."""
        built: dict[str, Any] = {}
        broken: set[str] = set()
        for k, v in self.apply_defaults(raw["type"], raw).items():
            field = cls.model_fields.get(k) or _field_by_alias(cls, k)
            if field is not None and _contains_task(field.annotation):
                before = len(self.errors)
                built[k] = self.nested(field.annotation, raw if k in raw else None, k, v, f"{path}.{k}")
                if len(self.errors) > before:
                    broken.add(k)
            else:
                built[k] = _plain(v)
                if k in raw:
                    self.check_templates(v, raw, k, f"{path}.{k}")
        return built, broken

    def nested(self, annotation: Any, container: Any, key: Any, value: Any, path: str) -> Any:
        """Build the tasks inside a flowable's property, following the property's type."""
        if isinstance(annotation, type) and issubclass(annotation, Task):
            return self.task(container, key, value, path) if container is not None else value
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (list, Iterable) and isinstance(value, list) and args:
            return [self.nested(args[0], value, i, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if origin is dict and isinstance(value, dict) and len(args) == 2:
            return {k: self.nested(args[1], value, k, v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel) and isinstance(value, dict):
            return self.sub_model(annotation, value, path)
        member = _union_member(args, value) if origin is not None else None
        if member is not None:
            return self.nested(member, container, key, value, path)
        return None if value is None else _plain(value)

    def sub_model(self, model: type[pydantic.BaseModel], value: dict[str, Any], path: str) -> dict[str, Any]:
        """A sub-model's properties (a Dag item's `task`), building the tasks among them."""
        out: dict[str, Any] = {}
        for k, v in value.items():
            field = model.model_fields.get(k)
            if field is not None and _contains_task(field.annotation):
                out[k] = self.nested(field.annotation, value, k, v, f"{path}.{k}")
            else:
                out[k] = _plain(v)
        return out

    def apply_defaults(self, type_name: str, raw: dict[str, Any]) -> dict[str, Any]:
        data = dict(raw)
        for d in self.defaults:
            dtype = str(d.get("type", ""))
            if not dtype or not (type_name == dtype or type_name.startswith(dtype.rstrip(".") + ".")):
                continue
            values = d.get("values") or {}
            if not isinstance(values, dict):
                continue
            if d.get("forced"):
                data = deep_merge(data, values)
            else:
                data = deep_merge(values, data)
        return data

    # -- templates ---------------------------------------------------------------------------

    def check_templates(self, value: Any, container: Any, key: Any, path: str) -> None:
        if isinstance(value, str):
            if "{" not in value:
                return
            from lanner import expr
            from lanner.expr import origins

            line, col = _line_of(container, key, value=True)
            origin = origins.Origin(self.file, line, col, self.text) if line is not None and col is not None \
                else None
            if origin is not None:
                origins.remember(value, origin)  # so that an error at run time names this line too
            try:
                expr.check_syntax(value)
            except expr.ExpressionError as exc:
                if origin is not None and exc.column is not None:
                    line, col = origins.locate(value, exc.column, origin)
                self.errors.append(exc.located(Located(self.file, line, col, path)))
        elif isinstance(value, dict):
            for k, v in value.items():
                self.check_templates(v, value, k, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.check_templates(v, value, i, f"{path}[{i}]")

    # -- whole-flow checks -------------------------------------------------------------------

    def check_inputs(self, root: Any, data: dict[str, Any]) -> None:
        """Each input's properties against its type (`loading/inputs.py`); refused ones are dropped
        from `data` so that pydantic does not report them a second time."""
        problems, refused = check_inputs(root.get("inputs"), self.file)
        self.errors.extend(problems)
        if "inputs" in data:
            data["inputs"] = _without_refused(data["inputs"], refused)

    def check_flow(self, flow: Flow, root: Any) -> None:
        """Ids pydantic cannot see are repeated: inputs, outputs and triggers, each list on its own."""
        lists: list[tuple[str, str, list[Any]]] = [("inputs", "input", flow.inputs),
                                                   ("outputs", "output", flow.outputs),
                                                   ("triggers", "trigger", flow.triggers)]
        for block, what, items in lists:
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    line, col = _line_of(root.get(block), i)
                    named = f"{what} id" if what == "trigger" else what
                    self.error(f"duplicate {named} `{item.id}`", f"{what} ids must be unique", line, col,
                               f"{block}[{i}]")
                seen.add(item.id)
        self.check_dotted_inputs(flow, root)

    def check_dotted_inputs(self, flow: Flow, root: Any) -> None:
        """A dotted input id is read nested (`a.b` as `inputs.a.b`, as Kestra nests it): each of its
        dot-separated names must be there, and no other input may stand where it nests."""
        ids = [i.id for i in flow.inputs]
        for i, key in enumerate(ids):
            if "" in key.split("."):
                line, col = _line_of(root.get("inputs"), i)
                self.error(f"input id `{key}` has an empty name at one of its dots",
                           "templates read a dotted id as nested names (`a.b` as `inputs.a.b`); "
                           "remove the extra or trailing dot", line, col, f"inputs[{i}]")
        clash = dotted_clash(ids)
        if clash is not None:
            first, second = clash
            line, col = _line_of(root.get("inputs"), ids.index(second))
            self.error(f"inputs `{first}` and `{second}` clash: `inputs.{min(clash, key=len)}` cannot be "
                       f"both a value and the map that holds `{max(clash, key=len)}`",
                       "rename one of them (Kestra keeps only one of the two and logs the conflict)",
                       line, col, f"inputs[{ids.index(second)}]")


def _field_by_alias(cls: type[pydantic.BaseModel], name: str) -> Any:
    for field in cls.model_fields.values():
        if field.alias == name:
            return field
    return None


