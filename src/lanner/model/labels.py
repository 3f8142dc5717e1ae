"""Labels as Kestra writes them: a map, or a list of `{key, value}` entries; never `system.` ones.

The flow's `labels` and an SLA's `labels` (added to an execution that violates it) accept the same
two spellings, so both are read here.
"""

from __future__ import annotations

from typing import Any


def as_label_map(value: Any) -> Any:
    """A `{key: value}` map of strings, or `value` unchanged when it is neither spelling (pydantic
    then says what is wrong); raises ValueError for a malformed entry or a `system.` label."""
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if not isinstance(item, dict) or "key" not in item:
                raise ValueError("a label list holds `{key: …, value: …}` entries")
            out[str(item["key"])] = str(item.get("value", ""))
        value = out
    if isinstance(value, dict):
        for key in value:
            if str(key).startswith("system.") and key != "system.readOnly":
                raise ValueError(f"label `{key}`: `system.` labels are set by Lanner itself")
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value
