"""Template text → tokens: text runs, `{{ }}` / `{% %}` delimiters, and the code inside them.

Hand-written because no library lexes Pebble. Two details differ from a naive split on `}}`:
strings may contain `}}` (`{{ '}}' }}`), and a map literal may end right before the closing
delimiter (`{{ {'a': {'b': 1}} }}`), so braces are counted and `}}` only closes a print at
depth zero. `{# #}` comments vanish; `{% raw %}…{% endraw %}` and Pebble's
`{% verbatim %}…{% endverbatim %}` are one text token each.
Whitespace control (`{{-`, `-}}`, `{%-`, `-%}`) is applied here, on the neighbouring text —
except on `raw`/`endraw`: Kestra cuts raw blocks out of the template before Pebble sees it, so
their `-` marks trim nothing there, and nothing here. `verbatim` is Pebble's own and trims.
"""

from __future__ import annotations

import dataclasses
import re

from lanner.expr.env import MAX_TOKENS
from lanner.expr.errors import ExpressionError

TEXT = "text"
PRINT = "print"  # {{
TAG = "tag"  # {%
END = "end"  # }} or %}
NAME = "name"
NUMBER = "number"
STRING = "string"  # value is a list of parts: str, or ("expr", tokens, col) for #{…}
OP = "op"
EOF = "eof"

_OPS = ("???", "??", "..", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "|", "?", ":", "=",
        "(", ")", "[", "]", "{", "}", ",", ".")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_OPEN = re.compile(r"\{\{|\{%|\{#")
_RAW_START = re.compile(r"\{%-?\s*raw\s*-?%\}")
_RAW_END = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_VERBATIM_START = re.compile(r"\{%(-?)\s*verbatim\s*(-?)%\}")
_VERBATIM_END = re.compile(r"\{%(-?)\s*endverbatim\s*(-?)%\}")
# Pebble unescapes only the string's own quote and the backslash: `'a\nb'` stays four characters,
# `"te\'st"` keeps its backslash, and a regex such as `'\bword\b'` reaches
# `replace(…, regexp=true)` as written.
_ESCAPES = {"'": {"\\": "\\", "'": "'"}, '"': {"\\": "\\", '"': '"'}}


@dataclasses.dataclass(slots=True)
class Token:
    kind: str
    value: object
    pos: int  # 0-based offset in the template

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops

    def is_name(self, *names: str) -> bool:
        return self.kind == NAME and self.value in names


def tokenize(src: str) -> list[Token]:
    """Split a whole template into tokens; raises ExpressionError at the offending column."""
    tokens: list[Token] = []
    i, n = 0, len(src)
    strip_next = False
    while i < n:
        m = _OPEN.search(src, i)
        text_end = m.start() if m else n
        text = src[i:text_end]
        if strip_next:
            text = text.lstrip()
            strip_next = False
        if m is None:
            if text:
                tokens.append(Token(TEXT, text, i))
            break
        opener = m.group()
        if opener == "{%" and (raw := _RAW_START.match(src, m.start())):
            if text:
                tokens.append(Token(TEXT, text, i))
            i, strip_next = _verbatim(src, raw.end(), _RAW_END, "`{% raw %}` is never closed", "`{% endraw %}`",
                                      m.start(), tokens, trim_start=False)
            continue
        j = m.end()
        trim_left = j < n and src[j] == "-"
        if trim_left:
            j += 1
            text = text.rstrip()
        if text:
            tokens.append(Token(TEXT, text, i))
        if opener == "{%" and (verbatim := _VERBATIM_START.match(src, m.start())):
            i, strip_next = _verbatim(src, verbatim.end(), _VERBATIM_END, "`{% verbatim %}` is never closed",
                                      "`{% endverbatim %}`", m.start(), tokens, trim_start=bool(verbatim.group(2)))
            continue
        if opener == "{#":
            close = src.find("#}", j)
            if close < 0:
                raise ExpressionError("unclosed comment `{#`", hint="end it with `#}`", template=src,
                                      column=m.start() + 1)
            strip_next = src[close - 1] == "-" if close > j else False
            i = close + 2
            continue
        kind = PRINT if opener == "{{" else TAG
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"the template has more than {MAX_TOKENS} parts",
                                  hint="split it, or keep large data in files and variables "
                                       "(LANNER_TEMPLATE_MAX_TOKENS sets the limit)", template=src[:200],
                                  column=m.start() + 1)
        tokens.append(Token(kind, opener, m.start()))
        i, strip_next = _code(src, j, kind, tokens)
    tokens.append(Token(EOF, None, n))
    return tokens


def _verbatim(src: str, i: int, end: re.Pattern[str], unclosed: str, closer: str, start: int,
              tokens: list[Token], *, trim_start: bool) -> tuple[int, bool]:
    """The text of a raw/verbatim block up to its end tag, as one TEXT token; returns the index
    after the end tag and whether the text after it is to be left-trimmed. The `-` marks of a
    verbatim block trim as Pebble's do (`trim_start`: the opening tag's right mark; the end
    tag's marks are its groups); `_RAW_END` has no groups, so raw blocks trim nothing."""
    found = end.search(src, i)
    if found is None:
        raise ExpressionError(unclosed, hint=f"add {closer}", template=src, column=start + 1)
    marks = found.groups() or ("", "")
    body = src[i:found.start()]
    body = body.lstrip() if trim_start else body
    body = body.rstrip() if marks[0] else body
    if body:
        tokens.append(Token(TEXT, body, i))
    return found.end(), bool(marks[1])


def _code(src: str, i: int, kind: str, tokens: list[Token]) -> tuple[int, bool]:
    """Tokens of one `{{ … }}` or `{% … %}` up to its closing delimiter; returns (next index, trim)."""
    closer = "}}" if kind == PRINT else "%}"
    start = i - 2
    depth = 0  # open `{` of map literals
    n = len(src)
    while True:
        while i < n and src[i] in " \t\r\n":
            i += 1
        if i >= n:
            what = "`{{`" if kind == PRINT else "`{%`"
            raise ExpressionError(f"{what} is never closed", hint=f"end it with `{closer}`", template=src,
                                  column=start + 1)
        if depth == 0:
            if src.startswith("-" + closer, i):
                tokens.append(Token(END, closer, i))
                return i + 3, True
            if src.startswith(closer, i):
                tokens.append(Token(END, closer, i))
                return i + 2, False
            if src[i] == "}":
                raise ExpressionError("unexpected `}`", hint=f"close the expression with `{closer}`",
                                      template=src, column=i + 1)
        i = _scan(src, i, tokens)
        if len(tokens) > MAX_TOKENS:  # each token costs a node and a closure once compiled
            raise ExpressionError(f"the template has more than {MAX_TOKENS} parts",
                                  hint="split it, or keep large data in files and variables "
                                       "(LANNER_TEMPLATE_MAX_TOKENS sets the limit)", template=src[:200],
                                  column=i + 1)
        if tokens[-1].kind == OP:
            depth += tokens[-1].value == "{"
            depth -= tokens[-1].value == "}"


def _scan(src: str, i: int, tokens: list[Token]) -> int:
    """One code token starting at `i` (no leading blanks); returns the index after it."""
    c = src[i]
    if c in "'\"":
        return _string(src, i, tokens)
    m = _NUMBER.match(src, i)
    if m:
        text = m.group()
        if "." not in text and (len(text) > 19 and text.lstrip("0")[19:] or int(text) > 2**63 - 1):
            raise ExpressionError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is outside the 64-bit range",
                                  hint="integers are 64-bit as in Kestra; write it as a decimal or a string",
                                  column=i + 1)
        tokens.append(Token(NUMBER, float(text) if "." in text else int(text), i))
        return m.end()
    m = _NAME.match(src, i)
    if m:
        tokens.append(Token(NAME, m.group(), i))
        return m.end()
    for op in _OPS:
        if src.startswith(op, i):
            tokens.append(Token(OP, op, i))
            return i + len(op)
    raise ExpressionError(f"unexpected character `{c}`", hint="check the expression's syntax", template=src,
                          column=i + 1)


def _string(src: str, i: int, tokens: list[Token]) -> int:
    """A quoted string. Double quotes allow `#{expr}` interpolation, as in Pebble."""
    quote = src[i]
    start = i
    i += 1
    parts: list[object] = []
    buf: list[str] = []
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n:
            nxt = src[i + 1]
            buf.append(_ESCAPES[quote].get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == quote:
            if buf or not parts:
                parts.append("".join(buf))
            tokens.append(Token(STRING, parts, start))
            return i + 1
        if quote == '"' and c == "#" and src.startswith("#{", i):
            if buf:
                parts.append("".join(buf))
                buf = []
            inner: list[Token] = []
            j = _interpolation(src, i + 2, inner)
            parts.append(("expr", inner, i))
            i = j
            continue
        buf.append(c)
        i += 1
    raise ExpressionError("unclosed string", hint=f"end it with {quote}", template=src, column=start + 1)


def _interpolation(src: str, i: int, tokens: list[Token]) -> int:
    """Tokens of `#{ … }` inside a double-quoted string, up to the matching `}`."""
    depth = 0
    n = len(src)
    start = i - 2
    while True:
        while i < n and src[i] in " \t\r\n":
            i += 1
        if i >= n:
            raise ExpressionError("unclosed `#{` in a string", hint="end it with `}`", template=src,
                                  column=start + 1)
        if src[i] == "}" and depth == 0:
            tokens.append(Token(EOF, None, i))
            return i + 1
        i = _scan(src, i, tokens)
        if len(tokens) > MAX_TOKENS:  # each token costs a node and a closure once compiled
            raise ExpressionError(f"the template has more than {MAX_TOKENS} parts",
                                  hint="split it, or keep large data in files and variables "
                                       "(LANNER_TEMPLATE_MAX_TOKENS sets the limit)", template=src[:200],
                                  column=i + 1)
        if tokens[-1].kind == OP:
            depth += tokens[-1].value == "{"
            depth -= tokens[-1].value == "}"
