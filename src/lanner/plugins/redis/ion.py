"""Just enough Amazon Ion text for Kestra's record files (`.ion`, one value per line).

Kestra's tasks exchange lists of records as Ion text files in internal storage: `ListPop` writes
one, `ListPush` reads one. Compact JSON is valid Ion text, so records are written as JSON lines.
Reading accepts what Kestra writes too: unquoted and quoted symbols (`{city:"Paris"}`), long
strings, timestamps (kept as their text), decimals, annotations (dropped), comments, lobs (text).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from lanner.plugins.api import TaskFailure

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_TIMESTAMP = re.compile(
    r"\d{4}(?:T|-\d{2}T|-\d{2}-\d{2}(?:T(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)"
)
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eEdD][+-]?\d+)?|\.\d+(?:[eEdD][+-]?\d+)?)"
)
_OPERATOR = re.compile(r"[!#%&*+\-./;<=>?@^`|~]+")
_END = re.compile(r"[\s,\]\})\[\{(\"':]|$|/[/*]")
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "v": "\v", "?": "?", "0": "\0",
            "'": "'", '"': '"', "/": "/", "\\": "\\"}


def dump_line(value: Any) -> str:
    """One record as a line of Ion text (compact JSON; NaN and infinities in Ion's spelling)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ("nan" if math.isnan(value) else "+inf" if value > 0 else "-inf") + "\n"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"


def load_all(text: str) -> list[Any]:
    """Every top-level value of an Ion text."""
    return list(_Reader(text).values())


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, what: str) -> TaskFailure:
        line = self.s.count("\n", 0, self.i) + 1
        return TaskFailure(f"Invalid Ion record file at line {line}: {what}")

    def skip(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c.isspace():
                self.i += 1
            elif s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end + 1
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise self.fail("unterminated comment")
                self.i = end + 2
            else:
                return

    def values(self) -> Iterator[Any]:
        while True:
            self.skip()
            if self.i >= len(self.s):
                return
            yield self.value()

    def annotations(self) -> None:
        """Drop `name::` prefixes."""
        while True:
            m = _IDENT.match(self.s, self.i)
            start = self.i
            if m:
                self.i = m.end()
            elif self.s.startswith("'", self.i) and not self.s.startswith("'''", self.i):
                self.symbol()
            else:
                return
            self.skip()
            if self.s.startswith("::", self.i):
                self.i += 2
                self.skip()
            else:
                self.i = start
                return

    def value(self) -> Any:
        self.skip()
        self.annotations()
        s = self.s
        if self.i >= len(s):
            raise self.fail("a value is missing")
        c = s[self.i]
        if s.startswith("{{", self.i):
            return self.lob()
        if c == "{":
            return self.struct()
        if c in "[(":
            return self.sequence("]" if c == "[" else ")")
        if c == '"':
            return self.string('"')
        if s.startswith("'''", self.i):
            return self.long_string()
        if c == "'":
            return self.symbol()
        return self.scalar()

    def scalar(self) -> Any:
        s, i = self.s, self.i
        for keyword, value in (("+inf", math.inf), ("-inf", -math.inf)):
            if s.startswith(keyword, i):
                self.i += len(keyword)
                return value
        m = _TIMESTAMP.match(s, i)
        if m and _END.match(s, m.end()):
            self.i = m.end()
            return m.group()
        m = _NUMBER.match(s, i)
        if m and _END.match(s, m.end()):
            self.i = m.end()
            return _number(m.group())
        m = _IDENT.match(s, i) or _OPERATOR.match(s, i)
        if not m:
            raise self.fail(f"unexpected `{s[i:i + 20]}`")
        self.i = m.end()
        word = m.group()
        if word == "null" and s.startswith(".", self.i):
            typed = _IDENT.match(s, self.i + 1)
            self.i = typed.end() if typed else self.i
            return None
        return {"null": None, "true": True, "false": False, "nan": math.nan}.get(word, word)

    def struct(self) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        while True:
            self.skip()
            if self.s.startswith("}", self.i):
                self.i += 1
                return out
            if self.s.startswith('"', self.i):
                name = self.string('"')
            elif self.s.startswith("'''", self.i):
                name = self.long_string()
            elif self.s.startswith("'", self.i):
                name = self.symbol()
            else:
                m = _IDENT.match(self.s, self.i)
                if not m:
                    raise self.fail("a field name is expected in a struct")
                name, self.i = m.group(), m.end()
            self.skip()
            if not self.s.startswith(":", self.i):
                raise self.fail(f"`:` expected after field `{name}`")
            self.i += 1
            out[name] = self.value()
            self.skip()
            if self.s.startswith(",", self.i):
                self.i += 1
            elif not self.s.startswith("}", self.i):
                raise self.fail("`,` or `}` expected in a struct")

    def sequence(self, close: str) -> list[Any]:
        self.i += 1
        out: list[Any] = []
        while True:
            self.skip()
            if self.s.startswith(close, self.i):
                self.i += 1
                return out
            if self.i >= len(self.s):
                raise self.fail(f"`{close}` expected")
            out.append(self.value())
            self.skip()
            if close == "]" and self.s.startswith(",", self.i):
                self.i += 1

    def string(self, quote: str) -> str:
        s, i = self.s, self.i + 1
        parts: list[str] = []
        while i < len(s) and s[i] != quote:
            if s[i] == "\\":
                i, text = self.escape(i)
                parts.append(text)
            else:
                parts.append(s[i])
                i += 1
        if i >= len(s):
            raise self.fail("unterminated string")
        self.i = i + 1
        return _utf16("".join(parts))

    def escape(self, i: int) -> tuple[int, str]:
        s = self.s
        c = s[i + 1] if i + 1 < len(s) else ""
        if c in _ESCAPES:
            return i + 2, _ESCAPES[c]
        if c == "\n":
            return i + 2, ""
        size = {"x": 2, "u": 4, "U": 8}.get(c)
        if size and len(s) >= i + 2 + size:
            try:
                return i + 2 + size, chr(int(s[i + 2:i + 2 + size], 16))
            except ValueError:
                pass
        raise self.fail(f"invalid escape `\\{c}`")

    def symbol(self) -> str:
        return self.string("'")

    def long_string(self) -> str:
        """`'''a''' '''b'''` concatenates to `ab`."""
        parts: list[str] = []
        while self.s.startswith("'''", self.i):
            i = self.i + 3
            chunk: list[str] = []
            while not self.s.startswith("'''", i):
                if i >= len(self.s):
                    raise self.fail("unterminated long string")
                if self.s[i] == "\\":
                    i, text = self.escape(i)
                    chunk.append(text)
                else:
                    chunk.append(self.s[i])
                    i += 1
            parts.append("".join(chunk))
            self.i = i + 3
            self.skip()
        return _utf16("".join(parts))

    def lob(self) -> str:
        """A blob's base64 text or a clob's text, as a string."""
        end = self.s.find("}}", self.i + 2)
        if end < 0:
            raise self.fail("unterminated `{{`")
        inner = self.s[self.i + 2:end].strip()
        self.i = end + 2
        if inner.startswith("'''"):
            return _Reader(inner).long_string()
        if inner.startswith('"'):
            return _Reader(inner).string('"')
        return "".join(inner.split())


def _number(text: str) -> int | float:
    t = text.replace("_", "")
    low = t.lower()
    if low.lstrip("+-").startswith(("0x", "0b")):
        sign = -1 if t.startswith("-") else 1
        body = low.lstrip("+-")
        return sign * int(body[2:], 16 if body[1] == "x" else 2)
    if not any(ch in low for ch in ".ed"):
        return int(t)
    return float(low.replace("d", "e"))


def _utf16(text: str) -> str:
    """Join surrogate pairs written as two `\\u` escapes (as JSON writers do)."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
