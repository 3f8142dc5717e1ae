"""`…core.storage.Split` and `…core.storage.Reverse`: files of internal storage taken line by line.

Lines end as Java's `readLine` ends them (`\\n`, `\\r\\n` or `\\r`; a final terminator adds no
empty line), and each line is written back followed by `separator`, as Kestra does.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import ClassVar

from pydantic import Field, model_validator

from lanner.model.property import Int
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.core.storage import extension_of, file_name, render_uri
from lanner.plugins.properties import render_int, render_str

_LINE_END = re.compile(r"\r\n|\r|\n")
_BYTES = re.compile(r"(\d+)\s*([KMGT]?)B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def lines_of(text: str) -> list[str]:
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the text ended with a terminator: that is not one more (empty) line
    return lines


def parse_size(text: str) -> int:
    """`1024`, `10KB`, `10MB`, `1GB` (multiples of 1024, as Kestra reads a `bytes` size)."""
    match = _BYTES.fullmatch(text.strip())
    if match is None:
        raise TaskFailure(f"`bytes` must be a size such as 1024, 10KB, 10MB or 1GB, got `{text}`")
    size = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if size <= 0:
        raise TaskFailure(f"`bytes` must be more than zero, got `{text}`")
    return size


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise TaskFailure(f"`charset` `{name}` is not a known character set; use for example UTF-8 or ISO-8859-1") \
            from None


_WAYS = ("bytes", "partitions", "rows", "regexPattern")


class Split(RunnableTask):
    """Split a file into several: by size (`bytes`), number of lines (`rows`), a number of files
    filled in turn (`partitions`) or the value of a regex's first group (`regexPattern`)."""

    outputs_doc = output_docs(
        uris=("array", "The `kestra://` URIs of the parts, in order"),
    )

    acts_outside: ClassVar[bool] = False  # reads and writes Lanner's own storage only

    from_: str = Field(alias="from")
    bytes: str | int | None = None  # a number of bytes, or a size such as `10KB` (Kestra accepts both)
    partitions: Int | None = None
    rows: Int | None = None
    regexPattern: str | None = None
    separator: str = "\n"

    @model_validator(mode="after")
    def _one_way(self) -> Split:
        given = [w for w in _WAYS if getattr(self, w) is not None]
        if len(given) != 1:
            said = ", ".join(f"`{w}`" for w in given) or "none"
            raise ValueError(f"set exactly one of `bytes`, `partitions`, `rows` or `regexPattern` (got {said}); "
                             "Kestra silently uses the first of them in that order")
        return self

    def run(self, ctx: RunContext) -> Output:
        source = render_uri(ctx, self.from_, "from")
        separator = render_str(ctx, self.separator) or ""
        lines = lines_of(ctx.read_file(source).decode("utf-8", "replace"))
        chunks = self._chunks(ctx, lines)
        ext = extension_of(source)
        uris = [ctx.put_file(file_name(self.id, ext, f"-{i}"),
                             "".join(line + separator for line in chunk).encode("utf-8"))
                for i, chunk in enumerate(c for c in chunks if c)]
        return Output({"uris": uris})

    def _chunks(self, ctx: RunContext, lines: list[str]) -> list[list[str]]:
        if self.regexPattern is not None:
            return _by_group(str(ctx.render(self.regexPattern)), lines)
        if self.partitions is not None:
            count = _positive(render_int(ctx, self.partitions, "partitions"), "partitions")
            parts: list[list[str]] = [[] for _ in range(count)]
            for i, line in enumerate(lines):
                parts[i % count].append(line)
            return parts
        separator = render_str(ctx, self.separator) or ""
        if self.bytes is not None:
            limit = parse_size(str(ctx.render(self.bytes)))
            return _cut(lines, lambda size, _count: size >= limit,
                        lambda line: len((line + separator).encode("utf-8")))
        rows = _positive(render_int(ctx, self.rows, "rows"), "rows")
        return _cut(lines, lambda _size, count: count >= rows, lambda line: 0)


def _positive(value: int | None, name: str) -> int:
    if value is None or value <= 0:
        raise TaskFailure(f"`{name}` must be more than zero, got `{value}`")
    return value


def _cut(lines: list[str], full: Callable[[int, int], bool], weight: Callable[[str], int]) -> list[list[str]]:
    """Consecutive chunks: a new one starts when the current one is `full(size, count)`."""
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if not chunks or full(size, len(chunks[-1])):
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += weight(line)
    return chunks


def _by_group(pattern: str, lines: list[str]) -> list[list[str]]:
    """One chunk per value of the pattern's first group, in order of first appearance; lines that
    do not match are left out (as in Kestra)."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise TaskFailure(f"`regexPattern` `{pattern}` is not a valid regular expression: {exc}") from None
    if regex.groups < 1:
        raise TaskFailure(f"`regexPattern` `{pattern}` needs a capture group: lines are grouped by its value")
    groups: dict[str, list[str]] = {}
    for line in lines:
        match = regex.search(line)
        if match is not None:
            groups.setdefault(match.group(1) or "", []).append(line)
    return list(groups.values())


class Reverse(RunnableTask):
    """A copy of a file with its lines in reverse order, last line first."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the reversed file"),
    )

    acts_outside: ClassVar[bool] = False  # reads and writes Lanner's own storage only

    from_: str = Field(alias="from")
    separator: str = "\n"
    charset: str = "UTF-8"

    def run(self, ctx: RunContext) -> Output:
        source = render_uri(ctx, self.from_, "from")
        separator = render_str(ctx, self.separator) or ""
        codec = _codec(render_str(ctx, self.charset) or "UTF-8")
        lines = lines_of(ctx.read_file(source).decode(codec, "replace"))
        body = "".join(line + separator for line in reversed(lines)).encode(codec, "replace")
        return Output({"uri": ctx.put_file(file_name(self.id, extension_of(source)), body)})
