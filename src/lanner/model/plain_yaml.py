"""YAML text → plain values, as Kestra's Jackson reads it, for the `yaml()` function and lanner.yaml.

One YAML library (PyYAML, its C parser when libyaml is there) serves the whole project. Flows go
through `yaml_source.py`, which keeps positions and refuses hostile documents; this module is for
text that needs only values. Its scalars follow YAML 1.2's core schema as ruamel.yaml (used here
before) read them: `yes`/`on`/`off` and `1:30` stay text, `017` is seventeen (not octal), `0o17`,
`0x1F`, `0b101` and `1_000` are integers, and timestamps stay the text written (Jackson does not
read them as dates). A key written twice is refused at its line instead of silently keeping the
last value. The regexes below are ruamel.yaml's 1.2 resolvers. Two results differ from ruamel.yaml:
a lone `=` is the text "=" (ruamel refused it as a value, accepted it as a key), and libyaml refuses
an empty key (`: v`) and a plain scalar that starts or ends with `:` inside `[…]` (`[:x]`, `[a:]`),
as it does in flows.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from lanner.model import yaml_source

_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("float", re.compile(r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", re.X), "-+0123456789."),
    ("int", re.compile(r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", re.X), "-+0123456789"),
    ("merge", re.compile(r"^(?:<<)$"), "<"),
    ("null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    ("timestamp", re.compile(r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X), "0123456789"),
]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader with YAML 1.2 scalars, text timestamps and duplicate keys refused."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    yaml_constructors = dict(yaml.SafeLoader.yaml_constructors)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden by the map's own keys
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own message says so below
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"found duplicate key `{key}`",
                        key_node.start_mark)
        return dict(super().construct_mapping(node, deep=deep))


for _tag, _regex, _first in _RESOLVERS:
    for _ch in _first:
        _Loader.yaml_implicit_resolvers.setdefault(_ch, []).append((f"tag:yaml.org,2002:{_tag}", _regex))
# `null` also resolves the empty plain scalar, which has no first character.
_Loader.yaml_implicit_resolvers.setdefault("", []).append(("tag:yaml.org,2002:null", _RESOLVERS[4][1]))


def _int(loader: Any, node: Any) -> int:
    """YAML 1.2: a leading zero is decimal; only `0o` is octal."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text)


def _float(loader: Any, node: Any) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    return sign * float(text)


def _omap(loader: Any, node: Any) -> dict[Any, Any]:
    """`!!omap` as the ordered map it names (PyYAML alone gives a list of pairs)."""
    steps = loader.construct_yaml_omap(node)  # a generator: the list first, filled by the next step
    pairs = next(steps)
    for _ in steps:
        pass
    return dict(pairs)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)
_Loader.add_constructor("tag:yaml.org,2002:omap", _omap)


def load(text: str) -> Any:
    """The single document of `text` as dicts, lists and scalars; raises `yaml_source.YamlError`."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise yaml_source.YamlError(yaml_source.problem_of(exc), mark.line if mark else None,
                                    mark.column if mark else None, yaml_source.hint_for(exc)) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise yaml_source.YamlError(str(exc).splitlines()[0], None, None) from None
    except RecursionError:
        raise yaml_source.YamlError("the document is nested too deeply", None, None, "flatten the data") from None
    finally:
        loader.dispose()
