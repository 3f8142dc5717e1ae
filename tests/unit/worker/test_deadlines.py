"""The worker's single deadline thread: due order, cancellation, one thread for many, no idle thread."""

from __future__ import annotations

import threading
import time

import pytest

from lanner.worker.deadlines import Deadlines

WAIT = 10.0  # generous bound for a loaded machine; every wait ends on an event long before


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def _wait_until(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)  # poll interval of a deadline-bounded wait on a positive signal


def test_deadlines_fire_in_due_order_not_in_the_order_they_were_set() -> None:
    deadlines, fired, done = Deadlines("t-order"), [], threading.Event()

    def note(label: str) -> None:
        fired.append(label)
        if len(fired) == 3:
            done.set()

    deadlines.after(0.3, lambda: note("third"))
    deadlines.after(0.0, lambda: note("first"))
    deadlines.after(0.15, lambda: note("second"))
    assert done.wait(WAIT)
    assert fired == ["first", "second", "third"]


def test_a_cancelled_deadline_never_runs() -> None:
    deadlines, fired, witness = Deadlines("t-cancel"), [], threading.Event()
    cancelled = deadlines.after(0.05, lambda: fired.append("cancelled"))
    deadlines.after(0.2, witness.set)  # due later: once it ran, the cancelled one's time has passed
    cancelled.cancel()
    cancelled.cancel()  # twice is harmless
    assert witness.wait(WAIT)
    assert fired == []


def test_many_pending_deadlines_share_one_thread_that_ends_when_none_is_left() -> None:
    name = "t-one-thread"
    deadlines, count, done = Deadlines(name), [0], threading.Event()
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            count[0] += 1
            if count[0] == 200:
                done.set()

    for i in range(200):
        deadlines.after(0.2 + i / 1000, tick)
    assert len(_threads(name)) == 1
    assert deadlines.pending() > 0
    assert done.wait(WAIT)
    _wait_until(lambda: not _threads(name), "the idle deadline thread to end")
    assert deadlines.pending() == 0
    again = threading.Event()
    deadlines.after(0.0, again.set)  # a later deadline starts a thread again
    assert again.wait(WAIT)


def test_a_failing_callback_does_not_stop_later_deadlines(caplog: pytest.LogCaptureFixture) -> None:
    deadlines, later = Deadlines("t-failing"), threading.Event()
    deadlines.after(0.0, lambda: 1 / 0)
    deadlines.after(0.05, later.set)
    assert later.wait(WAIT)
    assert "deadline callback failed" in caplog.text


def test_cancelling_the_only_deadline_lets_the_thread_end_at_once() -> None:
    name = "t-cancel-ends"
    deadlines = Deadlines(name)
    far = deadlines.after(3600, lambda: None)  # a one-hour task timeout
    far.cancel()  # the task ended first
    _wait_until(lambda: not _threads(name), "the deadline thread to end")
