"""Pydantic's validation errors, turned into located messages a person can act on.

Pydantic reports a flow's mistakes as a list of error dicts (`type`, `loc`, `msg`, `input`).
This module pairs each with the line it is about (through `yaml_source`'s positions), merges
the ones that are one mistake to a reader (a misspelt required property is both unknown and
missing; a value matching none of a union's types is one error per member), and words each
kind of error in the flow's own terms, with a hint saying what to do.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Set
from typing import Any

import pydantic

from lanner.errors import LannerError, Located, ValidationError
from lanner.model import yaml_source
from lanner.model.flow import Flow, FlowOutput, Input, PluginDefault, Trigger
from lanner.model.task import Task


def located_errors(exc: pydantic.ValidationError, raw: Any, path: str, cls: type, label: str, file: str | None,
                   skip: Set[str] = frozenset()) -> list[LannerError]:
    """One message per mistake in `exc`, raised validating `raw` (at `path`) as `cls`."""
    # Any, not pydantic's ErrorDetails: a suggestion for a misspelt name is added to the error below
    errors: list[Any] = [e for e in exc.errors(include_url=False) if not (e["loc"] and str(e["loc"][0]) in skip)]
    errors = _merge_item_errors(cls, _merge_union_errors(errors))
    misspelt = _misspelt(errors)
    explained = set(misspelt.values())
    out: list[LannerError] = []
    for i, err in enumerate(errors):
        if i in misspelt:
            err = {**err, "misspelt": misspelt[i]}
        elif err["type"] == "missing" and len(err["loc"]) == 1 and str(err["loc"][0]) in explained:
            continue
        line, col = _locate(raw, err["loc"])
        loc = [p for p in err["loc"] if p not in _PYDANTIC_TAGS]
        dotted = ".".join(str(p) for p in loc)
        where = f"{path}.{dotted}" if path and dotted else (path or dotted)
        item_label, err, item_cls = _item_label(raw, cls, label, err)
        out.append(explain(err, item_cls, item_label, Located(file, line, col, where)))
    return out


def _misspelt(errors: list[Any]) -> dict[int, str]:
    """A misspelt required property shows up twice (unknown + missing): pair them, whatever the order.

    Returns, for the index of each unknown property, the missing one it most likely means.
    """
    missing = {str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1}
    misspelt: dict[int, str] = {}
    for i, err in enumerate(errors):
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            close = difflib.get_close_matches(str(err["loc"][0]), sorted(missing), n=1, cutoff=0.55)
            if close:
                misspelt[i] = close[0]
    return misspelt


_FLOW_ITEMS: dict[str, type] = {"inputs": Input, "outputs": FlowOutput, "triggers": Trigger,
                                 "pluginDefaults": PluginDefault, "taskDefaults": PluginDefault}


def _item_label(raw: Any, cls: type, label: str, err: Any) -> tuple[str, Any, type]:
    """`inputs[0] (name)` rather than `the flow` for a problem inside one item of a flow list, and the
    item's model (an unknown property of an output is told the output's properties, not the flow's)."""
    loc = err["loc"]
    if cls is Flow and len(loc) >= 3 and loc[0] in _FLOW_ITEMS and isinstance(loc[1], int):
        items = raw.get(loc[0]) if isinstance(raw, dict) else None
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        return (f"{loc[0]}[{loc[1]}]" + (f" ({ident})" if ident else ""), {**err, "loc": tuple(loc[2:])},
                _FLOW_ITEMS[loc[0]])
    return label, err, cls


def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """The deepest position of `loc` the YAML text still has (a missing key points at its map)."""
    node: Any = raw
    line, col = yaml_source.line_of(raw), None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line, col = yaml_source.position(node, part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line, col = yaml_source.position(node, part)
            node = node[part]
    return line, col


# -- one message per kind of error ------------------------------------------------------------


def explain(err: Any, cls: type, label: str, at: Located) -> LannerError:
    """The message for one (merged) pydantic error about `cls`, at `at`."""
    kind = err["type"]
    loc = err["loc"]
    name = str(loc[-1]) if loc else ""
    item_model = _item_model(cls, loc)
    if item_model is not None and kind == "item_shape":
        return _item_shape(err, item_model, label, at)
    if kind == "extra_forbidden":
        return _unknown_property(err, cls, label, name, at)
    if kind == "missing":
        return ValidationError(f"{label}: missing required property `{name}`{_of(cls)}", hint=f"add `{name}: …`",
                               where=at)
    return _named_value(kind, name, err, label, at) or _wrong_value(err, label, at)


def _of(cls: type) -> str:
    """` of `Log`` after a property of a task, naming its class; nothing for the flow's own keys."""
    return f" of `{getattr(cls, '__name__', cls)}`" if issubclass(cls, Task) else ""


def _item_shape(err: Any, item_model: type[pydantic.BaseModel], label: str, at: Located) -> LannerError:
    loc = err["loc"]
    fields = ", ".join(f"`{f}`" for f in _field_names(item_model))
    example = ", e.g. `- task: {id: …, type: …}` with `dependsOn: [ids]`" if "dependsOn" in item_model.model_fields \
        else ""
    return ValidationError(f"{label}: `{loc[0]}[{loc[1]}]` {err['msg']}",
                           hint=f"each item of `{loc[0]}` here takes {fields}{example}", where=at)


def _unknown_property(err: Any, cls: type, label: str, name: str, at: Located) -> LannerError:
    block = _block_model(cls, err["loc"][:-1])
    if block is not None:  # a key inside a property's own block (`namespaceFiles: {inclde: …}`)
        path = ".".join(str(p) for p in err["loc"])
        close = difflib.get_close_matches(name, _field_names(block), n=1, cutoff=0.55)
        hint = f"did you mean `{close[0]}`?" if close else \
            f"`{err['loc'][-2]}` takes: " + ", ".join(sorted(_field_names(block)))
        return ValidationError(f"{label}: unknown property `{path}`{_of(cls)}", hint=hint, where=at)
    known = _field_names(cls) if len(err["loc"]) == 1 else []
    if err.get("misspelt"):
        hint = f"did you mean `{err['misspelt']}`? (`{err['misspelt']}` is required and missing)"
    else:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.55)
        hint = f"did you mean `{close[0]}`?" if close else \
            "known properties: " + ", ".join(sorted(known)) if known else "remove it"
    return ValidationError(f"{label}: unknown property `{name}`{_of(cls)}", hint=hint, where=at)


def _named_value(kind: str, name: str, err: Any, label: str, at: Located) -> LannerError | None:
    """Errors about values people often get wrong, worded for what they are (an id, the task list…)."""
    if kind == "string_pattern_mismatch" and name == "id":
        return ValidationError(f"{label}: `{err.get('input')}` is not a valid id",
                               hint="use letters, digits, `_` and `-` (task ids take no dots)", where=at)
    if kind == "string_pattern_mismatch" and name == "namespace":
        return ValidationError(f"{label}: `{err.get('input')}` is not a valid namespace",
                               hint="use lower-case letters, digits, `.`, `_` and `-`, e.g. company.team", where=at)
    if kind == "too_short" and name == "tasks":
        return ValidationError(f"{label}: `tasks` is empty", hint="add at least one task", where=at)
    if kind == "literal_error":
        relative = ".".join(str(p) for p in err["loc"] if p not in _PYDANTIC_TAGS) or at.path
        return ValidationError(f"{label}: `{relative}` is `{err.get('input')}`, not one of the allowed values",
                               hint=err["msg"].replace("Input should be", "use"), where=at)
    return None


def _wrong_value(err: Any, label: str, at: Located) -> LannerError:
    """Any other error: pydantic's message, reworded for a type mismatch, with the value given."""
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if _TYPE_ERRORS.get(kind):
        msg = f"expected {_TYPE_ERRORS[kind]}, got {_kind(err.get('input'))}"
    got = err.get("input")
    shown = ""
    # a map, a list or an already built task (a Pause's `onPause`) is no value to quote back
    if got is not None and not isinstance(got, (dict, list, Task)) and f"`{short(got)}`" not in msg:
        shown = f" (got `{short(got)}`)"
    relative = ".".join(str(p) for p in err["loc"] if p not in _PYDANTIC_TAGS) or at.path
    head, _, hint = msg.partition("; ")
    return ValidationError(f"{label}: `{relative}`: {head}{shown}", hint=hint or "fix the value", where=at)


# -- merging the errors that are one mistake ---------------------------------------------------


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


def _block_model(cls: type, loc: tuple[Any, ...]) -> type[pydantic.BaseModel] | None:
    """The model of a property that is itself a block of keys (`namespaceFiles` →
    NamespaceFilesOptions), following `loc` from `cls`; None when `loc` leads elsewhere."""
    model: Any = cls
    for part in loc:
        if isinstance(part, int) or not isinstance(model, type) or not issubclass(model, pydantic.BaseModel):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        options = [field.annotation, *typing.get_args(field.annotation)]
        model = next((a for a in options if isinstance(a, type) and issubclass(a, pydantic.BaseModel)
                      and not issubclass(a, Task)), None)
    return model if loc else None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number `{value}`"
    return f"`{short(value)}`"


def _field_names(cls: type) -> list[str]:
    if not isinstance(cls, type) or not issubclass(cls, pydantic.BaseModel):
        return []
    return [f.alias or n for n, f in cls.model_fields.items()]


def short(value: Any) -> str:
    """A value quoted back as the flow's YAML wrote it (`false`, not Python's `False`), cut if long."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
