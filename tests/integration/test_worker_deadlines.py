"""A Worker's timeouts and kill grace periods on real threads, including a plugin that ignores them.

A task that never looks at `cancelled` is abandoned after the grace period and its attempt is
reported anyway (FAILED for a timeout, KILLED for a kill), exactly once; all of it is driven by
the worker's single deadline thread, however many attempts are waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import lanner.worker.worker as worker_module
from lanner.model.results import WorkerResult
from lanner.model.state import StateType
from lanner.plugins.api import RunnableTask
from lanner.storage.files import LocalFiles
from lanner.worker.worker import Job, Worker

RELEASE = threading.Event()  # lets the stubborn tasks end once a test is over


class Stubborn(RunnableTask):
    """Blocks until the test releases it, ignoring the worker's cancellation."""

    type: str = "test.Stubborn"

    def run(self, ctx: Any) -> dict[str, Any]:
        RELEASE.wait(30)
        return {"late": True}


class Cooperative(RunnableTask):
    """Waits on `cancelled`, as Sleep does: a timeout ends it at once."""

    type: str = "test.Cooperative"

    def run(self, ctx: Any) -> dict[str, Any]:
        ctx.cancelled.wait(30)
        return {}


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(worker_module, "KILL_GRACE_SECONDS", 0.3)
    RELEASE.clear()
    results: queue.Queue[WorkerResult] = queue.Queue()
    w = Worker(results.put, lambda entry: None, LocalFiles(tmp_path / "storage"), worker_id=f"t{tmp_path.name}")
    yield w, results
    RELEASE.set()
    w.shutdown(wait=True)


def _job(task: RunnableTask, run_id: str) -> Job:
    return Job("exe", run_id, 1, task, {}, "company.team", "f")


def _results(results: queue.Queue[WorkerResult], n: int) -> dict[str, WorkerResult]:
    out = {}
    for _ in range(n):
        r = results.get(timeout=20)
        assert r.task_run_id not in out, "an attempt was reported twice"
        out[r.task_run_id] = r
    return out


def test_a_plugin_ignoring_its_timeout_is_abandoned_after_the_grace_period_as_failed(worker) -> None:
    w, results = worker
    w.submit(_job(Stubborn(id="stuck", timeout="PT0.2S"), "r1"))
    (r,) = _results(results, 1).values()
    assert r.state is StateType.FAILED and r.message == "Timeout after 0:00:00.200"
    RELEASE.set()  # the abandoned thread ends later: its own report must not count twice
    w.shutdown(wait=True)
    assert results.empty()


def test_a_plugin_ignoring_a_kill_is_abandoned_as_killed(worker) -> None:
    w, results = worker
    w.submit(_job(Stubborn(id="stuck"), "r1"))
    w.cancel("r1")
    (r,) = _results(results, 1).values()
    assert r.state is StateType.KILLED and "kill grace period" in (r.message or "")


def test_many_timeouts_end_their_tasks_through_one_deadline_thread(worker) -> None:
    w, results = worker
    timers_before = {t for t in threading.enumerate() if isinstance(t, threading.Timer)}
    for i in range(12):
        w.submit(_job(Cooperative(id=f"t{i}", timeout="PT0.5S"), f"r{i}"))
    name = f"lanner-deadlines-{w.worker_id}"
    end = time.monotonic() + 10
    while not any(t.name == name for t in threading.enumerate()):
        assert time.monotonic() < end, "no deadline thread was started for the timeouts"
        time.sleep(0.01)  # poll interval of a deadline-bounded wait on a positive signal
    assert [t.name for t in threading.enumerate()].count(name) == 1
    timers = {t for t in threading.enumerate() if isinstance(t, threading.Timer)} - timers_before
    assert timers == set()  # no thread per timeout
    got = _results(results, 12)
    assert {r.state for r in got.values()} == {StateType.FAILED}
    assert all(r.message == "Timeout after 0:00:00.500" for r in got.values())
