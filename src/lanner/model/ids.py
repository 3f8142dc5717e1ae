"""The shapes of identifiers, Kestra's, in one place.

Identifiers reach Lanner through flow YAML, URL paths, form-field names and query strings, and
some of them become parts of file paths in internal storage. Checking every one against the same
pattern at every door is what keeps `..`, `/` and control characters out of those paths; the
storage layer checks again (see `storage/files.py`), so a forgotten door is not a hole.
"""

from __future__ import annotations

import re
from typing import Literal

from lanner.errors import LannerError

Kind = Literal["namespace", "flow id", "task id", "trigger id", "input id", "output id", "kv key", "tenant",
               "execution id", "task run id", "webhook key"]

# Kestra's patterns (Flow.id, Flow.namespace, Task.id, Input.id, KV keys, tenant ids); Lanner's
# own ids (executions, task runs) are 22 base62 characters, and run ids also take `inputs`.
PATTERNS: dict[str, str] = {
    "namespace": r"^[a-z0-9][a-z0-9._-]*$",
    "flow id": r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$",
    "task id": r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "trigger id": r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "input id": r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$",
    "output id": r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$",
    "kv key": r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$",
    "tenant": r"^[a-z0-9][a-z0-9_-]*$",
    "execution id": r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "task run id": r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "webhook key": r"^[^/\x00-\x1f\x7f]+$",
}
MAX_LENGTH: dict[str, int] = {"namespace": 150, "flow id": 100, "webhook key": 256}
DEFAULT_MAX = 255


class BadIdentifier(LannerError):
    """An identifier that breaks its pattern; `kind` and `rule` say which, for API problems."""

    def __init__(self, kind: str, value: str, rule: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "…"
        super().__init__(f"{kind} `{shown!s}` is not valid: {rule}",
                         hint=f"a {kind} must match {PATTERNS[kind]}"
                              f" and be at most {MAX_LENGTH.get(kind, DEFAULT_MAX)} characters")
        self.kind = kind
        self.rule = rule


def problem(kind: str, value: object) -> str | None:
    """Which rule `value` breaks as a `kind`, or None when it is a valid one."""
    if not isinstance(value, str):
        return f"it is a {type(value).__name__}, not text"
    limit = MAX_LENGTH.get(kind, DEFAULT_MAX)
    if not value:
        return "it is empty"
    if len(value) > limit:
        return f"it is {len(value)} characters long, the limit is {limit}"
    if re.fullmatch(PATTERNS[kind], value) is None:  # compiled on first use (re's cache): start-up time
        return f"it must match {PATTERNS[kind]}"
    return None


def check(kind: str, value: str) -> str:
    """`value` if it is a valid `kind`; raises BadIdentifier saying which rule it breaks."""
    rule = problem(kind, value)
    if rule is not None:
        raise BadIdentifier(kind, str(value), rule)
    return value
