"""Text filters: case, trimming, splitting, replacing, encoding, hashing, escaping, indenting.

Pebble's and Kestra's string filters call Java's `String` methods, so the Java behaviours that
flows can observe are kept: `trim` strips control characters but not Unicode spaces, `split`
takes a regular expression and drops trailing empty strings, `urlencode` is form encoding
(`+` for a space, `~` escaped), `title` capitalises after whitespace only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from lanner.expr.arguments import (
    check_items,
    check_text,
    expect_bool,
    expect_int,
    expect_map,
    expect_opt_str,
    expect_str,
    fail,
)
from lanner.expr.env import MAX_ITEMS, MAX_OUTPUT, REGEX_TIMEOUT, Env
from lanner.expr.values import stringify

T = TypeVar("T")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else stringify(value)


def _java_regex(where: str, pattern: str) -> Any:
    """A template's regex, compiled by the `regex` package: Java's `(?<name>…)`, `\\p{L}`, possessive
    and atomic forms work, and matching can be given a time limit (see `_timed`)."""
    import regex

    try:
        return _compiled(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        fail(where, f"invalid regular expression '{pattern}': {exc}",
             hint="escape special characters with a double backslash, e.g. '\\\\.' for a dot")


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    """regex's own cache is slower to consult than this one (a template's patterns repeat)."""
    import regex

    return regex.compile(pattern)


def _timed(where: str, compiled: Any, action: Callable[[], T]) -> T:
    """Run a match with REGEX_TIMEOUT; `concurrent=True` in the calls lets other threads run meanwhile."""
    try:
        return action()
    except TimeoutError:
        fail(where, f"regular expression '{compiled.pattern}' took longer than {REGEX_TIMEOUT:g}s",
             hint="simplify it, e.g. avoid nested repetition such as (a+)+ (LANNER_REGEX_TIMEOUT sets the limit)")


def _title_char(ch: str) -> str:
    titled = ch.title()
    return titled if len(titled) == 1 else ch


def abbreviate(env: Env, value: Any, length: Any) -> Any:
    """Shorten to `length` characters, the last three being `...`."""
    if value is None:
        return None
    text = expect_str("abbreviate", "the value", value)
    width = expect_int("abbreviate", "length", length, minimum=0)
    if len(text) < width or len(text) <= 3:
        return text
    return text[:width] if width <= 3 else text[:width - 3] + "..."


def capitalize(env: Env, value: Any) -> Any:
    """Upper-case the first non-blank character; leave the rest as it is."""
    if value is None:
        return None
    text = expect_str("capitalize", "the value", value)
    stripped = len(text) - len(text.lstrip())
    return text[:stripped] + _title_char(text[stripped]) + text[stripped + 1:] if text.strip() else text


def title(env: Env, value: Any) -> Any:
    """Upper-case the first character of every whitespace-separated word."""
    if value is None:
        return None
    text = expect_str("title", "the value", value)
    out, start = [], True
    for ch in text:
        out.append(_title_char(ch) if start and not ch.isspace() else ch)
        start = ch.isspace()
    return "".join(out)


def upper(env: Env, value: Any) -> Any:
    return None if value is None else _text(value).upper()


def lower(env: Env, value: Any) -> Any:
    return None if value is None else _text(value).lower()


def trim(env: Env, value: Any) -> Any:
    """Java's `trim`: removes spaces and control characters (code points up to U+0020)."""
    if value is None:
        return None
    chars = "".join(chr(c) for c in range(33))
    return expect_str("trim", "the value", value).strip(chars)


def _java_replacement(where: str, replacement: str) -> Callable[[Any], str]:
    """Java's `$1`, `${name}` and `\\x` in a regex replacement, applied to a match."""
    def expand(m: Any) -> str:
        out, i = [], 0
        while i < len(replacement):
            ch = replacement[i]
            if ch == "\\" and i + 1 < len(replacement):
                out.append(replacement[i + 1])
                i += 2
            elif ch == "$" and replacement[i + 1:i + 2] == "{":
                end = replacement.find("}", i)
                name = replacement[i + 2:end] if end > 0 else ""
                if name not in m.re.groupindex:
                    fail(where, f"the replacement refers to an unknown group '{name}'", hint="use $1 or ${name}")
                out.append(m.group(name) or "")
                i = end + 1
            elif ch == "$":
                j = i + 1
                # Java reads as many digits as still name an existing group.
                while j < len(replacement) and replacement[j].isdigit() \
                        and int(replacement[i + 1:j + 1]) <= m.re.groups:
                    j += 1
                if j == i + 1:
                    fail(where, f"the replacement has a '$' without a group number: '{replacement}'",
                         hint="write \\\\$ for a literal dollar sign")
                out.append(m.group(int(replacement[i + 1:j])) or "")
                i = j
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    return expand


def replace(env: Env, value: Any, replace_pairs: Any = None, regexp: Any = False) -> Any:
    """Kestra's `replace({'search': 'replacement', …}, regexp=false)`, applied to every string
    inside maps and lists too."""
    if value is None:
        return None
    if replace_pairs is None:
        fail("replace", "the argument replace_pairs is required", hint="write replace({'old': 'new'})")
    pairs = expect_map("replace", replace_pairs)
    use_regex = expect_bool("replace", "regexp", regexp)
    plain_pairs = [(stringify(k), stringify(v)) for k, v in pairs.items()]
    regex_pairs = [(_java_regex("replace", k), _java_replacement("replace", v), v) for k, v in plain_pairs] \
        if use_regex else []

    def one(text: str) -> str:
        if use_regex:
            for compiled, expand, raw in regex_pairs:
                # A replacement without `$` or `\` is literal text; when even a match at every position
                # stays under MAX_OUTPUT, the regex engine inserts it itself (no Python call per match).
                literal = "$" not in raw and "\\" not in raw and len(text) + (len(text) + 1) * len(raw) <= MAX_OUTPUT
                text = check_text("replace", _timed("replace", compiled, functools.partial(
                    compiled.sub, raw if literal else _bounded(expand, len(text)), text, timeout=REGEX_TIMEOUT,
                    concurrent=True)))
        else:
            for search, replacement in plain_pairs:
                growth = len(replacement) - len(search)
                if growth > 0 and len(text) + text.count(search) * growth > MAX_OUTPUT:  # before building it
                    fail("replace", f"the result would be longer than {MAX_OUTPUT} characters",
                         hint="work on a smaller input")
                text = check_text("replace", text.replace(search, replacement))
        return text

    return _each_string(value, one)


def _bounded(expand: Callable[[Any], str], base: int) -> Callable[[Any], str]:
    """`expand`, stopping the substitution once the replacements alone would pass MAX_OUTPUT."""
    total = [base]

    def run(m: Any) -> str:
        text = expand(m)
        total[0] += len(text)
        if total[0] > MAX_OUTPUT:
            fail("replace", f"the result would be longer than {MAX_OUTPUT} characters", hint="work on a smaller input")
        return text

    return run


def _each_string(value: Any, action: Callable[[str], str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _each_string(v, action) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_each_string(v, action) for v in value]
    return action(_text(value))


def split(env: Env, value: Any, delimiter: Any = None, limit: Any = None) -> Any:
    """Java's `String.split(regex, limit)`: limit 0 (default) drops trailing empty strings,
    a positive limit caps the number of parts, a negative one keeps every part."""
    if value is None:
        return None
    text = expect_str("split", "the value", value)
    if delimiter is None:
        fail("split", "the argument delimiter is required", hint="write split(',')")
    regex = _java_regex("split", expect_str("split", "delimiter", delimiter))
    cap = 0 if limit is None else expect_int("split", "limit", limit)
    parts: list[str] = []
    index = 0
    matches = _timed("split", regex, lambda: list(_bounded_matches(regex, text, cap)))
    for m in matches:
        if cap > 0 and len(parts) >= cap - 1:
            break
        if m.end() == 0:
            continue  # a zero-width match at the start makes no leading empty part
        parts.append(text[index:m.start()])
        index = m.end()
        check_items("split", len(parts) + 1)
    if index == 0 and not parts:
        return [text]
    parts.append(text[index:])
    if cap == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _bounded_matches(compiled: Any, text: str, cap: int) -> Iterator[Any]:
    """The matches `split` may use: one past a positive `cap`, else just past MAX_ITEMS (so that
    the caller reports the limit instead of listing a million matches first)."""
    limit = cap + 1 if cap > 0 else MAX_ITEMS + 2
    for count, m in enumerate(compiled.finditer(text, timeout=REGEX_TIMEOUT, concurrent=True)):
        if count >= limit:
            return
        yield m


def slugify(env: Env, value: Any) -> Any:
    """`Hello World!` → `hello-world`: ASCII letters, digits and single dashes."""
    if value is None:
        return None
    text = re.sub(r"[ \t\n\x0b\f\r]", "-", _text(value))
    text = re.sub(r"[^A-Za-z0-9_-]", "", unicodedata.normalize("NFD", text)).replace("_", "-")
    text = re.sub(r"-{2,}", "-", text)
    return text.removeprefix("-").removesuffix("-").lower()


def _separator(where: str, separator: Any) -> str | None:
    return expect_opt_str(where, "separator", separator)


def substringBefore(env: Env, value: Any, separator: Any = None) -> Any:  # noqa: N802 - Kestra's name
    if value is None:
        return None
    text, sep = _text(value), _separator("substringBefore", separator)
    return text if sep is None else "" if sep == "" else text.split(sep, 1)[0]


def substringAfter(env: Env, value: Any, separator: Any = None) -> Any:  # noqa: N802
    if value is None:
        return None
    text, sep = _text(value), _separator("substringAfter", separator)
    if sep is None:
        return ""
    return text.split(sep, 1)[1] if sep in text else ""


def substringBeforeLast(env: Env, value: Any, separator: Any = None) -> Any:  # noqa: N802
    if value is None:
        return None
    text, sep = _text(value), _separator("substringBeforeLast", separator)
    return text if not sep or sep not in text else text.rsplit(sep, 1)[0]


def substringAfterLast(env: Env, value: Any, separator: Any = None) -> Any:  # noqa: N802
    if value is None:
        return None
    text, sep = _text(value), _separator("substringAfterLast", separator)
    return "" if not sep or sep not in text else text.rsplit(sep, 1)[1]


# Kestra names the argument of startsWith/endsWith `value`, so the filtered value is `input_`.
def startsWith(env: Env, input_: Any, value: Any = None) -> bool:  # noqa: N802
    return _text(input_).startswith(_text(value))


def endsWith(env: Env, input_: Any, value: Any = None) -> bool:  # noqa: N802
    return _text(input_).endswith(_text(value))


_URL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def urlencode(env: Env, value: Any) -> Any:
    """Java's `URLEncoder.encode(text, UTF-8)` (form encoding: a space becomes `+`)."""
    if value is None:
        return None
    text = expect_str("urlencode", "the value", value)
    out = []
    for ch in text:
        if ch in _URL_SAFE:
            out.append(ch)
        elif ch == " ":
            out.append("+")
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
    return "".join(out)


def urldecode(env: Env, value: Any) -> Any:
    if value is None:
        return None
    text = expect_str("urldecode", "the value", value)
    bad = re.search(r"%(?![0-9a-fA-F]{2})", text)
    if bad:
        fail("urldecode", f"'{text}' has an incomplete escape at character {bad.start() + 1}",
             hint="a percent sign must be followed by two hexadecimal digits; write %25 for '%'")
    data = bytearray()
    for m in re.finditer(r"%([0-9a-fA-F]{2})|[^%]+", text.replace("+", " ")):
        data += bytes([int(m[1], 16)]) if m[1] else m[0].encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def base64encode(env: Env, value: Any) -> Any:
    if value is None:
        return None
    return base64.b64encode(expect_str("base64encode", "the value", value).encode("utf-8")).decode("ascii")


def base64decode(env: Env, value: Any) -> Any:
    if value is None:
        return None
    text = expect_str("base64decode", "the value", value)
    try:
        padded = text if "=" in text else text + "=" * (-len(text) % 4)  # Java accepts missing padding
        return base64.b64decode(padded, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        fail("base64decode", f"'{text[:50]}' is not valid base64",
             hint="pass text encoded with base64encode (letters, digits, + / and = padding)")


def _digest(name: str) -> Callable[[Env, Any], Any]:
    def digest(env: Env, value: Any) -> Any:
        if value is None:
            return None
        text = expect_str(name, "the value", value, hint="hash text; convert other values with | toJson first")
        return hashlib.new(name, text.encode("utf-8")).hexdigest()

    digest.__name__ = name
    digest.__doc__ = f"The {name.upper()} hex digest of the UTF-8 bytes of a string."
    return digest


sha1, sha256, sha512, md5 = (_digest(n) for n in ("sha1", "sha256", "sha512", "md5"))

_ESCAPES = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}


def escapeChar(env: Env, value: Any, type: Any = None) -> Any:  # noqa: A002,N802 - Pebble's argument name
    """Escape quotes for a `single`- or `double`-quoted string, or for a `shell` single-quoted word."""
    if value is None:
        return None
    if type is None:
        fail("escapeChar", "the argument type is required", hint="write escapeChar('single'), 'double' or 'shell'")
    kind = expect_str("escapeChar", "type", type).lower()
    if kind not in _ESCAPES:
        fail("escapeChar", f"unknown type '{type}'", hint="type must be 'single', 'double' or 'shell'")
    quote, escaped = _ESCAPES[kind]
    return _each_string(value, lambda text: text.replace(quote, escaped))


def _line_separator(text: str) -> str:
    for sep in ("\r\n", "\n\r", "\n", "\r"):
        if sep in text:
            return sep
    return "\n"


def _indent(where: str, value: Any, amount: Any, prefix: Any, leading: bool) -> Any:
    if value is None:
        return None
    text = _text(value)
    if not text:
        return text
    if amount is None:
        fail(where, "the argument amount is required", hint=f"write {where}(2)")
    count = expect_int(where, "amount", amount, minimum=0)
    unit = expect_str(where, "prefix", prefix)
    sep = _line_separator(text)
    source = sep + text if leading else text
    lines = source.count(sep)
    if lines and len(source) + len(unit) * count * lines > MAX_OUTPUT:
        fail(where, f"the result would be longer than {MAX_OUTPUT} characters", hint="indent by fewer characters")
    return source.replace(sep, sep + unit * count) if lines else source


def indent(env: Env, value: Any, amount: Any = None, prefix: Any = " ") -> Any:
    """Indent every line but the first (the first sits where the expression is)."""
    return _indent("indent", value, amount, prefix, leading=False)


def nindent(env: Env, value: Any, amount: Any = None, prefix: Any = " ") -> Any:
    """Start with a new line, then indent every line."""
    return _indent("nindent", value, amount, prefix, leading=True)


_JAVA_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def string(env: Env, value: Any) -> Any:
    """The text of a value; numeric text is normalised as Java's BigDecimal prints it."""
    if value is None:
        return None
    if isinstance(value, str):
        if _JAVA_DECIMAL.fullmatch(value):
            return str(Decimal(value))
        return value
    return stringify(value)

