"""The flow's `inputs`, checked type by type before pydantic sees them.

Pydantic's `Input` takes every property of every input type (Kestra's are one class per type), so
on its own it would accept `min` on a STRING or `validator` on an INT and ignore it. Here each
input's properties are held against its own type's list, and the constraints a value will be
checked against (`validator`, `after`/`before`, `min`/`max`, `allowedFileExtensions`) are checked
themselves, each problem at its line, naming the input and what its type takes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from lanner.errors import Located, ValidationError
from lanner.loading.messages import short
from lanner.model import yaml_source
from lanner.model.flow import INPUT_COMMON, INPUT_PROPERTIES, Flow, Input
from lanner.model.inputs import parse_date, parse_datetime, parse_duration_input, parse_time

# Properties Kestra has (or had) that Lanner refuses with a word of its own, rather than "unknown".
_REFUSED: dict[str, tuple[str, str]] = {
    "expression": ("`expression` (choices computed by a template) is not supported by Lanner",
                   "list the choices in `values`"),
    "extension": ("`extension` was removed from Kestra's FILE inputs",
                  "use `allowedFileExtensions: [.csv]` to restrict the files accepted"),
}

_BOUNDS: dict[str, Callable[[Any], Any]] = {
    "DATE": parse_date, "DATETIME": parse_datetime, "TIME": parse_time, "DURATION": parse_duration_input,
    "INT": float, "FLOAT": float,
}


def check_inputs(items: Any, file: str | None,
                 path: str = "inputs") -> tuple[list[ValidationError], dict[int, set[str]]]:
    """Problems in a raw list of inputs (the flow's `inputs`, or a task's such as a Pause's
    `onResume` at `path`), and, per item, the properties refused (to be dropped before pydantic
    validates the rest, so that one mistake is reported once)."""
    problems: list[ValidationError] = []
    refused: dict[int, set[str]] = {}
    if not isinstance(items, list):
        return problems, refused
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        check = _InputCheck(item, i, file, path)
        check.properties()
        if not check.refused:
            check.constraints()
        problems.extend(check.problems)
        if check.refused:
            refused[i] = check.refused
    return problems, refused


def deprecations(flow: Flow) -> list[ValidationError]:
    """Each deprecated spelling the flow uses, located: Kestra reads them and warns, and so does Lanner
    (`lanner validate` prints them as warnings, the API lists their paths in `deprecationPaths`)."""
    items: Any = None
    try:
        root = yaml_source.load(flow.source) if flow.source else None
        items = root.get("inputs") if isinstance(root, dict) else None
    except yaml_source.YamlError:  # positions are a courtesy; the flow itself already parsed
        items = None
    out: list[ValidationError] = []
    for i, inp in enumerate(flow.inputs):
        item = items[i] if isinstance(items, list) and i < len(items) and isinstance(items[i], dict) else {}
        for old, new in (("name", f"id: {inp.id}"), ("options", "values")):
            if getattr(inp, old) is not None and old in item:
                line, col = yaml_source.position(item, old)
                out.append(ValidationError(f"inputs[{i}] ({inp.id}): `{old}` is deprecated", hint=f"write `{new}`",
                                           where=Located(flow.file, line, col, f"inputs[{i}].{old}")))
    return out


class _InputCheck:
    def __init__(self, item: dict[str, Any], index: int, file: str | None, path: str = "inputs") -> None:
        self.item = item
        self.index = index
        self.file = file
        self.path = f"{path}[{index}]"
        ident = item.get("id") or item.get("name")
        self.label = self.path + (f" ({ident})" if isinstance(ident, str) else "")
        kind = item.get("type")
        self.type = kind if isinstance(kind, str) and kind in INPUT_PROPERTIES else None
        self.problems: list[ValidationError] = []
        self.refused: set[str] = set()

    def error(self, key: str, message: str, hint: str, *, value: bool = False) -> None:
        line, col = yaml_source.position(self.item, key, value=value)
        self.problems.append(ValidationError(f"{self.label}: {message}", hint=hint,
                                             where=Located(self.file, line, col, f"{self.path}.{key}")))

    def properties(self) -> None:
        """Each property belongs to this input's type (or, when the type itself is wrong, to some type)."""
        takes = sorted(INPUT_COMMON + INPUT_PROPERTIES[self.type]) if self.type else sorted(Input.model_fields)
        for key in map(str, self.item):
            if key in takes:
                continue
            self.refused.add(key)
            if key in _REFUSED:
                self.error(key, *_REFUSED[key])
                continue
            close = difflib.get_close_matches(key, takes, n=1, cutoff=0.6)
            owners = [t for t, props in INPUT_PROPERTIES.items() if key in props]
            if owners and self.type:
                message = f"`{key}` is not a property of {_an(self.type)} input (only of {', '.join(owners)})"
            else:
                message = f"unknown property `{key}` of an input"
            whose = f"{_an(self.type)} input" if self.type else "an input"
            self.error(key, message, f"did you mean `{close[0]}`?" if close else f"{whose} takes: " + ", ".join(takes))
        depends = self.item.get("dependsOn")
        if isinstance(depends, dict) and "condition" in depends:
            self.refused.add("dependsOn")
            self.error("dependsOn", "`dependsOn.condition` (an input shown only when a template is true) is not "
                       "supported by Lanner", "remove the condition; the input is then always asked for")

    def constraints(self) -> None:
        """The values a given input will be held against are themselves valid."""
        default = yaml_source.plain(self.item.get("defaults"))
        if isinstance(default, str) and ("{{" in default or "{%" in default):  # else kept as literal text
            self.refused.add("defaults")
            self.error("defaults", "a template in `defaults` is not rendered by Lanner (Kestra renders it when "
                       "the execution starts)", "write the value itself, or pass it with --input or the API",
                       value=True)
        validator = self.item.get("validator")
        if validator is not None:
            try:
                re.compile(str(validator))
            except re.error as exc:
                self.refused.add("validator")
                self.error("validator", f"`validator` `{short(validator)}` is not a valid regular expression: {exc}",
                           "write a regular expression the whole value must match, e.g. `^[a-z]+$`", value=True)
        parse = _BOUNDS.get(self.type or "")
        for key in ("after", "before", "min", "max"):
            if parse is None or self.item.get(key) is None:
                continue
            try:
                parse(yaml_source.plain(self.item[key]))
            except (TypeError, ValueError) as exc:
                self.refused.add(key)
                detail = str(exc) if parse is not float else f"`{short(self.item[key])}` is not a number"
                self.error(key, f"`{key}`: {detail}", f"give `{key}` as {_an(self.type or '')} value", value=True)
        extensions = self.item.get("allowedFileExtensions")
        if isinstance(extensions, list):
            for ext in extensions:
                if not isinstance(ext, str) or not ext.startswith(".") or len(ext) < 2:
                    self.refused.add("allowedFileExtensions")
                    self.error("allowedFileExtensions", f"`allowedFileExtensions`: `{short(ext)}` is not an "
                               "extension starting with a dot", "write e.g. `[.csv, .txt]`", value=True)
                    break


def _an(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "AEIOU" else f"a {type_name}"
