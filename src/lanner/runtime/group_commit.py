"""Group commit: many threads each wait for their item to be durable; one transaction writes them all.

A worker's threads each end an attempt and must not go on before its result is stored. Writing
each in its own transaction costs five round trips and a commit per attempt, which is what
limits a busy worker on a loaded machine. Here the first thread to arrive writes every item
waiting at that moment (its own included) in one call of `write`; threads arriving meanwhile
wait, and the first of them writes the next group. Nobody waits for a timer: a lone item is
written at once, and each caller still returns only once its own item was written.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass(slots=True)
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]]) -> None:
        """`write(items)` stores the items in one transaction and returns one result per item, in order."""
        self._write = write
        self._cond = threading.Condition()
        self._pending: list[_Slot[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        """Block until `item` is written (by this thread or another); its result, or the write's error."""
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._pending.append(slot)
            while not slot.done and self._writing:
                self._cond.wait()
            if not slot.done:
                self._writing = True
                group, self._pending = self._pending, []
        if not slot.done:
            self._lead(group)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self, group: list[_Slot[T, R]]) -> None:
        try:
            results = self._write([s.item for s in group])
            for s, r in zip(group, results, strict=True):
                s.result = r
        except BaseException as exc:  # noqa: BLE001 - every waiter of the group learns of it
            for s in group:
                s.error = exc
        with self._cond:
            for s in group:
                s.done = True
            self._writing = False
            self._cond.notify_all()
