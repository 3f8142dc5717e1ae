"""Wrong-password throttling per client address.

A password guesser gets `max_failures` tries, then every request from that address is answered
429 (with Retry-After) until `lockout` seconds after its last failure, correct password or not,
so guessing cannot continue at full speed. Other addresses are not affected, so one noisy
client does not lock the owner out. The table is bounded: expired entries are dropped, and when
it is full the oldest entries go first.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_CLIENTS = 10_000


@dataclasses.dataclass(slots=True)
class _Record:
    failures: int
    last: float


class Throttle:
    def __init__(self, max_failures: int, lockout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds `client` must wait before trying again; 0 when it may try now."""
        now = self._clock()
        with self._lock:
            record = self._records.get(client)
            if record is None:
                return 0
            if now - record.last >= self.lockout:
                del self._records[client]
                return 0
            if record.failures < self.max_failures:
                return 0
            return max(1, math.ceil(self.lockout - (now - record.last)))

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._records.pop(client, None)
            if record is None or now - record.last >= self.lockout:
                record = _Record(0, now)
            record.failures += 1
            record.last = now
            self._records[client] = record
            while len(self._records) > MAX_CLIENTS:
                self._records.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)
