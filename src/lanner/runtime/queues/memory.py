"""Wake-ups inside one process (SQLite, where there is no NOTIFY, and the standalone server).

Roles in other processes on a SQLite store notice new rows by polling (`executor.poll`); roles
sharing this process are woken at once, so `standalone` on SQLite does not wait for the poll.
"""

from __future__ import annotations

from lanner.runtime.queues.base import LocalSignals


class MemoryWaker(LocalSignals):
    """A Waker whose signals reach only this process."""
