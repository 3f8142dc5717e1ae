"""Reading flow YAML fast, with the line and column of every key, value and list item.

libyaml (through PyYAML's C composer) builds the node tree in C, about thirty times faster than
ruamel.yaml's pure-Python round-trip loader on a 1,000-task flow, and every node carries its
position. The nodes are then turned into values here, with YAML 1.2's core schema (`yes`, `on`
and `1:30` stay strings; Kestra users write YAML 1.2 in their editors), duplicate keys refused,
merge keys (`<<`) applied, and hostile documents refused with their position before any value is
built: a text over the size limit, nesting deeper than the depth limit, a document whose *expanded*
size (every use of an alias counts its whole subtree again) passes the node limit, an alias that
contains itself, an integer outside Java's 64-bit `long` (Kestra's integers), and any tag other than
YAML's standard ones (`!!python/object`, `!foo`). The limits are read from the environment
(`LANNER_YAML_MAX_BYTES`, `LANNER_YAML_MAX_DEPTH`, `LANNER_YAML_MAX_NODES`; see docs/limits.md).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

_INT = re.compile(r"[-+]?[0-9]+$")
_OCT = re.compile(r"0o[0-7]+$")
_HEX = re.compile(r"0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULLS = ("", "~", "null", "Null", "NULL")
_STANDARD_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "binary", "timestamp", "merge"))
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _env_int(name: str, default: int) -> int:
    """A positive integer limit from the environment; a bad value falls back to the default."""
    raw = os.environ.get(name, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return default


def max_bytes() -> int:
    """Largest YAML text accepted (UTF-8 bytes)."""
    return _env_int("LANNER_YAML_MAX_BYTES", 10 * 1024 * 1024)


def max_depth() -> int:
    """Deepest nesting of maps and lists accepted."""
    return _env_int("LANNER_YAML_MAX_DEPTH", 200)


def max_nodes() -> int:
    """Most values a document may expand to, every use of an alias counting its whole subtree."""
    return _env_int("LANNER_YAML_MAX_NODES", 1_000_000)


class YamlError(Exception):
    """Not YAML, or YAML Lanner refuses (duplicate key, alias bomb); with a 0-based position."""

    def __init__(self, problem: str, line: int | None, column: int | None, hint: str = "fix the YAML syntax") -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column
        self.hint = hint


class Map(dict):
    """A mapping that remembers where it, each key and each value start (0-based line, column)."""

    pos: tuple[int, int] = (0, 0)
    key_pos: dict[Any, tuple[int, int]]
    value_pos: dict[Any, tuple[int, int]]


class Seq(list):
    pos: tuple[int, int] = (0, 0)
    item_pos: list[tuple[int, int]]


class Quoted(str):
    """A string written in quotes: its text starts one column after the value's position."""


def load(text: str) -> Any:
    import yaml

    limit = max_bytes()
    if len(text) > limit // 4 and len(text.encode("utf-8", "replace")) > limit:  # cheap test first
        raise YamlError(f"the document is larger than {limit} bytes", 0, 0,
                        "split it (subflows, namespace files) or raise LANNER_YAML_MAX_BYTES")
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line, mark.column) if mark else (None, None)
        if "nesting depth" in str(exc):  # newer libyaml stops deep documents itself
            raise YamlError("the document is nested too deeply", line, column,
                            "flatten the data (at most a few hundred levels)") from None
        raise YamlError(problem_of(exc), line, column, hint_for(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0], None, None) from None
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        _Sizer().size(node, 1)
        return _Builder().build(node)
    except RecursionError:
        raise YamlError("the document is nested too deeply", node.start_mark.line, node.start_mark.column,
                        "flatten the data (at most a few hundred levels)") from None


def position(container: Any, key: Any, *, value: bool = False) -> tuple[int | None, int | None]:
    """1-based (line, column) of a key (or its value) in a Map, or of an item in a Seq."""
    pos: tuple[int, int] | None = None
    if isinstance(container, Map):
        pos = (container.value_pos if value else container.key_pos).get(key, container.pos)
    elif isinstance(container, Seq):
        pos = container.item_pos[key] if isinstance(key, int) and 0 <= key < len(container) else container.pos
    if pos is None:
        return None, None
    return pos[0] + 1, pos[1] + 1


def line_of(node: Any) -> int | None:
    return node.pos[0] + 1 if isinstance(node, (Map, Seq)) else None


def plain(node: Any) -> Any:
    """The same data as plain dicts, lists and strs."""
    if isinstance(node, dict):
        return {(k if not isinstance(k, str) else str(k)): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def problem_of(exc: Any) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return ", ".join(parts) or str(exc).splitlines()[0]


def hint_for(exc: Any) -> str:
    text = str(exc)
    if "tab" in text or "\\t" in text:
        return "indent with spaces, not tabs"
    if "flow mapping" in text or "{" in str(getattr(exc, "context", "") or ""):
        return "quote values that start with `{{`, e.g. message: \"{{ inputs.name }}\""
    return "fix the YAML syntax"


class _Sizer:
    """Checks the composed node graph before any value is built: tags, depth, expanded size, cycles.

    The expanded size of a node is 1 plus that of its children, remembered per node, so a
    400-byte "billion laughs" is measured in a few thousand steps and refused before it is built.
    """

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.depth_limit = max_depth()
        self.node_limit = max_nodes()

    def size(self, node: Any, depth: int) -> int:
        import yaml

        line, column = node.start_mark.line, node.start_mark.column
        if node.tag not in _STANDARD_TAGS:
            raise YamlError(f"the tag `{node.tag.replace('tag:yaml.org,2002:', '!!')}` is not allowed", line, column,
                            "remove the tag; only YAML's standard tags (!!str, !!int, !!map, …) are accepted")
        if isinstance(node, yaml.ScalarNode):
            return 1
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        if key in self.open:
            raise YamlError("an alias refers to the map or list that contains it", line, column,
                            "an anchor (&name) cannot be used (*name) inside itself; copy the values instead")
        if depth > self.depth_limit:
            raise YamlError(f"the document is nested too deeply (more than {self.depth_limit} levels)", line, column,
                            "flatten the data or raise LANNER_YAML_MAX_DEPTH")
        self.open.add(key)
        total = 1
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
        for child in children:
            total += self.size(child, depth + 1)
            if total > self.node_limit:
                raise YamlError(f"the document expands to more than {self.node_limit} nodes (aliases counted at "
                                "each use)", line, column,
                                "use fewer or smaller aliases, or raise LANNER_YAML_MAX_NODES")
        self.open.discard(key)
        self.sizes[key] = total
        return total


class _Builder:
    def __init__(self) -> None:
        self.done: dict[int, Any] = {}

    def build(self, node: Any) -> Any:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        key = id(node)
        if key in self.done:  # an alias: the same value again
            return self.done[key]
        if isinstance(node, yaml.SequenceNode):
            seq = Seq()
            seq.pos = (node.start_mark.line, node.start_mark.column)
            seq.item_pos = []
            self.done[key] = seq
            for item in node.value:
                seq.item_pos.append((item.start_mark.line, item.start_mark.column))
                seq.append(self.build(item))
            return seq
        mapping = Map()
        mapping.pos = (node.start_mark.line, node.start_mark.column)
        mapping.key_pos, mapping.value_pos = {}, {}
        self.done[key] = mapping
        merged: list[Map] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                value = self.build(value_node)
                merged.extend([value] if isinstance(value, Map) else [v for v in value if isinstance(v, Map)])
                continue
            k = self.build(key_node)
            if isinstance(k, (dict, list)):
                if node.flow_style and isinstance(k, dict):  # `message: {{ x }}` read as a map in a map
                    raise YamlError("an unquoted `{{ … }}` is read by YAML as a map", node.start_mark.line,
                                    node.start_mark.column,
                                    'quote values that start with `{{`, e.g. message: "{{ inputs.name }}"')
                raise YamlError("a map key must be a plain value, not a map or a list", key_node.start_mark.line,
                                key_node.start_mark.column, "write the key as text")
            if k in mapping:
                raise YamlError(f"duplicate key `{k}`", key_node.start_mark.line, key_node.start_mark.column,
                                "each key may appear once in a map")
            mapping.key_pos[k] = (key_node.start_mark.line, key_node.start_mark.column)
            mapping.value_pos[k] = (value_node.start_mark.line, value_node.start_mark.column)
            mapping[k] = self.build(value_node)
        for source in merged:  # `<<: *base` — the map's own keys win
            for k, v in source.items():
                if k not in mapping:
                    mapping[k] = v
                    mapping.key_pos[k] = source.key_pos.get(k, source.pos)
                    mapping.value_pos[k] = source.value_pos.get(k, source.pos)
        return mapping

    @staticmethod
    def scalar(node: Any) -> Any:
        value: str = node.value  # plain scalars are resolved again with YAML 1.2's core schema
        if node.style in ("'", '"'):
            return Quoted(value)
        if node.style in ("|", ">"):
            return value
        if value in _NULLS:
            return None
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        if _INT.match(value):
            return _long(value.lstrip("+-").lstrip("0") or "0", 10, value.startswith("-"), node)
        if _OCT.match(value):
            return _long(value[2:].lstrip("0") or "0", 8, False, node)
        if _HEX.match(value):
            return _long(value[2:].lstrip("0") or "0", 16, False, node)
        if _FLOAT.match(value) and value not in (".", "+.", "-."):
            return float(value)
        if value.lower() in (".inf", "+.inf"):
            return math.inf
        if value.lower() == "-.inf":
            return -math.inf
        if value.lower() == ".nan":
            return math.nan
        return value


def _long(digits: str, base: int, negative: bool, node: Any) -> int:
    """An integer within Java's `long`, as Kestra reads it; anything larger is refused, not truncated."""
    number = int(digits, base) if len(digits) <= 64 else _LONG_MAX + 1  # never parse a 4,300-digit number
    if negative:
        number = -number
    if not _LONG_MIN <= number <= _LONG_MAX:
        raise YamlError("the integer is outside the 64-bit range (-9223372036854775808 to 9223372036854775807)",
                        node.start_mark.line, node.start_mark.column,
                        "quote it to keep it as text, or use a smaller number")
    return number
