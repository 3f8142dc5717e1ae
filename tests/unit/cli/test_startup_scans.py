"""What `lanner run` skips at start-up: pydantic's scan of every installed package for
validation plugins (Lanner's own models have no use for them; issue 15)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pydantic
import pytest
from pydantic.plugin import _loader

from lanner.cli.entry import without_pydantic_plugins


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pydantic's plugin loader as a new process finds it, with each scan of installed packages counted."""
    counted: list[int] = []
    real = importlib.metadata.distributions

    def counting(**kwargs: Any) -> Any:
        counted.append(1)
        return real(**kwargs)

    monkeypatch.setattr(_loader, "_plugins", None)
    monkeypatch.setattr(importlib.metadata, "distributions", counting)
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    return counted


def test_pydantic_scans_every_installed_package_for_plugins_when_left_alone(scans: list[int]) -> None:
    """The cost being avoided, and the proof that the counting below sees it."""
    pydantic.TypeAdapter(list[int])
    assert scans == [1]


def test_lanner_run_builds_its_models_without_that_scan(scans: list[int]) -> None:
    without_pydantic_plugins()
    assert pydantic.TypeAdapter(list[int]).validate_python(["1", 2]) == [1, 2]
    assert scans == []
    assert list(_loader.get_plugins()) == []


def test_plugins_already_loaded_are_left_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    found: dict[str, Any] = {"example:plugin": object()}
    monkeypatch.setattr(_loader, "_plugins", found)
    without_pydantic_plugins()
    assert _loader._plugins is found
