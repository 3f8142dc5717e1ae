"""Registering the task types this checkout's pyproject.toml declares.

The registry reads entry points from the installed package's metadata, which may predate this
checkout's pyproject (an editable install made before a type was added); registering what the
pyproject says tests the classes the next install will use (after a reinstall it changes nothing).
Only this process sees it: a test that starts `lanner` as a subprocess needs the reinstall.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from lanner.plugins import registry


def register_declared(wanted: Callable[[str, str], bool]) -> None:
    """Register each declared (type name, `module:Class`) pair that `wanted` accepts."""
    declared = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    for name, target in declared["project"]["entry-points"]["lanner.plugins"].items():
        if wanted(name, target):
            module, _, attr = target.partition(":")
            registry.register(name, getattr(__import__(module, fromlist=[attr]), attr))


def register_mine() -> None:
    """The core storage, state, purge, resume, toggle and WaitFor types (issue 12, core tasks)."""
    modules = ("storage", "storage_lines", "storage_items", "local_files", "state", "purge", "resume", "toggle")
    register_declared(lambda name, target: target.split(":")[0].rsplit(".", 1)[-1] in modules
                      or name.endswith(".WaitFor"))
