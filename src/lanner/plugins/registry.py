"""Finds the class of a task by its Kestra type name.

Plugins register through the `lanner.plugins` entry-point group (name = Kestra type or alias,
value = `module:Class`), so a third-party package adds tasks the same way the built-ins do.
Only the plugins a flow names are imported: start-up time is a feature.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

from lanner.errors import LannerError
from lanner.plugins import type_hints
from lanner.plugins.unsupported_types import NOT_SUPPORTED

if TYPE_CHECKING:
    from lanner.plugins.api import Task

_GROUP = "lanner.plugins"
_targets: dict[str, str] | None = None
_own: dict[str, str] | None = None
_loaded: dict[str, type[Task]] = {}


def _entry_points() -> dict[str, str]:
    """Every installed package's plugins (Lanner's own included): a scan of all their metadata."""
    global _targets
    if _targets is None:
        _targets = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=_GROUP)}
    return _targets


def _own_entry_points() -> dict[str, str]:
    """Lanner's own plugins, read from its own metadata alone.

    Scanning every installed package's metadata costs ~10 ms with 150 packages (more with more),
    on every `lanner run`; a flow naming only built-in types needs none of it. Other packages are
    scanned the first time a type is not one of Lanner's. Empty when Lanner runs uninstalled (its
    source on the path): the scan finds what there is.
    """
    global _own
    if _own is None:
        try:
            points = importlib.metadata.distribution("lanner").entry_points
        except importlib.metadata.PackageNotFoundError:
            points = importlib.metadata.EntryPoints(())
        _own = {ep.name: ep.value for ep in points if ep.group == _GROUP}
    return _own


def known_types() -> list[str]:
    return sorted(_entry_points())


def register(type_name: str, cls: type[Task]) -> None:
    """Register a class directly (tests, embedding); entry points are the normal way."""
    _entry_points()[type_name] = f"{cls.__module__}:{cls.__qualname__}"
    _loaded[type_name] = cls


def load(type_name: str) -> type[Task]:
    cls = _loaded.get(type_name)
    if cls is not None:
        return cls
    target = _own_entry_points().get(type_name) or _entry_points().get(type_name)
    if target is None and type_name in NOT_SUPPORTED:
        message, hint = NOT_SUPPORTED[type_name]
        raise LannerError(message, hint=hint)
    if target is None:
        raise LannerError(f"unknown task type `{type_name}`", hint=suggest_type(type_name))
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)  # whatever the entry point names; trusted to be a Task class
    for part in attr.split("."):
        obj = getattr(obj, part)
    _loaded[type_name] = obj
    return obj


def suggest_type(type_name: str) -> str:
    return type_hints.suggest_type(type_name, known_types())
