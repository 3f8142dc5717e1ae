"""Amazon Ion text, as Kestra writes it (`toIon`) and reads it (`fromIon`).

Kestra stores task outputs such as query results in Ion files (one value per line) and flows
read them back with `fromIon(read(uri))`. Only the text encoding is needed, so a small writer and
reader live here. Kestra's conventions are kept: Instants and dates are Ion timestamps, other
date-times are strings annotated with their Java type (`ZonedDateTime::"2024-01-02T03:04:05+01:00"`),
and reading turns those back into date-time values. A top-level `$ion_symbol_table::{…}` is
applied (symbol ids `$10`… then read as its text), not returned as a row.

Why not the maintained `amazon-ion` package (evaluated for issue 14, 2026-11, Python 3.11, x86_64):
- install: 0.15.0 comes as a manylinux wheel with a C extension (574 kB), but it requires
  `jsonconversion`, which pulls in numpy: 45 MB and about 20 s of `pip install` in a fresh venv,
  for one template function. Where no wheel exists its pure-Python reader is used instead.
- speed, reading 20,000 Kestra-style rows (3.0 MB of Ion text; best of 3): this reader 4.3-4.5 s;
  amazon-ion with its C extension 2.3 s, pure Python 20.1 s (4.5 times slower than this one).
  Its import takes 120 ms.
- results: it returns its own `IonPy*` wrapper types (`IonPyNull` for null, `Timestamp` with
  precision) and knows nothing of Kestra's annotated date-times, so a conversion pass over every
  value would still be needed here, eating much of the C extension's advantage.
Kept: this reader, with the symbol-table handling the evaluation showed missing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lanner.expr.date_parsing import offset_seconds, parse_iso
from lanner.expr.date_patterns import is_region, zone_id
from lanner.expr.errors import ExpressionError
from lanner.expr.values import java_double, stringify

_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_KEYWORDS = {"null", "true", "false", "nan"}


def _symbol(name: str) -> str:
    if _SYMBOL.fullmatch(name) and name not in _KEYWORDS:
        return name
    return "'" + json.dumps(name, ensure_ascii=False)[1:-1].replace("'", "\\'") + "'"


def _timestamp(value: dt.datetime) -> str:
    u = value.astimezone(dt.UTC)
    frac = f".{u.microsecond // 1000:03d}" if u.microsecond % 1000 == 0 else f".{u.microsecond:06d}"
    return u.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def to_ion(value: Any) -> str:
    """Ion text of a value, compact like Jackson's Ion writer (`{a:1,b:[2,"x"]}`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "+inf" if value > 0 else "-inf"
        text = java_double(value).replace("E", "e")
        return text if "e" in text else text + "e0"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else text + "."
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_symbol(str(k))}:{to_ion(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_ion(v) for v in value) + "]"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return f'LocalDateTime::"{value.isoformat()}"'
        if value.utcoffset() == dt.timedelta(0) and not is_region(value.tzinfo):
            return _timestamp(value)
        text = value.isoformat() + (f"[{zone_id(value.tzinfo)}]" if is_region(value.tzinfo) else "")
        return f'ZonedDateTime::"{text}"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return f'LocalTime::"{value.isoformat()}"'
    return json.dumps(stringify(value), ensure_ascii=False)


# ---------------------------------------------------------------- reading

_TOKEN = re.compile(r"""
    (?P<space>(?:\s+|//[^\n]*|/\*.*?\*/)+)
  | (?P<long>'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<quoted>'(?:[^'\\\n]|\\.)*')
  | (?P<lob>\{\{.*?\}\})
  | (?P<timestamp>\d{4}(?:-\d{2}(?:-\d{2})?)?T(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?
                  |\d{4}-\d{2}-\d{2}(?![\w.]))
  | (?P<number>[+-]?0[xX][0-9a-fA-F_]+|[+-]?0[bB][01_]+|[+-]inf|nan
               |-?\d[\d_]*(?:\.[\d_]*)?(?:[eEdD][+-]?\d+)?|-?\.\d+(?:[eEdD][+-]?\d+)?)
  | (?P<symbol>[A-Za-z_$][A-Za-z0-9_$.]*)
  | (?P<punct>::|[\[\]{}(),:])
  | (?P<operator>[!#%&*+\-./;<=>?@^`|~]+)
""", re.VERBOSE | re.DOTALL)
# Symbols $1…$9 of every Ion stream; a local symbol table adds $10 onwards. $0 has no text.
_SYSTEM_SYMBOLS: tuple[str | None, ...] = (None, "$ion", "$ion_1_0", "$ion_symbol_table", "name", "version",
                                           "imports", "symbols", "max_id", "$ion_shared_symbol_table")
_SYMBOL_ID = re.compile(r"\$([0-9]+)")
_DATE_TYPES = {"Instant", "OffsetDateTime", "ZonedDateTime", "LocalDateTime", "LocalDate", "OffsetTime", "LocalTime"}


def _bad(text: str, at: int, why: str) -> ExpressionError:
    return ExpressionError(f"fromIon: invalid ion at character {at + 1}: {why}",
                           hint="pass Ion text, e.g. the content of a Kestra .ion file read with read()")


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|\r?\n|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
                   "/": "/", "?": "?", "'": "'", '"': '"', "\\": "\\"}


def _unescape(body: str) -> str:
    """Ion string escapes: the C ones, \\xHH, \\uHHHH, \\UHHHHHHHH and line continuations."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        if code in ("\n", "\r\n"):
            return ""
        if code in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[code]
        raise ValueError(f"unknown escape \\{code}")

    return _ESCAPE.sub(one, body)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise _bad(text, pos, f"unexpected character {text[pos]!r}")
            if m.lastgroup != "space":
                self.tokens.append((m.lastgroup or "", m.group(), pos))
            pos = m.end()
        self.i = 0
        self.symbols: list[str | None] = list(_SYSTEM_SYMBOLS)
        self.annotations: list[str] = []  # those of the value read last

    def text_of(self, symbol: str) -> str:
        """The text of an unquoted symbol: `$n` is looked up in the symbol table (unknown ids stay `$n`)."""
        m = _SYMBOL_ID.fullmatch(symbol)
        if m is None:
            return symbol
        n = int(m.group(1))
        text = self.symbols[n] if n < len(self.symbols) else None
        return symbol if text is None else text

    def define_symbols(self, table: Mapping[str, Any]) -> None:
        """Apply a local symbol table: append to the current one, or replace it (after its imports)."""
        imports = table.get("imports")
        if imports != "$ion_symbol_table":
            self.symbols = list(_SYSTEM_SYMBOLS)
            for shared in imports if isinstance(imports, list) else []:
                # Lanner has no catalog of shared tables: their ids are kept, their text stays unknown.
                size = shared.get("max_id") if isinstance(shared, Mapping) else None
                self.symbols.extend([None] * (size if isinstance(size, int) and 0 < size <= 1_000_000 else 0))
        symbols = table.get("symbols")
        for name in symbols if isinstance(symbols, list) else []:
            self.symbols.append(name if isinstance(name, str) else None)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next_is(self, text: str = "", kind: str = "") -> bool:
        token = self.peek()
        return token is not None and (token[1] == text if text else token[0] == kind)

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _bad(self.text, len(self.text), "the text ends too early")
        if expected is not None and token[1] != expected:
            raise _bad(self.text, token[2], f"expected '{expected}', found '{token[1]}'")
        self.i += 1
        return token

    def value(self) -> Any:
        annotations = []
        while True:
            token = self.take()
            nxt = self.peek()
            if token[0] in ("symbol", "quoted") and nxt is not None and nxt[1] == "::":
                self.take()
                annotations.append(self.text_of(token[1]) if token[0] == "symbol" else _unescape(token[1][1:-1]))
                continue
            break
        result = self.scalar_or_container(token)
        self.annotations = annotations
        if annotations and annotations[0] in _DATE_TYPES and isinstance(result, str):
            return self.annotated_date(annotations[0], result, token[2])
        return result

    def scalar_or_container(self, token: tuple[str, str, int]) -> Any:
        kind, text, at = token
        if text == "[" or text == "(":
            closing = "]" if text == "[" else ")"
            items = []
            while self.peek() is not None and not self.next_is(closing):
                items.append(self.value())
                if closing == "]" and self.next_is(","):
                    self.take()
            self.take(closing)
            return items
        if text == "{":
            out: dict[str, Any] = {}
            while self.peek() is not None and not self.next_is("}"):
                key_kind, key, key_at = self.take()
                name = _unescape(key[1:-1]) if key_kind in ("string", "quoted") else \
                    _unescape(key[3:-3]) if key_kind == "long" else self.text_of(key)
                self.take(":")
                out[name] = self.value()
                if self.next_is(","):
                    self.take()
            self.take("}")
            return out
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "long":
            parts = [_unescape(text[3:-3])]
            while self.next_is(kind="long"):
                parts.append(_unescape(self.take()[1][3:-3]))
            return "".join(parts)
        if kind in ("quoted", "symbol", "operator"):
            return self.symbol(kind, text)
        if kind == "lob":
            inner = text[2:-2].strip()
            return _unescape(inner[1:-1]) if inner.startswith('"') else base64.b64encode(
                base64.b64decode(inner)).decode("ascii")
        if kind == "timestamp":
            return self.timestamp(text, at)
        if kind == "number":
            return self.number(text, at)
        raise _bad(self.text, at, f"unexpected '{text}'")

    def symbol(self, kind: str, text: str) -> Any:
        if kind == "quoted":
            return _unescape(text[1:-1])
        if text == "null" or text.startswith("null."):
            return None
        if kind == "symbol" and text.startswith("$"):
            return self.text_of(text)
        return {"true": True, "false": False}.get(text, text)

    def number(self, text: str, at: int) -> Any:
        low = text.replace("_", "").lower()
        sign, body = (-1 if low.startswith("-") else 1), low.lstrip("+-")
        try:
            if low in ("nan", "+inf", "-inf"):
                return float(low)
            if body.startswith("0x"):
                return sign * int(body[2:], 16)
            if body.startswith("0b"):
                return sign * int(body[2:], 2)
            if "e" in low:
                return float(low)
            if "." in low or "d" in low:
                return Decimal(low.replace("d", "e"))
            return int(low)
        except (ValueError, ArithmeticError):
            raise _bad(self.text, at, f"'{text}' is not a number") from None

    def timestamp(self, text: str, at: int) -> Any:
        if "T" not in text or text.endswith("T"):
            parts = [int(p) for p in text.rstrip("T").split("-")] + [1, 1]
            return dt.date(parts[0], parts[1], parts[2])
        parsed = parse_iso(text)
        if parsed is None or parsed.date is None or parsed.time is None:
            raise _bad(self.text, at, f"'{text}' is not a timestamp")
        value = dt.datetime.combine(parsed.date, parsed.time, parsed.tz or dt.UTC)
        if value.utcoffset() == dt.timedelta(0) and value.time() == dt.time(0):
            return value.date()
        return value

    def annotated_date(self, kind: str, text: str, at: int) -> Any:
        if kind in ("LocalTime", "OffsetTime"):
            try:
                return dt.time.fromisoformat(text[:-6] if offset_seconds(text[-6:]) is not None else text.rstrip("Z"))
            except ValueError:
                raise _bad(self.text, at, f"'{text}' is not a {kind}") from None
        parsed = parse_iso(text)
        if parsed is None or parsed.date is None:
            raise _bad(self.text, at, f"'{text}' is not a {kind}")
        if kind == "LocalDate" or parsed.time is None:
            return parsed.date
        return dt.datetime.combine(parsed.date, parsed.time, parsed.tz)


def from_ion(text: str, all_rows: bool = False) -> Any:
    """The first Ion value of `text` (None if there is none), or every value when `all_rows`."""
    try:
        reader = _Reader(text)
        values = []
        while reader.peek() is not None:
            if reader.next_is("$ion_1_0"):  # version marker: back to the system symbol table
                reader.take()
                reader.symbols = list(_SYSTEM_SYMBOLS)
                continue
            value = reader.value()
            if reader.annotations[:1] == ["$ion_symbol_table"] and isinstance(value, Mapping):
                reader.define_symbols(value)  # a symbol table is read, not returned as a row
                continue
            values.append(value)
            if not all_rows:
                break
    except RecursionError:
        raise ExpressionError("fromIon: the value is nested too deeply", hint="flatten the data") from None
    except (ValueError, TypeError) as exc:
        raise ExpressionError(f"fromIon: invalid ion: {exc}", hint="check the escapes in the Ion text") from None
    return values if all_rows else (values[0] if values else None)
