"""How ForEachItem cuts text into batches (the worker's part), without running a flow."""

from __future__ import annotations

import re

import pytest

from lanner.plugins.api import TaskFailure
from lanner.plugins.core.for_each_item import _rows, parse_size, split_rows


def test_lines_end_at_any_of_java_readlines_line_ends_and_a_last_newline_adds_no_empty_line() -> None:
    assert _rows("a\r\nb\rc\nd\n") == ["a", "b", "c", "d"]
    assert _rows("a\n\nb") == ["a", "", "b"]
    assert _rows("") == []


@pytest.mark.parametrize("text,size", [("10", 10), ("10KB", 10 * 1024), ("2mb", 2 * 1024 ** 2), ("1GB", 1024 ** 3)])
def test_sizes_are_read_as_kestra_reads_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["ten", "0", "10TB", "-5"])
def test_a_size_that_is_not_one_fails_the_task_saying_how_to_write_it(text: str) -> None:
    with pytest.raises(TaskFailure, match="not a size"):
        parse_size(text)


def test_a_batch_by_bytes_closes_once_it_reached_the_size_so_a_long_line_gets_one_of_its_own() -> None:
    assert split_rows(["aaaaaaaaaa", "b", "c"], ("bytes", 5)) == [["aaaaaaaaaa"], ["b", "c"]]


def test_partitions_beyond_the_number_of_lines_leave_no_empty_batch() -> None:
    assert split_rows(["a", "b"], ("partitions", 5)) == [["a"], ["b"]]


def test_lines_the_pattern_does_not_match_are_left_out() -> None:
    assert split_rows(["x1", "y", "x2", "x1"], ("regex", re.compile(r"x(\d)"))) == [["x1", "x1"], ["x2"]]
