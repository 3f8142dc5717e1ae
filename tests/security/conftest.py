"""Fixtures for attack tests: the real `lanner` CLI in a subprocess on a private LANNER_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")
