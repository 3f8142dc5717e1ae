"""Which namespaces have namespace files, found by walking the storage folder: namespace folders
holding `_files`, at any depth, never the folders of a flow's executions (even when an id is all
lowercase), and a namespace part named `executions` still found."""

from __future__ import annotations

import os
from pathlib import Path

from lanner.storage.namespace_files import namespaces_with_files


def test_namespaces_with_files_are_found_at_any_depth_and_executions_are_not_entered(tmp_path: Path) -> None:
    (tmp_path / "company" / "_files").mkdir(parents=True)
    (tmp_path / "company" / "team" / "data" / "_files" / "sub").mkdir(parents=True)
    (tmp_path / "company" / "executions" / "_files").mkdir(parents=True)  # a namespace `company.executions`
    (tmp_path / "other" / "myflow" / "executions").mkdir(parents=True)  # a flow's executions, no files
    lowercase_id = "abcdefghijklmnopqrstuv"  # 22 characters, as an execution id
    planted = tmp_path / "other" / "myflow" / "executions" / lowercase_id / "_files"
    planted.mkdir(parents=True)
    (tmp_path / "_kv" / "company").mkdir(parents=True)
    (tmp_path / "_states" / "company" / "_files").mkdir(parents=True)
    (tmp_path / "Upper" / "_files").mkdir(parents=True)  # not a namespace name
    os.symlink(tmp_path / "company", tmp_path / "linked")  # links are never followed
    assert namespaces_with_files(tmp_path) == ["company", "company.executions", "company.team.data"]


def test_a_missing_storage_folder_has_no_namespaces(tmp_path: Path) -> None:
    assert namespaces_with_files(tmp_path / "nothing") == []
