"""The hint given with an unknown task type: a known type the writer most likely meant, or none.

A type name is a package path and a class name, and the package carries most of the meaning:
`io.kestra.plugin.core.kv.ListPush` is a KV task someone expected, not a Redis one, although
`io.kestra.plugin.redis.ListPush` is the closest string. Comparing whole names lets the long shared
`io.kestra.plugin.` prefix and an equal class name outweigh the package, so the hint is built
package first: the writer's own package (or the known package it misspells, or the same package
under Kestra's other naming, `core.tasks.states` for `plugin.core.state`), then the class within
it. A package this installation does not have at all gets no guess from another plugin.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable

_LIST_HINT = "run `lanner plugins` to list the task types this installation knows"
# How alike two package paths must be to count as one misspelt: high, since `io.kestra.plugin.aws.s3`
# and `io.kestra.plugin.redis` share most of their letters and mean different plugins.
_PACKAGE_CUTOFF = 0.9
_CLASS_CUTOFF = 0.6


def suggest_type(type_name: str, known: Iterable[str]) -> str:
    """What to tell someone who wrote `type_name`, given the type names this installation knows."""
    names = sorted(known)
    by_lower = {n.lower(): n for n in names}
    if type_name.lower() in by_lower:
        return f"did you mean `{by_lower[type_name.lower()]}`?"
    package, _, cls = type_name.rpartition(".")
    packages: dict[str, list[str]] = defaultdict(list)
    for name in names:
        pkg, _, short = name.rpartition(".")
        packages[pkg].append(short)
    # The same class under Kestra's other naming of the package (or a bare class name) comes first:
    # `io.kestra.core.tasks.flows.ForEach` is `io.kestra.plugin.core.flow.ForEach`, not `…ForEachItem`.
    twins = [f"{pkg}.{short}" for pkg, shorts in packages.items()
             if not package or _last_segment(pkg) == _last_segment(package)
             for short in shorts if short.lower() == cls.lower()]
    if twins:
        return "did you mean " + " or ".join(f"`{t}`" for t in twins[:3]) + "?"
    same = _same_package(package, packages)
    if same is None:
        return _LIST_HINT
    close = difflib.get_close_matches(cls, packages[same], n=1, cutoff=_CLASS_CUTOFF)
    if close:
        return f"did you mean `{same}.{close[0]}`?"
    return f"the task types of `{same}` here are: " + ", ".join(packages[same])


def _same_package(package: str, packages: dict[str, list[str]]) -> str | None:
    """The known package `package` names: itself, a misspelling of it, or None."""
    if package in packages:
        return package
    close = difflib.get_close_matches(package, list(packages), n=1, cutoff=_PACKAGE_CUTOFF)
    return close[0] if close else None


def _last_segment(package: str) -> str:
    """`states` and `state` alike: Kestra's old names (`core.tasks.flows`) pluralise its new ones."""
    return package.rsplit(".", 1)[-1].lower().removesuffix("s")
