"""One trigger whose evaluation raises must not stop the scheduler's other triggers.

The fault is a real one: the broken trigger's stored state holds a `nextDate` that does not parse
(as a hand-edited row or a damaged store would), so evaluating it raises at every tick. The
scheduler runs its own thread over a real SQLite trigger store, with a fixed clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from lanner.loading.flows import load_flow
from lanner.runtime.scheduler import Scheduler
from lanner.storage import db
from lanner.storage.trigger_store import TriggerStore

FLOW = """
id: two_schedules
namespace: company.isolation
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: hi}
triggers:
  - {id: broken, type: io.kestra.plugin.core.trigger.Schedule, cron: "*/5 * * * *"}
  - {id: healthy, type: io.kestra.plugin.core.trigger.Schedule, cron: "*/5 * * * *"}
"""
BROKEN = ("company.isolation", "two_schedules", "broken")
HEALTHY = ("company.isolation", "two_schedules", "healthy")


class _Run:
    """A scheduler thread at a fixed time, recording what it starts and how many ticks it made."""

    def __init__(self, store: TriggerStore, at: dt.datetime) -> None:
        flow = load_flow(FLOW)
        self.started: list[tuple[str, str]] = []  # (trigger id, scheduled date)
        self.ticks = 0
        self._lock = threading.Lock()

        def clock() -> dt.datetime:
            with self._lock:
                self.ticks += 1
            return at

        def start(_flow: Any, _inputs: Any, _labels: Any, trigger: dict[str, Any], eid: str | None) -> Any:
            with self._lock:
                self.started.append((trigger["id"], trigger["variables"]["date"]))
            return types.SimpleNamespace(id=eid)

        self.scheduler = Scheduler(store, lambda: [flow], lambda _ns, _id: flow, start, lambda _eid: False,
                                   lambda _eid: None, tick_seconds=0.01, clock=clock)

    def until(self, check: Any, what: str) -> None:
        deadline = time.monotonic() + 20
        while not check():
            assert time.monotonic() < deadline, f"waited in vain for {what}"
            time.sleep(0.01)

    def __enter__(self) -> _Run:
        self.scheduler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.scheduler.stop()


def test_a_trigger_whose_stored_state_does_not_parse_does_not_stop_the_others(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TriggerStore(db.connect(f"sqlite:///{tmp_path / 'triggers.db'}"))
    first = dt.datetime(2026, 1, 1, 0, 0, 30, tzinfo=dt.UTC)
    with _Run(store, first) as run:  # both triggers are seen and get their next date, 00:05
        run.until(lambda: all((store.get(k) or {}).get("nextDate") for k in (BROKEN, HEALTHY)), "both next dates")
    store.update(BROKEN, lambda s: s.update(nextDate="the fifth of never"))

    caplog.set_level(logging.ERROR, logger="lanner.scheduler")
    with _Run(store, first + dt.timedelta(minutes=5, seconds=10)) as run:
        run.until(lambda: run.started, "the healthy trigger to fire")
        ticks = run.ticks
        run.until(lambda: run.ticks > ticks + 5, "more ticks over the broken trigger")
    assert run.started == [("healthy", "2026-01-01T00:05:00Z")]  # on time, for its date
    assert (store.get(HEALTHY) or {})["nextDate"] == "2026-01-01T00:10:00Z"
    error = (store.get(BROKEN) or {})["lastError"]
    assert "could not be evaluated" in error and "the fifth of never" in error
    logged = [r for r in caplog.records if "could not be evaluated" in r.getMessage()]
    assert len(logged) == 1  # once while it repeats, not at every tick
