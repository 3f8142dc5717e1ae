"""How namespace file paths are read (`storage/namespace_files.py:clean`) and how `namespaceFiles`
include/exclude patterns match them (`plugins/scripts/support.py:path_matcher`): Kestra's glob
rules, and the refusals that keep every path inside its namespace."""

from __future__ import annotations

import pytest

from lanner.plugins.scripts.support import path_matcher
from lanner.storage.namespace_files import BadPath, clean


@pytest.mark.parametrize(("given", "expected"), [
    ("/a/b.py", "a/b.py"), ("a/b.py", "a/b.py"), ("//a///b.py/", "a/b.py"), ("/", "."), ("", "."),
    ("/é t+x.txt", "é t+x.txt"), ("./x", "x"), ("a/./b", "a/b")])
def test_a_path_is_read_from_the_namespace_root(given: str, expected: str) -> None:
    assert clean(given).as_posix() == expected


@pytest.mark.parametrize(("given", "reason"), [
    ("../x", "climb"), ("a/../../x", "climb"), ("..", "climb"), ("a\\b", "backslash"), ("a\x00b", "NUL"),
    ("a\nb", "control"), ("x" * 256, "longer than 255 bytes"), ("é" * 128, "longer than 255 bytes"),
    ("/".join(["d"] * 33), "deep"), ("/_flows/f.yml", "reserved"), ("a" * 1100, "characters long")])
def test_a_path_that_could_leave_the_namespace_or_break_the_disk_is_refused(given: str, reason: str) -> None:
    with pytest.raises(BadPath) as caught:
        clean(given)
    assert reason in caught.value.message


@pytest.mark.parametrize(("patterns", "path", "matches"), [
    (["scripts/**"], "scripts/a/b.py", True),
    (["scripts/**"], "lib/scripts/b.py", True),  # a pattern starting with a name matches at any depth
    (["scripts/**"], "scripts.py", False),
    (["*.py"], "main.py", True),  # Lanner: the root's files (Kestra matches nothing here)
    (["*.py"], "lib/main.py", False),  # `*` stops at a folder
    (["**/*.py"], "main.py", True), (["**/*.py"], "a/b/main.py", True),
    (["/lib/*.{py,sql}"], "lib/q.sql", True), (["/lib/*.{py,sql}"], "lib/q.txt", False),
    (["file?.txt"], "file1.txt", True), (["file?.txt"], "file10.txt", False),
    (["[ab].txt"], "a.txt", True), (["[!ab].txt"], "a.txt", False), (["[!ab].txt"], "c.txt", True),
    (["regex:.*\\.sql"], "x/y.sql", True), (["regex:^/x/.*"], "x/y.sql", True),
    (["glob:main.py"], "lib/main.py", False),  # an explicit glob: is taken as written
    (["main.py"], "lib/main.py", True),
])
def test_include_and_exclude_patterns_follow_kestras_glob_rules(patterns: list[str], path: str,
                                                                 matches: bool) -> None:
    assert path_matcher(patterns)(path) is matches
