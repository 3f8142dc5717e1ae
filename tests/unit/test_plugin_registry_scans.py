"""Which installed packages' metadata finding a task class reads: Lanner's own for its built-in
types, every package's only for a type that is not one of them (a third-party plugin)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import pytest

from lanner.errors import LannerError
from lanner.plugins import registry


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The registry as a new process finds it, with every full scan of installed packages counted."""
    scans: list[str] = []
    real = importlib.metadata.entry_points

    def counting(**kwargs: Any) -> Any:
        scans.append(kwargs.get("group", ""))
        return real(**kwargs)

    monkeypatch.setattr(registry, "_targets", None)
    monkeypatch.setattr(registry, "_own", None)
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    yield scans


def test_a_built_in_type_is_found_without_scanning_every_installed_package(fresh_registry: list[str]) -> None:
    cls = registry.load("io.kestra.plugin.core.log.Log")
    assert cls.__name__ == "Log"
    assert registry.load("io.kestra.plugin.scripts.python.Script").__name__ == "PythonScript"
    assert fresh_registry == []


def test_a_type_lanner_does_not_have_is_looked_for_in_every_package_then_refused(fresh_registry: list[str]) -> None:
    with pytest.raises(LannerError, match="unknown task type `io.example.Missing`"):
        registry.load("io.example.Missing")
    assert fresh_registry == ["lanner.plugins"]


def test_a_registered_class_is_found_even_if_no_package_declares_it(fresh_registry: list[str]) -> None:
    log = registry.load("io.kestra.plugin.core.log.Log")
    registry.register("io.example.Registered", log)
    assert registry.load("io.example.Registered") is log
    assert "io.example.Registered" in registry.known_types()
