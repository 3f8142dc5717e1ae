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



def nest_dotted(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"a.b": 1}` as `{"a": {"b": 1}}`: Kestra nests dotted input ids this way before a template
    sees them, so `{{ inputs.a.b }}` reads the input `a.b`. A flow whose ids clash (`a` and `a.b`)
    is refused when loaded (`dotted_clash`); should one still reach here (an execution stored
    before its flow changed), the id with fewer dots is placed and the other is kept under its
    whole id, where `inputs['a.b']` still finds it."""
    if not any("." in key for key in flat):
        return flat
    out: dict[str, Any] = {}
    for key in sorted(flat, key=lambda k: k.count(".")):
        *heads, last = key.split(".")
        node = _branch(out, heads)
        if node is None or last in node:
            out[key] = flat[key]
        else:
            node[last] = flat[key]
    return out


def _branch(root: dict[str, Any], heads: list[str]) -> dict[str, Any] | None:
    """The map at `heads` under `root`, made as needed; None where a value that is not a map
    already stands in the way."""
    node = root
    for head in heads:
        below = node.setdefault(head, {})
        if not isinstance(below, dict):
            return None
        node = below
    return node


def dotted_clash(ids: list[str]) -> tuple[str, str] | None:
    """The first two ids that `nest_dotted` cannot both place, one naming a map the other puts a
    value in (`a` and `a.b`), earlier id first."""
    paths = [(key, key.split(".")) for key in ids]
    for j, (key, path) in enumerate(paths):
        for other, known in paths[:j]:
            shorter, longer = sorted((known, path), key=len)
            if other != key and len(shorter) < len(longer) and longer[:len(shorter)] == shorter:
                return other, key
    return None
