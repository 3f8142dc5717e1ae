"""Kestra's regular-expression filters, `regexMatch`, `regexReplace`, `regexExtract`, and `condense`.

They share `replace(…, regexp=true)`'s engine (`filters_text._java_regex`): Java's pattern
syntax and replacement references (`$1`, `${name}`), and the same time limit, so a pattern that
backtracks forever fails its task instead of hanging a worker. Like Java's `Matcher.find()`, a
pattern matches anywhere in the text unless it is anchored. A null input is no text: no match,
nothing replaced, nothing extracted.
"""

from __future__ import annotations

import functools
from typing import Any

from lanner.expr.arguments import check_text, expect_int, fail
from lanner.expr.env import REGEX_TIMEOUT, Env
from lanner.expr.filters_text import _bounded, _java_regex, _java_replacement, _text, _timed


def _pattern(where: str, regex: Any) -> Any:
    if regex is None:
        fail(where, "the argument `regex` is required", hint=f"write {where}(regex='\\\\d+')")
    return _java_regex(where, _text(regex))


def regexMatch(env: Env, value: Any, regex: Any = None) -> bool:  # noqa: N802 - Kestra's name
    """True when the pattern is found somewhere in the text (anchor it with ^…$ for the whole text)."""
    compiled = _pattern("regexMatch", regex)
    if value is None:
        return False
    text = _text(value)
    return _timed("regexMatch", compiled, lambda: compiled.search(text, timeout=REGEX_TIMEOUT,
                                                                   concurrent=True)) is not None


def regexReplace(env: Env, value: Any, regex: Any = None, replacement: Any = None) -> Any:  # noqa: N802
    """Every match replaced; `$1` or `${name}` in the replacement stands for a group."""
    compiled = _pattern("regexReplace", regex)
    if replacement is None:
        fail("regexReplace", "the argument `replacement` is required",
             hint="write regexReplace(regex='\\\\d', replacement='-')")
    if value is None:
        return None
    text = _text(value)
    expand = _bounded(_java_replacement("regexReplace", _text(replacement)), len(text))
    return check_text("regexReplace", _timed("regexReplace", compiled, functools.partial(
        compiled.sub, expand, text, timeout=REGEX_TIMEOUT, concurrent=True)))


def regexExtract(env: Env, value: Any, regex: Any = None, group: Any = 0) -> Any:  # noqa: N802
    """The first match (or its `group`), or null when the pattern is not found."""
    compiled = _pattern("regexExtract", regex)
    index = 0 if group is None else expect_int("regexExtract", "group", group, minimum=0)
    if index > compiled.groups:
        fail("regexExtract", f"the pattern has {compiled.groups} group(s), there is no group {index}",
             hint="count the ( … ) of the pattern; group=0 is the whole match")
    if value is None:
        return None
    text = _text(value)
    found = _timed("regexExtract", compiled, lambda: compiled.search(text, timeout=REGEX_TIMEOUT,
                                                                      concurrent=True))
    return None if found is None else found.group(index)


def condense(env: Env, value: Any) -> str:
    """The text with its line feeds removed, as Kestra's `condense` (other spaces are kept)."""
    if not isinstance(value, str):
        fail("condense", "condense can only be applied on strings",
             hint="apply it to text, e.g. a multi-line output; `| string` converts other values")
    return value.replace("\n", "")
