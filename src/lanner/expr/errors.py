"""The one error type of the expression language.

Every failure inside a template — a syntax error, an undefined variable, a filter given the
wrong kind of value, a sandbox limit — is an `ExpressionError`: a `LannerError` that knows the
template and the column (1-based) inside it, so the caller can add the flow file, the line and
the property path, and the CLI can print a caret under the offending spot. Nothing else may
escape `render`: that is the sandbox's promise.
"""

from __future__ import annotations

from collections.abc import Callable

from lanner.errors import LannerError, Located
from lanner.expr.origins import locate, origin_of, template_line

_SHOWN = 200  # characters of a template line shown under an error


class ExpressionError(LannerError):
    """A template could not be parsed or evaluated."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        template: str | None = None,
        column: int | None = None,
        where: Located | None = None,
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.template = template
        self.column = column  # 1-based column inside `template`, when known

    def at(self, template: str, column: int | None) -> ExpressionError:
        """Attach the template and the column, keeping what is already known; returns self."""
        if self.template is None:
            self.template = template
            if self.column is None:
                self.column = column
        return self

    def render(self) -> str:
        self._locate_in_file()
        text = super().render()
        if self.template is None:
            return text
        if "\n" not in self.template and len(self.template) <= _SHOWN:
            text += f"\n    {self.template}"
            if self.column is not None:
                text += "\n    " + " " * (self.column - 1) + "^"
        elif self.column is not None:  # the template's line that holds the spot, with its caret
            number, column, line = template_line(self.template, self.column)
            if self.where.line is None:
                text += f" (line {number} of the template)"
            if len(line) > _SHOWN:  # a window around the spot
                begin = max(0, min(column - 1 - _SHOWN // 2, len(line) - _SHOWN))
                line, column = line[begin:begin + _SHOWN], column - begin
            text += f"\n    {line}\n    " + " " * (column - 1) + "^"
        return text

    def _locate_in_file(self) -> None:
        """At run time, the file line of a template whose flow file was loaded in this process."""
        if self.where.line is not None or self.template is None or self.column is None:
            return
        origin = origin_of(self.template)
        if origin is None or (self.where.file is not None and self.where.file != origin.file):
            return
        line, column = locate(self.template, self.column, origin)
        self.where = Located(origin.file, line, column, self.where.path)


class UndefinedError(ExpressionError):
    """A name or key that does not exist, outside `??`, `???`, `default` and `is defined`.

    Its hint (what does exist, did-you-mean) is worked out only when someone reads it: under
    `??` the error is raised and dropped at once, and listing a large `outputs` map is not free.
    """

    def __init__(self, message: str, *, hint_factory: Callable[[], str | None] | None = None,
                 hint: str | None = None, column: int | None = None) -> None:
        super().__init__(message, hint=hint, column=column)
        self._hint_factory = hint_factory

    @property
    def hint(self) -> str | None:
        if self._hint_factory is not None:
            self._hint, self._hint_factory = self._hint_factory(), None
        return self._hint

    @hint.setter
    def hint(self, value: str | None) -> None:
        self._hint, self._hint_factory = value, None
