"""The syntax tree of a template. Plain records; `compiler.py` turns them into closures.

Every node keeps `pos`, its 0-based offset in the template, so an error raised while
evaluating it can point a caret at the very spot.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(slots=True)
class Node:
    pos: int


# -- expressions ---------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Literal(Node):
    value: Any


@dataclasses.dataclass(slots=True)
class ListLit(Node):
    items: list[Node]


@dataclasses.dataclass(slots=True)
class MapLit(Node):
    pairs: list[tuple[Node, Node]]


@dataclasses.dataclass(slots=True)
class Interpolated(Node):
    """A double-quoted string with `#{…}` parts: text and expressions, concatenated."""

    parts: list[Node]


@dataclasses.dataclass(slots=True)
class Name(Node):
    name: str


@dataclasses.dataclass(slots=True)
class Attr(Node):
    """`obj.name`: a map key, a list index (`list.0`)."""

    obj: Node
    name: str


@dataclasses.dataclass(slots=True)
class Item(Node):
    """`obj[key]`."""

    obj: Node
    key: Node


@dataclasses.dataclass(slots=True)
class Call(Node):
    """A function call `name(args, key=value)`."""

    name: str
    args: list[Node]
    kwargs: dict[str, Node]


@dataclasses.dataclass(slots=True)
class MethodCall(Node):
    """`obj.method(args)`: only the Java methods flows commonly use, on data (see access.py)."""

    obj: Node
    name: str
    args: list[Node]


@dataclasses.dataclass(slots=True)
class Filter(Node):
    value: Node
    name: str
    args: list[Node]
    kwargs: dict[str, Node]


@dataclasses.dataclass(slots=True)
class Test(Node):
    """`value is [not] name(args)`."""

    value: Node
    name: str
    args: list[Node]
    negated: bool


@dataclasses.dataclass(slots=True)
class Unary(Node):
    op: str  # not, -, +
    operand: Node


@dataclasses.dataclass(slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclasses.dataclass(slots=True)
class Ternary(Node):
    cond: Node
    then: Node
    otherwise: Node


# -- statements ----------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Text(Node):
    text: str


@dataclasses.dataclass(slots=True)
class Print(Node):
    expr: Node


@dataclasses.dataclass(slots=True)
class If(Node):
    branches: list[tuple[Node, list[Node]]]
    otherwise: list[Node] | None


@dataclasses.dataclass(slots=True)
class For(Node):
    names: list[str]  # one name, or two for `for key, value in map`
    iterable: Node
    body: list[Node]
    otherwise: list[Node] | None


@dataclasses.dataclass(slots=True)
class Set(Node):
    name: str
    expr: Node


@dataclasses.dataclass(slots=True)
class FilterBlock(Node):
    """`{% filter upper | trim %}…{% endfilter %}`: the body's text goes through the filters."""

    filters: list[Filter]  # each with a placeholder `value`
    body: list[Node]


@dataclasses.dataclass(slots=True)
class Block(Node):
    """`{% block name %}…{% endblock %}`: without template inheritance, its body in place."""

    name: str
    body: list[Node]


@dataclasses.dataclass(slots=True)
class Macro(Node):
    """`{% macro name(a, b=default) %}…{% endmacro %}`: prints nothing where it stands; calling
    `name(…)` anywhere in the template renders its body with only its arguments in scope."""

    name: str
    params: list[tuple[str, Node | None]]
    body: list[Node]


def path_of(node: Node) -> str | None:
    """The source-like path of a lookup (`outputs.make.value`, `list[0]`) for error messages."""
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        base = path_of(node.obj)
        return f"{base}.{node.name}" if base else None
    if isinstance(node, Item):
        base = path_of(node.obj)
        if base is None:
            return None
        if isinstance(node.key, Literal):
            key = node.key.value
            return f"{base}[{key!r}]" if isinstance(key, str) else f"{base}[{key}]"
        return f"{base}[…]"
    return None
