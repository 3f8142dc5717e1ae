"""The filter registry: every `{{ value | name(args) }}` filter Lanner knows, by Kestra name.

A filter is `f(env, value, *args, **kwargs)` with Pebble's argument names as parameter names,
so the evaluator binds a template's positional and named arguments with `inspect.signature`.
A filter never receives UNDEFINED (the evaluator owns `default` and undefined handling), may
receive null, and raises only `ExpressionError`. Removed on purpose, as in Kestra (its
`ExtensionCustomizer` drops them and turns auto-escaping off): Pebble's `raw` and `escape` filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.expr import filters_collections as col
from lanner.expr import filters_data as data
from lanner.expr import filters_dates as dates
from lanner.expr import filters_regex as rx
from lanner.expr import filters_text as text
from lanner.expr.arguments import shielded

_FILTERS: dict[str, Callable[..., Any]] = {
    # text
    "abbreviate": text.abbreviate,
    "capitalize": text.capitalize,
    "title": text.title,
    "upper": text.upper,
    "lower": text.lower,
    "trim": text.trim,
    "replace": text.replace,
    "split": text.split,
    "slugify": text.slugify,
    "substringBefore": text.substringBefore,
    "substringAfter": text.substringAfter,
    "substringBeforeLast": text.substringBeforeLast,
    "substringAfterLast": text.substringAfterLast,
    "startsWith": text.startsWith,
    "endsWith": text.endsWith,
    "urlencode": text.urlencode,
    "urldecode": text.urldecode,
    "base64encode": text.base64encode,
    "base64decode": text.base64decode,
    "sha1": text.sha1,
    "sha256": text.sha256,
    "sha512": text.sha512,
    "md5": text.md5,
    "escapeChar": text.escapeChar,
    "indent": text.indent,
    "nindent": text.nindent,
    "string": text.string,
    "condense": rx.condense,
    "regexMatch": rx.regexMatch,
    "regexReplace": rx.regexReplace,
    "regexExtract": rx.regexExtract,
    # collections
    "abs": col.abs_,
    "join": col.join,
    "first": col.first,
    "last": col.last,
    "length": col.length,
    "reverse": col.reverse,
    "sort": col.sort,
    "rsort": col.rsort,
    "slice": col.slice_,
    "keys": col.keys,
    "values": col.values,
    "merge": col.merge,
    "distinct": col.distinct,
    "chunk": col.chunk,
    "flatten": col.flatten,
    # dates
    "date": dates.date,
    "dateAdd": dates.dateAdd,
    "timestamp": dates.timestamp,
    "timestampMilli": dates.timestampMilli,
    "timestampMicro": dates.timestampMicro,
    "timestampNano": dates.timestampNano,
    # data
    "toJson": data.toJson,
    "jsonEncode": data.toJson,  # the name before Kestra 0.18
    "json": data.json_,
    "toIon": data.toIon,
    "yaml": data.yaml,
    "jq": data.jq,
    "number": data.number,
    "numberFormat": data.numberFormat,
    "className": data.className,
}

FILTERS: dict[str, Callable[..., Any]] = {name: shielded(name, fn) for name, fn in _FILTERS.items()}
