"""Typed inputs and flow outputs: turn what the user gave (CLI strings, JSON) into typed values.

Typed values reach templates typed (`{{ inputs.n + 1 }}` is arithmetic, not concatenation), and
a bad value is reported before anything runs, naming the input and the expected form.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lanner.errors import ValidationError, ValidationErrors
from lanner.model.duration import format_duration, parse_duration
from lanner.model.flow import Flow, FlowOutput, Input
from lanner.model.state import iso

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$")


def resolve_inputs(flow: Flow, given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and type every input; raise `ValidationErrors` listing each problem."""
    errors: list[ValidationError] = []
    known = {i.id for i in flow.inputs}
    for name in given:
        if name not in known:
            hint = ("this flow declares: " + ", ".join(sorted(known))) if known else "this flow declares no inputs"
            errors.append(ValidationError(f"unknown input `{name}`", hint=hint))
    out: dict[str, Any] = {}
    for inp in flow.inputs:
        if inp.id in given and given[inp.id] is not None:
            raw = given[inp.id]
        elif inp.defaults is not None:
            raw = inp.defaults
        elif inp.required:
            errors.append(ValidationError(f"missing required input `{inp.id}` ({inp.type})",
                                          hint=f"pass it with --input {inp.id}=…"))
            continue
        else:
            continue
        try:
            out[inp.id] = coerce(inp, raw)
        except ValueError as exc:
            errors.append(ValidationError(f"input `{inp.id}`: {exc}", hint=f"give a valid {inp.type} value"))
    if errors:
        raise ValidationErrors(list(errors))
    return out


def coerce(inp: Input | FlowOutput, raw: Any, type_name: str | None = None) -> Any:
    t = type_name or inp.type
    if t in ("STRING", "SECRET"):
        return raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, (dict, list)) else str(raw)
    if t == "INT":
        if isinstance(raw, bool):
            raise ValueError(f"`{raw}` is not an integer")
        try:
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
        except (TypeError, ValueError):
            value = None
        if value is None:
            raise ValueError(f"`{raw}` is not an integer")
        _check_range(inp, value)
        return value
    if t == "FLOAT":
        try:
            value_f = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"`{raw}` is not a number") from None
        _check_range(inp, value_f)
        return value_f
    if t in ("BOOLEAN", "BOOL"):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"`{raw}` is not a boolean (true or false)")
    if t == "DATETIME":
        try:
            value_dt = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"`{raw}` is not an ISO date-time like 2024-01-31T10:00:00Z") from None
        if value_dt.tzinfo is None:
            value_dt = value_dt.replace(tzinfo=dt.timezone.utc)
        return iso(value_dt)
    if t == "DATE":
        try:
            return (raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))).isoformat()
        except ValueError:
            raise ValueError(f"`{raw}` is not a date like 2024-01-31") from None
    if t == "TIME":
        try:
            return (raw if isinstance(raw, dt.time) else dt.time.fromisoformat(str(raw))).isoformat()
        except ValueError:
            raise ValueError(f"`{raw}` is not a time like 10:30:00") from None
    if t == "DURATION":
        try:
            return format_duration(parse_duration(raw))
        except Exception:
            raise ValueError(f"`{raw}` is not an ISO-8601 duration like PT5M") from None
    if t in ("JSON",):
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
        return raw
    if t == "YAML":
        if isinstance(raw, str):
            from lanner.model import yaml_source

            try:
                return yaml_source.plain(yaml_source.load(raw))
            except yaml_source.YamlError as exc:
                where = f" at line {exc.line + 1}" if exc.line is not None else ""
                raise ValueError(f"not valid YAML{where}: {exc.problem}") from None
        return raw
    if t == "ARRAY":
        items = raw
        if isinstance(raw, str):
            try:
                items = json.loads(raw)
            except json.JSONDecodeError:
                items = [s.strip() for s in raw.split(",")] if raw.strip() else []
        if not isinstance(items, list):
            raise ValueError(f"`{raw}` is not a list (give a JSON array)")
        item_type = getattr(inp, "itemType", None)
        return [coerce(inp, i, item_type) for i in items] if item_type else items
    if t in ("SELECT", "ENUM"):
        value_s = str(raw)
        allowed = _allowed(inp)
        if allowed is not None and value_s not in allowed and not getattr(inp, "allowCustomValue", False):
            raise ValueError(f"`{value_s}` is not one of: {', '.join(allowed)}")
        return value_s
    if t == "MULTISELECT":
        values = raw
        if isinstance(raw, str):
            try:
                values = json.loads(raw)
            except json.JSONDecodeError:
                values = [s.strip() for s in raw.split(",") if s.strip()]
        if not isinstance(values, list):
            values = [values]
        allowed = _allowed(inp)
        for v in values:
            if allowed is not None and str(v) not in allowed and not getattr(inp, "allowCustomValue", False):
                raise ValueError(f"`{v}` is not one of: {', '.join(allowed)}")
        return [str(v) for v in values]
    if t == "URI":
        if not _URI.match(str(raw)):
            raise ValueError(f"`{raw}` is not a URI like https://example.com/x")
        return str(raw)
    if t == "EMAIL":
        if not _EMAIL.match(str(raw)):
            raise ValueError(f"`{raw}` is not an e-mail address")
        return str(raw)
    if t == "FILE":
        return str(raw)
    raise ValueError(f"unsupported input type {t}")


MASK = "******"


def mask(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of a secret replaced by `******`, in strings, recursively
    through dicts and lists. The one masking function: logs (worker, runtimes), the API and the
    CLI all call it."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, MASK)
        return value
    if isinstance(value, dict):
        return {k: mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, secrets) for v in value]
    return value


def secret_values(flow: Flow | None, exe: Any) -> tuple[str, ...]:
    """The values of an execution's SECRET inputs: masked wherever logs or API answers show them."""
    if flow is None:
        return ()
    return tuple(str(exe.inputs[i.id]) for i in flow.inputs
                 if i.type == "SECRET" and exe.inputs.get(i.id) not in (None, ""))


def coerce_output(out: FlowOutput, value: Any) -> Any:
    try:
        return coerce(out, value)
    except ValueError as exc:
        raise ValidationError(f"Invalid output for `{out.id}`, {exc}, but received `{value}`",
                              hint=f"make `outputs.{out.id}.value` render a {out.type}") from None


def _allowed(inp: Any) -> list[str] | None:
    values = getattr(inp, "values", None)
    if values is None:
        return None
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except json.JSONDecodeError:
            return None
    return [str(v) for v in values]


def _check_range(inp: Any, value: float) -> None:
    lo, hi = getattr(inp, "min", None), getattr(inp, "max", None)
    if lo is not None and value < float(lo):
        raise ValueError(f"{value} is below the minimum {lo}")
    if hi is not None and value > float(hi):
        raise ValueError(f"{value} is above the maximum {hi}")


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def parse_cli_inputs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        if "=" not in p:
            raise ValidationError(f"`--input {p}` has no value", hint="write --input KEY=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


_ = base64
