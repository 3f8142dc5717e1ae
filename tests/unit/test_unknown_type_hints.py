"""The hint after `unknown task type`: it stays within the package the writer named, so a KV task
nobody implemented is not answered with a Redis task of the same class name."""

from __future__ import annotations

import pytest

from lanner.plugins.registry import known_types
from lanner.plugins.type_hints import suggest_type

KNOWN = ["io.kestra.plugin.core.kv.Delete", "io.kestra.plugin.core.kv.Get", "io.kestra.plugin.core.kv.Set",
         "io.kestra.plugin.core.flow.ForEach", "io.kestra.plugin.core.flow.ForEachItem",
         "io.kestra.core.tasks.flows.ForEachItem", "io.kestra.plugin.core.log.Log",
         "io.kestra.plugin.redis.Delete", "io.kestra.plugin.redis.ListPush", "io.kestra.plugin.redis.Set"]


@pytest.mark.parametrize(("written", "hint"), [
    ("io.kestra.plugin.core.kv.Sett", "did you mean `io.kestra.plugin.core.kv.Set`?"),
    ("io.kestra.plugin.core.log.Lgo", "did you mean `io.kestra.plugin.core.log.Log`?"),
    ("io.kestra.plugin.core.flwo.ForEach", "did you mean `io.kestra.plugin.core.flow.ForEach`?"),
    ("io.kestra.plugin.core.KV.Set", "did you mean `io.kestra.plugin.core.kv.Set`?"),
])
def test_a_misspelt_name_gets_the_known_type_of_its_package(written: str, hint: str) -> None:
    assert suggest_type(written, KNOWN) == hint


def test_a_class_missing_from_a_known_package_lists_that_package_not_another_plugin() -> None:
    hint = suggest_type("io.kestra.plugin.core.kv.ListPush", KNOWN)
    assert hint == "the task types of `io.kestra.plugin.core.kv` here are: Delete, Get, Set"
    assert "redis" not in suggest_type("io.kestra.plugin.core.kv.SetWithTtl", KNOWN)


@pytest.mark.parametrize(("written", "hint"), [
    # Kestra's old package names pluralise the new ones: the same class there is what was meant.
    ("io.kestra.core.tasks.flows.ForEach", "did you mean `io.kestra.plugin.core.flow.ForEach`?"),
    ("io.kestra.core.tasks.kv.Set", "did you mean `io.kestra.plugin.core.kv.Set`?"),
])
def test_the_same_class_under_the_other_naming_of_its_package_comes_first(written: str, hint: str) -> None:
    assert suggest_type(written, KNOWN) == hint


def test_a_package_this_installation_lacks_gets_no_guess_from_another_plugin() -> None:
    for written in ("io.kestra.plugin.aws.s3.Delete", "io.kestra.plugin.jdbc.postgresql.Query",
                    "io.kestra.plugin.scripts.node.Script"):
        assert suggest_type(written, KNOWN) == "run `lanner plugins` to list the task types this installation knows"


def test_a_bare_class_name_gets_every_type_of_that_class() -> None:
    assert suggest_type("Set", KNOWN) == "did you mean `io.kestra.plugin.core.kv.Set` or `io.kestra.plugin.redis.Set`?"


def test_the_installed_types_answer_an_unimplemented_kv_task_with_kv_tasks() -> None:
    hint = suggest_type("io.kestra.plugin.core.kv.ListPush", known_types())
    assert hint.startswith("the task types of `io.kestra.plugin.core.kv` here are: ") and "redis" not in hint
