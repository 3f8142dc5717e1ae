"""A JSON input's `jsonSchema`: read (JSON text or a YAML map), checked as a schema, and a value
held against it.

Kestra validates a JSON input against the JSON Schema given in `jsonSchema` and refuses the
execution when the value does not match; the flow author gets a bad schema at `lanner validate`
(located by `loading/inputs.py`), the user who starts the execution gets each mismatch with where
in the value it is (`$.name`) and what the schema wanted. The schema's own `$schema` picks the
draft (2020-12 when it names none). No `$ref` is fetched from the network: a schema that points
outside itself fails to resolve, and says so.

`jsonschema` is imported only when an input has a schema: `lanner run` of a flow without one does
not load it.
"""

from __future__ import annotations

import json
from typing import Any

_SHOWN = 3  # mismatches listed in one refusal; the rest are counted


def parse(raw: Any) -> dict[str, Any] | bool:
    """The schema written in `jsonSchema`: JSON text (as Kestra takes it) or a YAML map; ValueError
    says why it is not one."""
    schema = raw
    if isinstance(raw, str):
        try:
            schema = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"`jsonSchema` is not valid JSON: {exc.msg} at line {exc.lineno}, "
                             f"column {exc.colno} of the schema") from None
    if not isinstance(schema, (dict, bool)):
        raise ValueError(f"`jsonSchema` must be a JSON object (a schema), not {type(schema).__name__}")
    return schema


def check(raw: Any) -> dict[str, Any] | bool:
    """The schema, parsed and checked against its draft's meta-schema; ValueError names the first
    fault and where in the schema it is."""
    from jsonschema import exceptions, validators

    schema = parse(raw)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        raise ValueError(f"`jsonSchema` is not a valid JSON Schema: at `{_path(exc.absolute_path)}` of the "
                         f"schema: {exc.message}") from None
    return schema


def mismatches(raw_schema: Any, value: Any) -> list[str]:
    """Where and how `value` breaks the schema (`$.name: 42 is not of type 'string'`), in the
    order of their place in the value; empty when it matches."""
    from jsonschema import validators
    from referencing.exceptions import Unresolvable

    schema = check(raw_schema)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        errors = sorted(cls(schema).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as exc:
        raise ValueError(f"`jsonSchema` refers to a schema Lanner does not fetch: {exc}") from None
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]


def refusal(raw_schema: Any, value: Any) -> str | None:
    """The sentence refusing `value`, or None when it matches the schema."""
    found = mismatches(raw_schema, value)
    if not found:
        return None
    more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
    return "it must match the JSON schema given in `jsonSchema`: " + "; ".join(found[:_SHOWN]) + more


def _path(parts: Any) -> str:
    """A place in a JSON value as a JSONPath (`$`, `$.name`, `$.items[2]`)."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
