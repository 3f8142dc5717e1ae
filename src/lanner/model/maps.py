"""Merging nested maps, as Kestra's MapUtils.merge does: one rule for task defaults (`loading/`)
and for task states (`…state.Set`), so both combine maps the same way."""

from __future__ import annotations

from typing import Any


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: maps merged key by key at every depth, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
