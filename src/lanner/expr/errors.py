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
        text = super().render()
        if self.template is not None and "\n" not in self.template and len(self.template) <= 200:
            text += f"\n    {self.template}"
            if self.column is not None:
                text += "\n    " + " " * (self.column - 1) + "^"
        return text


class UndefinedError(ExpressionError):
    """A name or key that does not exist, outside `??`, `???`, `default` and `is defined`.

    Its hint (what does exist, did-you-mean) is worked out only when someone reads it: under
    `??` the error is raised and dropped at once, and listing a large `outputs` map is not free.
    """

    def __init__(self, message: str, *, hint_factory: Callable[[], str | None] | None = None,
                 hint: str | None = None, column: int | None = None) -> None:
        self._hint_factory = hint_factory
        super().__init__(message, hint=hint, column=column)

    @property
    def hint(self) -> str | None:
        if self._hint_factory is not None:
            self._hint, self._hint_factory = self._hint_factory(), None
        return self._hint

    @hint.setter
    def hint(self, value: str | None) -> None:
        self._hint = value
