"""YAML → validated `Flow`, with every problem reported at its line.

`yaml_source` keeps the line and column of every key, value and item, so each pydantic error
can be pointed back at the text the user wrote. Tasks are built one by one with their own class
(looked up by `type`) before the flow itself is validated: a flow with three mistakes gets three
located messages, not one mapper stack trace.
"""

from __future__ import annotations

import difflib
import stat
import typing
from collections.abc import Iterable, Set
from pathlib import Path
from typing import Any

import pydantic

from lanner.errors import LannerError, Located, ValidationError, ValidationErrors
from lanner.model import yaml_source
from lanner.model.flow import Flow
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


def _contains_task(annotation: Any) -> bool:
    if isinstance(annotation, type):
        if issubclass(annotation, Task):
            return True
        if issubclass(annotation, pydantic.BaseModel):
            return any(_contains_task(f.annotation) for f in annotation.model_fields.values())
        return False
    return any(_contains_task(a) for a in typing.get_args(annotation))


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.errors: list[LannerError] = []
        self.defaults: list[dict[str, Any]] = []
        self.seen_ids: dict[str, str] = {}

    # -- errors ------------------------------------------------------------------------------

    def error(self, message: str, hint: str | None, line: int | None, col: int | None = None,
              path: str | None = None) -> None:
        self.errors.append(ValidationError(message, hint=hint, where=Located(self.file, line, col, path)))

    # -- the flow ----------------------------------------------------------------------------

    def flow(self, text: str) -> Flow | None:
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
        raw_defaults = root.get("pluginDefaults") or root.get("taskDefaults") or []
        if isinstance(raw_defaults, list):
            self.defaults = [_plain(d) for d in raw_defaults if isinstance(d, dict)]
        data: dict[str, Any] = {}
        for key, value in root.items():
            if key in ("tasks", "errors", "finally", "afterExecution"):
                data[key] = self.task_list(root, key, value, key)
            else:
                data[key] = _plain(value)
        if "tasks" not in root:
            self.error("the flow has no `tasks`", "add a `tasks:` list with at least one task", 1)
            return None
        for key in ("outputs",):
            self.check_templates(root.get(key), root, key, key)
        task_errors = len(self.errors)
        try:
            flow = Flow.model_validate(data)
        except pydantic.ValidationError as exc:
            self.pydantic_errors(exc, root, "", Flow, "the flow")
            if task_errors:  # a list emptied by its own broken tasks is not a further problem
                self.errors = [e for i, e in enumerate(self.errors)
                               if i < task_errors or "`tasks` is empty" not in e.message]
            return None
        self.check_flow(flow, root)
        return flow

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
        tid = raw.get("id")
        if isinstance(tid, str):
            if tid in self.seen_ids:
                il, ic = _line_of(raw, "id", value=True)
                self.error(f"{label}: duplicate task id `{tid}` (also used at {self.seen_ids[tid]})",
                           "task ids must be unique in the whole flow, including errors and finally",
                           il, ic, path)
            else:
                self.seen_ids[tid] = f"line {_node_line(raw)}"
        type_name = raw.get("type")
        if not isinstance(type_name, str) or not type_name:
            if "type" in raw:
                tl, tc = _line_of(raw, "type", value=True)
                self.error(f"{label}: `type` must be a task type name, not `{_short(type_name)}`",
                           "write e.g. `type: io.kestra.plugin.core.log.Log`", tl, tc, path)
            else:
                self.error(f"{label}: the task has no `type`", "add e.g. `type: io.kestra.plugin.core.log.Log`",
                           _node_line(raw) or line, None, path)
            return None
        try:
            cls = registry.load(type_name)
        except LannerError as exc:
            tl, tc = _line_of(raw, "type", value=True)
            self.error(f"{label}: {exc.message}", exc.hint, tl, tc, path)
            return None
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not crash validation
            tl, tc = _line_of(raw, "type", value=True)
            self.error(f"{label}: the plugin for `{type_name}` failed to load: {exc}",
                       "reinstall the package that provides it", tl, tc, path)
            return None
        data = self.apply_defaults(type_name, raw)
        built: dict[str, Any] = {}
        broken: set[str] = set()  # properties whose nested tasks already reported their own errors
        for k, v in data.items():
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
        try:
            return cls.model_validate(built)
        except pydantic.ValidationError as exc:
            self.pydantic_errors(exc, raw, path, cls, f"{label}", skip=broken)
            return None

    def nested(self, annotation: Any, container: Any, key: Any, value: Any, path: str) -> Any:
        """Build the tasks inside a flowable's property, following the property's type."""
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if isinstance(annotation, type) and issubclass(annotation, Task):
            return self.task(container, key, value, path) if container is not None else value
        if origin in (list, Iterable) and isinstance(value, list) and args:
            return [self.nested(args[0], value, i, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if origin is dict and isinstance(value, dict) and len(args) == 2:
            return {k: self.nested(args[1], value, k, v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel) and isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                field = annotation.model_fields.get(k)
                if field is not None and _contains_task(field.annotation):
                    out[k] = self.nested(field.annotation, value, k, v, f"{path}.{k}")
                else:
                    out[k] = _plain(v)
            return out
        if origin is not None:  # a union: use the first member that holds tasks
            for arg in args:
                if _contains_task(arg):
                    if (isinstance(value, list) and typing.get_origin(arg) is list) or (
                        isinstance(value, dict) and typing.get_origin(arg) is not list
                    ):
                        return self.nested(arg, container, key, value, path)
        if value is None:
            return None
        return _plain(value)

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
                data = _deep_merge(data, values)
            else:
                data = _deep_merge(values, data)
        return data

    # -- templates ---------------------------------------------------------------------------

    def check_templates(self, value: Any, container: Any, key: Any, path: str) -> None:
        if isinstance(value, str):
            if "{" not in value:
                return
            from lanner import expr

            try:
                expr.check_syntax(value)
            except expr.ExpressionError as exc:
                line, col = _line_of(container, key, value=True)
                column = None
                if col is not None and exc.column is not None and "\n" not in value:
                    # the template's column within the line: after the opening quote, if any
                    quoted = isinstance(value, yaml_source.Quoted)
                    column = col + exc.column - 1 + (1 if quoted else 0)
                self.errors.append(exc.located(Located(self.file, line, column, path)))
        elif isinstance(value, dict):
            for k, v in value.items():
                self.check_templates(v, value, k, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.check_templates(v, value, i, f"{path}[{i}]")

    # -- pydantic errors → located messages --------------------------------------------------

    def pydantic_errors(self, exc: pydantic.ValidationError, raw: Any, path: str, cls: type, label: str,
                        skip: Set[str] = frozenset()) -> None:
        # Any, not pydantic's ErrorDetails: a suggestion for a misspelt name is added to the error below
        errors: list[Any] = [e for e in exc.errors(include_url=False) if not (e["loc"] and str(e["loc"][0]) in skip)]
        errors = _merge_item_errors(cls, _merge_union_errors(errors))
        # A misspelt required property shows up twice (unknown + missing): report it once, as the
        # unknown one with the suggestion. Pair them first, whatever order pydantic listed them in.
        missing = {str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1}
        misspelt: dict[int, str] = {}
        for i, err in enumerate(errors):
            if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
                close = difflib.get_close_matches(str(err["loc"][0]), sorted(missing), n=1, cutoff=0.55)
                if close:
                    misspelt[i] = close[0]
        explained = set(misspelt.values())
        for i, err in enumerate(errors):
            if i in misspelt:
                err = {**err, "misspelt": misspelt[i]}
            elif err["type"] == "missing" and len(err["loc"]) == 1 and str(err["loc"][0]) in explained:
                continue
            line, col = self._locate(raw, err["loc"])
            loc = [p for p in err["loc"] if p not in _PYDANTIC_TAGS]
            dotted = ".".join(str(p) for p in loc)
            where = f"{path}.{dotted}" if path and dotted else (path or dotted)
            item_label, err = self._item_label(raw, cls, label, err)
            self.errors.append(self.explain(err, cls, item_label, where, line, col))

    @staticmethod
    def _item_label(raw: Any, cls: type, label: str, err: Any) -> tuple[str, Any]:
        """`inputs[0] (name)` rather than `the flow` for a problem inside one item of a flow list."""
        loc = err["loc"]
        if cls is Flow and len(loc) >= 3 and loc[0] in ("inputs", "outputs", "triggers", "pluginDefaults") \
                and isinstance(loc[1], int):
            items = raw.get(loc[0]) if isinstance(raw, dict) else None
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            ident = item.get("id") if isinstance(item, dict) else None
            return f"{loc[0]}[{loc[1]}]" + (f" ({ident})" if ident else ""), {**err, "loc": tuple(loc[2:])}
        return label, err

    @staticmethod
    def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
        node: Any = raw
        line, col = _node_line(raw), None
        for part in loc:
            if isinstance(node, dict) and part in node:
                line, col = _line_of(node, part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                line, col = _line_of(node, part)
                node = node[part]
        return line, col

    def explain(self, err: Any, cls: type, label: str, where: str, line: int | None,
                col: int | None) -> LannerError:
        kind = err["type"]
        loc = err["loc"]
        name = str(loc[-1]) if loc else ""
        what = f"`{getattr(cls, '__name__', cls)}`"
        type_hint = ""
        if issubclass(cls, Task):
            type_hint = f" of {what}"
        item_model = _item_model(cls, loc)
        if item_model is not None and kind == "item_shape":
            fields = ", ".join(f"`{f}`" for f in _field_names(item_model))
            seq = f"{loc[0]}[{loc[1]}]"
            return ValidationError(f"{label}: `{seq}` {err['msg']}", hint=f"each item of `{loc[0]}` here takes {fields}"
                                   + (", e.g. `- task: {id: …, type: …}` with `dependsOn: [ids]`"
                                      if "dependsOn" in item_model.model_fields else ""),
                                   where=Located(self.file, line, col, where))
        if kind == "extra_forbidden":
            known = _field_names(cls) if len(loc) == 1 else []
            close = [err["misspelt"]] if err.get("misspelt") else difflib.get_close_matches(name, known, n=1,
                                                                                             cutoff=0.55)
            if err.get("misspelt"):
                hint = f"did you mean `{close[0]}`? (`{close[0]}` is required and missing)"
            elif close:
                hint = f"did you mean `{close[0]}`?"
            else:
                hint = "known properties: " + ", ".join(sorted(known)) if known else "remove it"
            return ValidationError(f"{label}: unknown property `{name}`{type_hint}", hint=hint,
                                   where=Located(self.file, line, col, where))
        if kind == "missing":
            return ValidationError(f"{label}: missing required property `{name}`{type_hint}",
                                   hint=f"add `{name}: …`", where=Located(self.file, line, col, where))
        if kind == "string_pattern_mismatch" and name == "id":
            return ValidationError(f"{label}: `{err.get('input')}` is not a valid id",
                                   hint="use letters, digits, `_` and `-` (task ids take no dots)",
                                   where=Located(self.file, line, col, where))
        if kind == "string_pattern_mismatch" and name == "namespace":
            return ValidationError(f"{label}: `{err.get('input')}` is not a valid namespace",
                                   hint="use lower-case letters, digits, `.`, `_` and `-`, e.g. company.team",
                                   where=Located(self.file, line, col, where))
        if kind == "too_short" and name == "tasks":
            return ValidationError(f"{label}: `tasks` is empty", hint="add at least one task",
                                   where=Located(self.file, line, col, where))
        if kind == "literal_error":
            return ValidationError(f"{label}: `{where}` is `{err.get('input')}`, not one of the allowed values",
                                   hint=err["msg"].replace("Input should be", "use"),
                                   where=Located(self.file, line, col, where))
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if _TYPE_ERRORS.get(kind):
            msg = f"expected {_TYPE_ERRORS[kind]}, got {_kind(err.get('input'))}"
        got = err.get("input")
        shown = ""
        if got is not None and not isinstance(got, (dict, list)) and f"`{_short(got)}`" not in msg:
            shown = f" (got `{_short(got)}`)"
        relative = ".".join(str(p) for p in loc if p not in _PYDANTIC_TAGS) or where
        head, _, hint = msg.partition("; ")
        return ValidationError(f"{label}: `{relative}`: {head}{shown}", hint=hint or "fix the value",
                               where=Located(self.file, line, col, where))

    # -- whole-flow checks -------------------------------------------------------------------

    def check_flow(self, flow: Flow, root: Any) -> None:
        seen: set[str] = set()
        for i, inp in enumerate(flow.inputs):
            if inp.id in seen:
                line, col = _line_of(root.get("inputs"), i)
                self.error(f"duplicate input `{inp.id}`", "input ids must be unique", line, col, f"inputs[{i}]")
            seen.add(inp.id)
        seen = set()
        for i, out in enumerate(flow.outputs):
            if out.id in seen:
                line, col = _line_of(root.get("outputs"), i)
                self.error(f"duplicate output `{out.id}`", "output ids must be unique", line, col, f"outputs[{i}]")
            seen.add(out.id)
        seen = set()
        for i, trig in enumerate(flow.triggers):
            if trig.id in seen:
                line, col = _line_of(root.get("triggers"), i)
                self.error(f"duplicate trigger id `{trig.id}`", "trigger ids must be unique", line, col,
                           f"triggers[{i}]")
            seen.add(trig.id)


_PYDANTIC_TAGS = ("function-after", "function-before", "timedelta", "str", "bool", "int")


_TYPE_ERRORS = {"string_type": "a string", "list_type": "a list", "dict_type": "a map", "int_type": "an integer",
                "int_parsing": "an integer", "bool_type": "a boolean", "bool_parsing": "a boolean",
                "float_type": "a number", "float_parsing": "a number", "model_type": "a map",
                "model_attributes_type": "a map", "literal_error": None}


def _merge_union_errors(errors: list[Any]) -> list[Any]:
    """One message for a value that matches none of a union's types (`message: {a: 1}`)."""
    out: list[Any] = []
    seen: dict[Any, Any] = {}
    for err in errors:
        kinds = _TYPE_ERRORS.get(err["type"], "")
        if kinds == "" or not err["loc"]:
            out.append(err)
            continue
        key = err["loc"][0] if isinstance(err["loc"][0], str) else tuple(err["loc"][:2])
        base = tuple(p for p in err["loc"] if p not in _PYDANTIC_TAGS and not str(p).startswith(("list[", "dict[")))
        if key in seen and seen[key]["base"] == base:
            if kinds:
                seen[key]["expected"].append(kinds)
            continue
        merged = {**err, "base": base, "expected": [kinds] if kinds else []}
        seen[key] = merged
        out.append(merged)
    for err in out:
        if len(err.get("expected", [])) > 1:
            expected = list(dict.fromkeys(err["expected"]))
            err["type"] = "union_mismatch"
            err["msg"] = f"expected {' or '.join(expected)}, got {_kind(err.get('input'))}"
            err["loc"] = err["base"]
    return out


def _merge_item_errors(cls: type, errors: list[Any]) -> list[Any]:
    """Missing and unknown properties of one list item of a sub-model (a Dag item): one message."""
    if cls is Flow:  # the flow's own lists (inputs, outputs …) are labelled item by item instead
        return errors
    out: list[Any] = []
    items: dict[tuple[Any, Any], Any] = {}
    for err in errors:
        loc = err["loc"]
        if err["type"] not in ("missing", "extra_forbidden") or len(loc) != 3 or _item_model(cls, loc) is None:
            out.append(err)
            continue
        key = (loc[0], loc[1])
        entry = items.get(key)
        if entry is None:
            entry = {**err, "type": "item_shape", "missing": [], "unknown": []}
            items[key] = entry
            out.append(entry)
        entry["missing" if err["type"] == "missing" else "unknown"].append(f"`{loc[2]}`")
    for entry in items.values():
        parts = []
        if entry["missing"]:
            parts.append("has no " + ", ".join(entry["missing"]))
        if entry["unknown"]:
            parts.append("has an unknown " + ", ".join(entry["unknown"]))
        entry["msg"] = " and ".join(parts)
    return out


def _item_model(cls: type, loc: tuple[Any, ...]) -> type[pydantic.BaseModel] | None:
    """The model of list items when an error is inside one (`Dag.tasks[0]` → DagTask)."""
    if len(loc) < 3 or not isinstance(loc[1], int) or not isinstance(cls, type) or \
            not issubclass(cls, pydantic.BaseModel):
        return None
    field = cls.model_fields.get(str(loc[0]))
    if field is None:
        return None
    for arg in typing.get_args(field.annotation):
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel) and not issubclass(arg, Task):
            return arg
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number `{value}`"
    return f"`{_short(value)}`"


def _field_by_alias(cls: type[pydantic.BaseModel], name: str) -> Any:
    for field in cls.model_fields.values():
        if field.alias == name:
            return field
    return None


def _field_names(cls: type) -> list[str]:
    if not isinstance(cls, type) or not issubclass(cls, pydantic.BaseModel):
        return []
    return [f.alias or n for n, f in cls.model_fields.items()]


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
