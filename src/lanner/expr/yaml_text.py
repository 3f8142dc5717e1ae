"""YAML text for the `yaml` filter (value → text) and the `yaml()` function (text → value).

Writing follows Kestra's Jackson YAML settings — block style, no `---` marker, lists indented
under their key, quotes only where a plain scalar would change meaning, multi-line strings as
literal blocks — so a flow templating a Kubernetes manifest gets the text it gets on Kestra.
A small emitter here keeps those choices exact (a YAML library's representer quotes differently).
Reading goes through `model/plain_yaml.py` (PyYAML with YAML 1.2 scalars, timestamps left as text
since Jackson does not read them as dates, duplicate keys refused), then a copy with a node
budget, so that a "billion laughs" document of aliases cannot blow up when it is later printed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lanner.expr.env import MAX_ITEMS
from lanner.expr.errors import ExpressionError
from lanner.expr.values import java_double, stringify

_RESERVED = {"true", "false", "yes", "no", "y", "n", "on", "off", "null", "~", ""}
_NUMBER_LIKE = re.compile(
    r"[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+"
    r"|\.inf|\.nan|\d+(?::[0-5]?\d)+(?:\.\d*)?)", re.IGNORECASE)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def _needs_quotes(text: str) -> bool:
    if text.lower() in _RESERVED or _NUMBER_LIKE.fullmatch(text):
        return True
    if text[0] in _INDICATORS and not (text[0] in "-?:" and len(text) > 1 and text[1] not in " \t"):
        return True
    if text[0] in " \t" or text[-1] in " \t:" or ": " in text or " #" in text or "\t" in text:
        return True
    return any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\ufeff\u2028\u2029" for ch in text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".NaN"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():.9f}"  # Jackson writes durations as decimal seconds
    text = value if isinstance(value, str) else stringify(value)
    return json.dumps(text, ensure_ascii=False) if _needs_quotes(text) else text


def _block(text: str, indent: str) -> str:
    """A literal block scalar (`|`, `|-`, `|+`) for a multi-line string."""
    stripped = text.rstrip("\n")
    trailing = len(text) - len(stripped)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    marker = "2" if stripped[:1] in (" ", "\t") else ""
    lines = text.split("\n") if chomp == "+" else stripped.split("\n")
    if chomp == "+":
        lines = lines[:-1]
    body = "\n".join(indent + "  " + line if line else "" for line in lines)
    return f"|{marker}{chomp}\n{body}"


def _inline(value: Any, indent: str) -> str | None:
    """The text after `key: ` or `- ` when the value fits there, else None (a nested block)."""
    if isinstance(value, Mapping):
        return "{}" if not value else None
    if isinstance(value, (list, tuple)):
        return "[]" if not value else None
    if isinstance(value, str) and "\n" in value:
        return _block(value, indent)
    return _scalar(value)


def _lines(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = _scalar(key if isinstance(key, str) else stringify(key))
            inline = _inline(item, indent)
            if inline is not None:
                out.append(f"{indent}{name}: {inline}")
            else:
                out.append(f"{indent}{name}:")
                _lines(item, indent + "  ", out)
        return
    for item in value:
        inline = _inline(item, indent)
        if inline is not None:
            out.append(f"{indent}- {inline}")
            continue
        nested: list[str] = []
        _lines(item, indent + "  ", nested)
        out.append(f"{indent}- {nested[0][len(indent) + 2:]}")
        out.extend(nested[1:])


def to_yaml(value: Any) -> str:
    """YAML text of a value, ending with a newline, as Kestra's `yaml` filter prints it.

    Jackson's INDENT_ARRAYS (indicator indent 1) puts a top-level list's dashes one space in:
    ` - a` — Kestra's own test of the filter pins that."""
    if isinstance(value, (Mapping, list, tuple)) and value:
        out: list[str] = []
        _lines(value, "" if isinstance(value, Mapping) else " ", out)
        return "\n".join(out) + "\n"
    return (_inline(value, "") or "") + "\n"


# ---------------------------------------------------------------- reading

def _copy(value: Any, budget: list[int]) -> Any:
    """A fresh copy with string keys, counting nodes so that shared aliases cannot explode."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ExpressionError("yaml: the document expands to too many values (aliases?)",
                              hint=f"keep YAML documents under {MAX_ITEMS} values and avoid nested aliases")
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else stringify(k): _copy(v, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v, budget) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set):
        return [_copy(v, budget) for v in value]
    return value


def from_yaml(text: str) -> Any:
    """Parse one YAML document into plain values (dict, list, str, int, float, bool, None)."""
    from lanner.model import plain_yaml, yaml_source

    try:
        data = plain_yaml.load(text)
    except yaml_source.YamlError as exc:
        where = f" at line {exc.line + 1}, column {exc.column + 1}" if exc.line is not None and exc.column is not None \
            else ""
        hint = exc.hint if "tabs" in exc.hint else "check the indentation and quoting of the YAML text"
        raise ExpressionError(f"yaml: invalid YAML{where}: {exc.problem}", hint=hint) from None
    return _copy(data, [len(text) + MAX_ITEMS])
