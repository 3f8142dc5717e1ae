"""The flow's `inputs`, checked type by type before pydantic sees them.

Pydantic's `Input` takes every property of every input type (Kestra's are one class per type), so
on its own it would accept `min` on a STRING or `validator` on an INT and ignore it. Here each
input's properties are held against its own type's list, and the constraints a value will be
checked against (`validator`, `after`/`before`, `min`/`max`, `allowedFileExtensions`) are checked
themselves, each problem at its line, naming the input and what its type takes.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from lanner.errors import Located, ValidationError
from lanner.loading.messages import short
from lanner.model import yaml_source
from lanner.model.flow import FIELD_REFUSED, FIELD_TYPES, INPUT_COMMON, INPUT_PROPERTIES, Flow, Input
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


def check_inputs(items: Any, file: str | None, path: str = "inputs",
                 record: str | None = None) -> tuple[list[ValidationError], dict[int, set[str]]]:
    """Problems in a raw list of inputs (the flow's `inputs`, or a task's such as a Pause's
    `onResume` at `path`), and, per item, the properties refused (to be dropped before pydantic
    validates the rest, so that one mistake is reported once). `record`: the OBJECT or TABLE whose
    fields these are, which take no `defaults`, `prefill` nor `dependsOn`."""
    problems: list[ValidationError] = []
    refused: dict[int, set[str]] = {}
    if not isinstance(items, list):
        return problems, refused
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        check = _InputCheck(item, i, file, path, record)
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
    def __init__(self, item: dict[str, Any], index: int, file: str | None, path: str = "inputs",
                 record: str | None = None) -> None:
        self.item = item
        self.in_record = record
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
        if self.in_record:
            takes = [k for k in takes if k not in FIELD_REFUSED]
        for key in map(str, self.item):
            if key in takes:
                continue
            self.refused.add(key)
            if self.in_record and key in FIELD_REFUSED:
                self.error(key, f"a field cannot declare `{key}` (it is a key of the {self.in_record}'s value, not an "
                           "input of its own)", f"remove `{key}`; give defaults to the whole input")
                continue
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
        if self.type in _RECORD_KEYS:
            self.record()
        depends = self.item.get("dependsOn")
        if isinstance(depends, dict) and "condition" in depends and not self.in_record:
            self.refused.add("dependsOn")
            self.error("dependsOn", "`dependsOn.condition` (an input shown only when a template is true) is not "
                       "supported by Lanner", "remove the condition; the input is then always asked for")

    def record(self) -> None:
        """An OBJECT's `properties` or a TABLE's `columns`: a list of fields, each a scalar input of its
        own checked as one (at its line), with Kestra's rules for fields; a TABLE's `rows` bounds."""
        key = _RECORD_KEYS[self.type or ""]
        fields = self.item.get(key)
        if key not in self.item:
            self.refused.add(key)  # nothing to drop; marks the input as not built
            self.error("type", f"{_an(self.type or '')} input needs `{key}`: the typed fields of its value",
                       f"add `{key}:` with a list of inputs, e.g. `- id: size` / `type: INT`")
        elif not isinstance(fields, list) or not fields:
            self.refused.add(key)
            self.error(key, f"`{key}` must be a list of at least one field", "write each field as an input: "
                       "`- id: size` / `type: INT`", value=True)
        else:
            problems, _ = check_inputs(fields, self.file, f"{self.path}.{key}", self.type)
            problems.extend(self.field_rules(key, fields))
            if problems:
                self.problems.extend(problems)
                self.refused.add(key)
        if self.type == "TABLE" and self.item.get("rows") is not None:
            self.rows(self.item["rows"])

    def field_rules(self, key: str, fields: list[Any]) -> list[ValidationError]:
        """What a field may not be: another record, a file, a secret; nor share an id or hold a dot (a key
        of the value, not a path). Its `defaults`, `prefill`, `dependsOn` are refused with its properties."""
        out: list[ValidationError] = []
        seen: set[str] = set()
        for i, field in enumerate(fields):
            if not isinstance(field, dict):
                line, col = yaml_source.position(fields, i)
                where = Located(self.file, line, col, f"{self.path}.{key}[{i}]")
                out.append(ValidationError(f"{self.label}: `{key}[{i}]` is not an input",
                                           hint="write `- id: size` / `type: INT`", where=where))
                continue
            check = _InputCheck(field, i, self.file, f"{self.path}.{key}")
            ident, kind = field.get("id"), field.get("type")
            if isinstance(ident, str) and ident in seen:
                check.error("id", f"the id `{ident}` is declared twice in `{key}`", "give each field its own id",
                            value=True)
            if isinstance(ident, str):
                seen.add(ident)
            if isinstance(ident, str) and "." in ident:
                check.error("id", f"a field id cannot hold a dot (`{ident}`)", "name the key without a dot, "
                            "e.g. `size_gb`", value=True)
            if isinstance(kind, str) and kind in INPUT_PROPERTIES and kind not in FIELD_TYPES:
                check.error("type", f"a field cannot be of type {kind}", "use one of " + ", ".join(FIELD_TYPES),
                            value=True)
            out.extend(check.problems)
        return out

    def rows(self, rows: Any) -> None:
        """A TABLE's `rows`: `min` (>= 0) and `max` (>= 1) rows, integers, `min` not above `max`."""
        bad = None
        if not isinstance(rows, dict):
            bad = "`rows` must be a map of `min` and `max`"
        elif unknown := sorted(set(map(str, rows)) - {"min", "max"}):
            bad = f"`rows` takes only `min` and `max`, not `{unknown[0]}`"
        else:
            lo, hi = rows.get("min"), rows.get("max")
            for name, value, least in (("min", lo, 0), ("max", hi, 1)):
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                    bad = f"`rows.{name}` must be an integer of at least {least}, not `{short(value)}`"
            if bad is None and isinstance(lo, int) and isinstance(hi, int) and lo > hi:
                bad = f"`rows.min` ({lo}) is above `rows.max` ({hi})"
        if bad is not None:
            self.refused.add("rows")
            self.error("rows", bad, "write e.g. `rows: {min: 1, max: 10}`", value=True)

    def json_defaults(self, schema: Any) -> None:
        """A JSON input's `defaults` must match its schema: found at `lanner validate`, not by the first
        execution started without the input."""
        default = yaml_source.plain(self.item.get("defaults"))
        if default is None or "defaults" in self.refused:
            return
        from lanner.model import json_schemas

        value = default
        if isinstance(default, str):
            try:
                value = json.loads(default)
            except json.JSONDecodeError as exc:
                self.refused.add("defaults")
                self.error("defaults", f"`defaults` is not valid JSON: {exc.msg} at character {exc.pos}",
                           "write the default value as JSON text, or as a YAML map or list", value=True)
                return
        refused = json_schemas.refusal(schema, value)
        if refused is not None:
            self.refused.add("defaults")
            self.error("defaults", f"`defaults`: {refused}", "give defaults that match `jsonSchema`", value=True)

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
        schema = self.item.get("jsonSchema")
        if schema is not None and self.type == "JSON":
            from lanner.model import json_schemas

            try:
                json_schemas.check(yaml_source.plain(schema))
            except ValueError as exc:
                self.refused.add("jsonSchema")
                self.error("jsonSchema", str(exc), "write a JSON Schema, e.g. `{\"type\": \"object\", "
                           "\"required\": [\"name\"]}` (https://json-schema.org)", value=True)
            else:
                self.json_defaults(yaml_source.plain(schema))
        extensions = self.item.get("allowedFileExtensions")
        if isinstance(extensions, list):
            for ext in extensions:
                if not isinstance(ext, str) or not ext.startswith(".") or len(ext) < 2:
                    self.refused.add("allowedFileExtensions")
                    self.error("allowedFileExtensions", f"`allowedFileExtensions`: `{short(ext)}` is not an "
                               "extension starting with a dot", "write e.g. `[.csv, .txt]`", value=True)
                    break


_RECORD_KEYS = {"OBJECT": "properties", "TABLE": "columns"}  # where each record type lists its fields


def _an(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "AEIOU" else f"a {type_name}"
