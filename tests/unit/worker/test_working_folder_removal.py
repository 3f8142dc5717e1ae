"""A task's private working folder goes once its result is stored: everything in it, nothing it links to."""

from __future__ import annotations

import os
from pathlib import Path

from lanner.worker.context import remove_tree


def test_a_folder_goes_with_everything_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    (folder / "outputs" / "deep").mkdir(parents=True)
    (folder / "outputs" / "deep" / "x.txt").write_text("x")
    (folder / "script.py").write_text("print(1)")
    remove_tree(folder)
    assert not folder.exists()
    assert tmp_path.exists()


def test_links_in_it_are_removed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    folder = tmp_path / "work"
    (folder / "sub").mkdir(parents=True)
    os.symlink(outside, folder / "to-folder")
    os.symlink(outside / "keep.txt", folder / "sub" / "to-file")
    remove_tree(folder)
    assert not folder.exists()
    assert (outside / "keep.txt").read_text() == "keep"


def test_a_folder_that_is_a_link_or_missing_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    os.symlink(target, tmp_path / "link")
    remove_tree(tmp_path / "link")
    remove_tree(tmp_path / "missing")
    assert (target / "keep.txt").read_text() == "keep"


def test_what_cannot_be_removed_stays_without_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    locked = folder / "locked"
    locked.mkdir(parents=True)
    (locked / "x.txt").write_text("x")
    locked.chmod(0o500)
    try:
        remove_tree(folder)
        if os.geteuid() == 0:  # permissions do not stop root: all of it goes
            assert not folder.exists()
        else:
            assert (locked / "x.txt").exists()
    finally:
        if locked.exists():
            locked.chmod(0o700)
