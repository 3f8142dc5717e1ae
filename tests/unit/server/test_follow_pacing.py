"""The follow stream's pace: a small execution is sent again at once, a huge one at a bounded share of the server."""

from __future__ import annotations

from lanner.server import sse


def test_a_cheap_document_is_read_again_after_the_burst_wait_only() -> None:
    assert sse.pause_after(0.001) == sse.BURST


def test_a_costly_document_waits_in_proportion_to_its_cost() -> None:
    assert sse.pause_after(0.4) == 0.4 * sse.COST_SHARE
    assert sse.pause_after(0.4) > sse.pause_after(0.1) > sse.BURST


def test_the_wait_between_two_sends_is_bounded() -> None:
    assert sse.pause_after(60.0) == sse.MAX_PAUSE
