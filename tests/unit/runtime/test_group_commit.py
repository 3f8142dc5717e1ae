"""Group commit: each caller returns once its own item is written; items that wait are written together."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from lanner.runtime.group_commit import GroupCommit


def test_a_lone_item_is_written_at_once_and_gets_its_own_result() -> None:
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        return [i * 10 for i in items]

    group = GroupCommit(write)
    assert group.submit(4) == 40
    assert writes == [[4]]


def test_items_arriving_during_a_write_are_written_together_in_the_next_one() -> None:
    writing = threading.Event()
    release = threading.Event()
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        if len(writes) == 1:
            writing.set()
            release.wait(5)
        return [-i for i in items]

    group = GroupCommit(write)
    results: dict[int, int] = {}

    def submit(i: int) -> None:
        results[i] = group.submit(i)

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    assert writing.wait(5)
    others = [threading.Thread(target=submit, args=(i,)) for i in (1, 2, 3)]
    for t in others:
        t.start()
    for _ in range(5000):  # until all three are queued behind the write in progress
        if len(group._pending) == 3:
            break
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert writes[0] == [0] and sorted(writes[1]) == [1, 2, 3] and len(writes) == 2
    assert results == {0: 0, 1: -1, 2: -2, 3: -3}


def test_a_failed_write_fails_every_caller_of_its_group_and_the_next_write_goes_on() -> None:
    calls = 0

    def write(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        return list(items)

    group = GroupCommit(write)
    with pytest.raises(ConnectionError):
        group.submit("a")
    assert group.submit("b") == "b"
