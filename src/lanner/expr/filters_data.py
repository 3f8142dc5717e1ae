"""Data filters: JSON, Ion, YAML and jq, numbers from text and number formatting, class names.

These are the filters that move data between formats, so they are where Kestra's Jackson
conventions matter: `toJson` leaves out map entries whose value is null (unless
`includeNulls=true`), prints decimals as numbers and dates as ISO text; `jq` always returns a
list of results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lanner.expr.arguments import check_text, expect_bool, expect_str, fail, guarded
from lanner.expr.env import Env
from lanner.expr.ion import to_ion
from lanner.expr.java_numbers import as_jackson_read, java_class
from lanner.expr.numbers import TYPES, format_decimal, parse_number
from lanner.expr.values import check_size, is_number, plain, stringify, to_json, type_name
from lanner.expr.yaml_text import to_yaml


def json_ready(value: Any, include_nulls: bool = True) -> Any:
    """Like `values.plain`, but decimals stay numbers and null map values may be dropped."""
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else stringify(k): json_ready(v, include_nulls) for k, v in value.items()
                if include_nulls or v is not None}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, include_nulls) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return stringify(value)
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    return plain(value)


def toJson(env: Env, value: Any, includeNulls: Any = False) -> str:  # noqa: N802,N803 - Kestra's names
    """Compact JSON text; `null` for null."""
    if value is None:
        return "null"
    keep = expect_bool("toJson", "includeNulls", includeNulls)
    check_size(value)  # before json_ready copies shared sub-maps into a tree
    return check_text("toJson", guarded("toJson", "the value is nested too deeply to print",
                                        lambda: to_json(json_ready(value, keep))))


def json_(env: Env, value: Any) -> str:
    """The name `toJson` had before Kestra 0.18."""
    return toJson(env, value)


def toIon(env: Env, value: Any) -> str:  # noqa: N802
    """Amazon Ion text of a value (`{a:1,b:"x"}`); `null` for null."""
    check_size(value)
    return check_text("toIon", guarded("toIon", "flatten the data first", lambda: to_ion(value)))


def yaml(env: Env, value: Any) -> str:
    """YAML text of a value (block style, ending with a new line); `null` for null."""
    if value is None:
        return "null"
    check_size(value)
    return check_text("yaml", guarded("yaml", "flatten the data first", lambda: to_yaml(value)))


def jq(env: Env, value: Any, expression: Any = None) -> Any:
    """Run a jq program on a value (or on JSON text) and return the LIST of its results."""
    if value is None:
        return None
    if expression is None:
        fail("jq", "the argument expression is required", hint="write jq('.field')")
    program_text = expect_str("jq", "expression", expression)
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            fail("jq", f"the text is not JSON: {exc}", hint="apply jq to a map, a list, or JSON text")
        data_text = value
    else:
        check_size(value)
        data_text = guarded("jq", "flatten the data first", lambda: json.dumps(json_ready(value), ensure_ascii=False))
    from lanner.expr import jq_helper

    return as_jackson_read(jq_helper.run(program_text, data_text))


def number(env: Env, value: Any, type: Any = None) -> Any:  # noqa: A002 - Pebble's argument name
    """Text → number: an integer if the text has no point or exponent, else a decimal;
    or the Kestra type given (INT, LONG, FLOAT, DOUBLE, BIGDECIMAL, BIGINTEGER)."""
    if value is None:
        return None
    if not isinstance(value, str):
        fail("number", f"can only be applied to text, got {type_name(value)} `{stringify(value)}`",
             hint="the value is already a number: remove `| number`" if is_number(value)
             else "apply number to text such as '42'")
    kind = expect_str("number", "type", type, hint="use one of " + ", ".join(TYPES)) if type is not None else None
    return parse_number(value, kind.upper() if kind else None)


def numberFormat(env: Env, value: Any, format: Any = None) -> Any:  # noqa: A002,N802
    """Format a number with a java.text.DecimalFormat pattern such as '#,##0.00' (default '#,##0.###')."""
    if value is None:
        return None
    if not is_number(value):
        fail("numberFormat", f"expects a number, got {type_name(value)} `{stringify(value)}`",
             hint="convert text first: {{ '3.14' | number | numberFormat('0.0') }}")
    pattern = "#,##0.###" if format is None else expect_str("numberFormat", "format", format)
    return check_text("numberFormat", format_decimal(value, pattern))


def className(env: Env, value: Any) -> Any:  # noqa: N802
    """The Java class Kestra would hold the value in (java.lang.String, java.lang.Long, …)."""
    return None if value is None else java_class(value)
