"""Properties of Kestra's core tasks that Lanner declares only to refuse them, saying why.

Kestra accepts them; Lanner does not carry them out. Leaving them undeclared would refuse them
too, but as an unknown property with a guessed "did you mean"; declaring them lets `lanner
validate` name the property at its line and say what Lanner does instead. Each task class lists
its refused properties in `refused` (property → reason and what to do), read by the check below
and by `tests/unit/test_core_properties_read_or_refused.py`, which fails when a declared property
is neither read nor listed there. A property accepted because it has nothing to act on in Lanner
(metrics to purge when Lanner records none) is listed, with that reason, in the class's
`no_effect` map instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationInfo, field_validator


def refuse_when_set(refused: Mapping[str, str], value: Any, info: ValidationInfo) -> Any:
    """The body of a field validator: a refused property that is given fails validation."""
    if value is not None:
        raise ValueError(refused[info.field_name or ""])
    return value


def refusing(*names: str) -> Any:
    """A field validator for `names` that refuses each one given, with its reason in the class's
    `refused` map: `check_refused = refusing("onResume", "onPause")` in the class body."""

    def check(cls: Any, value: Any, info: ValidationInfo) -> Any:
        return refuse_when_set(cls.refused, value, info)

    return field_validator(*names)(classmethod(check))
