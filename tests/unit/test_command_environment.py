"""Commands start from this process's environment as it is when they start, even though its
decoded copy is kept between commands."""

from __future__ import annotations

import pytest

from lanner.plugins.scripts.runners import process_environment


def test_a_variable_set_or_removed_later_is_seen_by_the_next_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANNER_TEST_CHANGING", raising=False)
    assert "LANNER_TEST_CHANGING" not in process_environment()
    monkeypatch.setenv("LANNER_TEST_CHANGING", "one")
    assert process_environment()["LANNER_TEST_CHANGING"] == "one"
    monkeypatch.setenv("LANNER_TEST_CHANGING", "two")
    assert process_environment()["LANNER_TEST_CHANGING"] == "two"
    monkeypatch.delenv("LANNER_TEST_CHANGING")
    assert "LANNER_TEST_CHANGING" not in process_environment()


def test_each_command_gets_its_own_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANNER_TEST_COPY", "kept")
    first = process_environment()
    first["LANNER_TEST_COPY"] = "changed by one command"
    assert process_environment()["LANNER_TEST_COPY"] == "kept"
