"""User-facing errors.

Every error a user can cause (bad YAML, unknown task type, bad template, bad input) is a
`LannerError` carrying a `Located` position, so the CLI and the API can print
`FILE:LINE: what is wrong; what to do` instead of a traceback. The original exception, when
there is one, is kept in `__cause__`.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Located:
    """Where in the user's input a problem is. Any part may be unknown."""

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str | None = None  # property path in the flow, e.g. "tasks[0].message"

    def prefix(self) -> str:
        """`file:line:col` as far as known, for the start of an error line."""
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            if not parts:
                parts.append("<flow>")
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class LannerError(Exception):
    """An error the user can act on: what is wrong, and what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None, where: Located | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where or Located()

    def located(self, where: Located) -> LannerError:
        """Fill in the parts of the location that are still unknown; returns self."""
        self.where = Located(
            file=self.where.file or where.file,
            line=self.where.line if self.where.line is not None else where.line,
            column=self.where.column if self.where.column is not None else where.column,
            path=self.where.path or where.path,
        )
        return self

    def render(self) -> str:
        """The one-line form: `file:line: what is wrong; what to do`."""
        prefix = self.where.prefix()
        text = self.message
        if self.where.path and self.where.path.split(".")[0] not in text:
            text = f"{self.where.path}: {text}"
        if self.hint:
            text = f"{text}; {self.hint}"
        return f"{prefix}: {text}" if prefix else text

    def __str__(self) -> str:
        return self.render()


class ValidationError(LannerError):
    """A flow or its inputs are not valid; nothing has run."""


class ValidationErrors(LannerError):
    """Several validation problems found at once; each is listed."""

    def __init__(self, errors: list[LannerError]) -> None:
        super().__init__(f"{len(errors)} problem(s) found")
        self.errors = errors

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)
