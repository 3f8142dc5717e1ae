"""Finding a system's saturation point: the offered rate raised in steps until it no longer keeps up.

Shared by `bench/cluster.py --find-saturation` (PostgreSQL cluster) and `bench/api_throughput.py
--find-saturation` (`lanner server local`), so both judge "held" the same way and end with the same
line. A step *holds* when every execution offered in it ended within the grace period after the
offer stopped and completions ran at ≥ KEEP_UP of the offered rate; the search stops at the first
step whose median passes STOP_MEDIAN or that does not hold, or when the next step would not fit
in the time budget (5 minutes with start-up). The answer is the highest offered rate that held at ≤ TARGET_MEDIAN.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections.abc import Callable

TARGET_MEDIAN = 0.25  # seconds: the latency the answer is quoted at
STOP_MEDIAN = 1.0  # seconds: past this the system is saturated, no need to go higher
KEEP_UP = 0.9  # completions per minute / offered per minute below this: falling behind
GRACE_SECONDS = 5.0  # after the last offer, how long the last executions have to end


@dataclasses.dataclass
class Step:
    """One offered rate held for a window, and what came of it."""

    target_per_min: float
    offered_per_min: float
    created: int
    ended: int
    done_per_min: float
    median: float
    p95: float
    load: str

    @property
    def keeps_up(self) -> bool:
        return self.created > 0 and self.ended == self.created and self.done_per_min >= KEEP_UP * self.offered_per_min

    @property
    def held(self) -> bool:
        return self.keeps_up and self.median <= TARGET_MEDIAN

    @property
    def offer_reached(self) -> bool:
        """Did the client manage to offer (nearly) the rate asked of it? Past the rate the client itself
        can send, raising the target measures nothing new."""
        return self.offered_per_min >= KEEP_UP * self.target_per_min


def load_average() -> str:
    """`uptime`'s 1-minute load average: every figure is printed next to it (a shared 2-core machine)."""
    return f"{os.getloadavg()[0]:.2f}"


def step_of(target: float, offered: float, created: int, latencies: list[float], first: float, last: float) -> Step:
    """A Step from the offer's figures and each ended execution's latency (creation → end, seconds).

    `first` and `last` are the earliest creation and the latest end (epoch seconds) of those that ended.
    """
    ordered = sorted(latencies)
    span = max(last - first, 1e-6)
    return Step(target, offered, created, len(ordered), len(ordered) / span * 60 if ordered else 0.0,
                statistics.median(ordered) if ordered else float("nan"),
                ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan"), load_average())


HEADER = (f"{'target/min':>10} {'offered/min':>11} {'done/min':>9} {'median s':>9} {'p95 s':>7} {'ended':>11} "
          f"{'load':>5}  verdict")


def line(s: Step) -> str:
    verdict = "held" if s.held else ("keeps up, slow" if s.keeps_up else "falls behind")
    if not s.offer_reached:
        verdict += "; the client could not offer the target"
    return (f"{s.target_per_min:>10.0f} {s.offered_per_min:>11.0f} {s.done_per_min:>9.0f} {s.median:>9.3f} "
            f"{s.p95:>7.3f} {s.ended:>5}/{s.created:<5} {s.load:>5}  {verdict}")


def search(measure: Callable[[float], Step], start: float, growth: float, budget: float = 290.0) -> int:
    """Offer `start`, `start × growth`, … executions/min (each step through `measure`); print each step
    and the verdict line; return the saturation rate (0 when even the first step did not hold).

    Steps grow by a factor, not a fixed amount: from a few hundred a minute on a machine other work
    keeps busy to tens of thousands on an idle one, a dozen steps reach the point either way."""
    began = time.monotonic()
    print(HEADER, flush=True)
    best = 0.0
    rate = start
    longest = 0.0
    while True:
        t0 = time.monotonic()
        s = measure(rate)
        longest = max(longest, time.monotonic() - t0)
        print(line(s), flush=True)
        if s.held:
            best = max(best, s.offered_per_min)
        if not s.keeps_up or s.median > STOP_MEDIAN:
            break
        if not s.offer_reached:
            print("(the client cannot offer more: the figure below is the most it offered)")
            break
        if time.monotonic() - began + longest > budget:
            print(f"(time budget of {budget:.0f} s reached)")
            break
        rate *= growth
    print(f"(search took {time.monotonic() - began:.0f} s; load average now {load_average()})")
    print(f"saturation: {best:.0f} executions/min held at ≤ {TARGET_MEDIAN} s median", flush=True)
    return int(best)
