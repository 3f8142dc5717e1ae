"""Where a template was written: from a spot in the template to a line and column of its file.

A template error knows its column inside the template. For a property written over several
lines — a `|` or `>` block, a quoted string broken across lines — the line of the YAML key is
not where the mistake is. `locate` finds the template's spot in the file's text from where the
scalar starts: the text around the spot (up to the end of its template line, shortened until
it is found) is looked for in the file from the scalar's start, skipping as many earlier
matches as the template itself has before the spot. That works whatever the scalar style
(literal, folded, quoted, plain) and whatever the indentation, because YAML keeps the
characters of a line and only changes what lies between lines. When escapes make the text
unfindable, the scalar's start is given, which is still right to the line for one-line values.

Flows are loaded (validated) before they run, so `remember` keeps each template's origin,
keyed by its text, and an error raised while the task runs is located the same way
(`ExpressionError.render`). A text written at two different places has no single origin and is
forgotten; the map is bounded.
"""

from __future__ import annotations

import dataclasses
import threading

_MAX_ORIGINS = 20_000
_SNIPPET = 40


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """A template's scalar in a file: its 1-based start, and the file's text."""

    file: str | None
    line: int
    column: int
    source: str


_origins: dict[str, Origin | None] = {}
_lock = threading.Lock()


def remember(template: str, origin: Origin) -> None:
    """Note where `template` was written (None once written at two places)."""
    with _lock:
        known = _origins.get(template, origin)
        if len(_origins) >= _MAX_ORIGINS and template not in _origins:
            _origins.clear()
        same = known is not None and (known.file, known.line, known.column) == (origin.file, origin.line,
                                                                                 origin.column)
        _origins[template] = origin if same else None


def origin_of(template: str) -> Origin | None:
    return _origins.get(template)


def _offset(source: str, line: int, column: int) -> int:
    """The 0-based offset in `source` of a 1-based line and column."""
    offset = 0
    for _ in range(line - 1):
        nxt = source.find("\n", offset)
        if nxt < 0:
            return len(source)
        offset = nxt + 1
    return offset + column - 1


def _line_col(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def locate(template: str, column: int, origin: Origin) -> tuple[int, int]:
    """The 1-based (line, column) in the file of the template's 1-based `column`."""
    spot = min(max(column - 1, 0), len(template))
    start = _offset(origin.source, origin.line, origin.column)
    # The scalar as written is the template plus indentation, quotes and escapes: a generous
    # bound keeps the search from running into a later property.
    stop = start + 2 * len(template) + 80 * (template.count("\n") + 2)
    line_end = template.find("\n", spot)
    end = len(template) if line_end < 0 else line_end
    for length in (_SNIPPET, 12, 4, 1):
        snippet = template[spot:min(end, spot + length)]
        if not snippet.strip():
            continue
        found = _nth(origin.source, snippet, start, stop, template.count(snippet, 0, spot))
        if found >= 0:
            return _line_col(origin.source, found)
    return origin.line, origin.column


def _nth(text: str, part: str, start: int, stop: int, skip: int) -> int:
    """Offset of the (skip+1)-th non-overlapping `part` in text[start:stop], or -1."""
    at = text.find(part, start, stop)
    for _ in range(skip):
        if at < 0:
            return -1
        at = text.find(part, at + len(part), stop)
    return at


def template_line(template: str, column: int) -> tuple[int, int, str]:
    """(1-based line inside the template, 1-based column in that line, the line's text)."""
    spot = min(max(column - 1, 0), len(template))
    begin = template.rfind("\n", 0, spot) + 1
    end = template.find("\n", spot)
    return template.count("\n", 0, spot) + 1, spot - begin + 1, template[begin:len(template) if end < 0 else end]
