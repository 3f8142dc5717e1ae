"""Which failed writes succeed if simply tried again, and which fail the same way at every try.

A write that failed because the database was away or lost a race with another transaction
(a serialization failure, a deadlock, a lock not granted) succeeds later unchanged: the loops
try it again, waiting longer each time (`Backoff`). A write refused for what it carries (text
the database cannot hold, a value too long, a broken constraint, a value that cannot be
encoded) fails again at every try: tried again as it is, it would block every write queued
behind it, so the loops isolate it instead (`runtime/refused_writes.py`).
"""

from __future__ import annotations

# SQLSTATE classes of PostgreSQL errors that pass: connection exceptions, transaction rollbacks
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown,
# cannot connect now), system errors (I/O); and one code of another class, lock_not_available.
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_CODES = frozenset({"55P03"})
# SQLite: busy or locked by another process, disk full or failing, the file not openable now.
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN",
                     "SQLITE_PROTOCOL")


def is_transient(exc: BaseException) -> bool:
    """True when the failed write may succeed unchanged later (the database was away or busy)."""
    import sqlite3

    import sqlalchemy as sa

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa.exc.DisconnectionError, sa.exc.TimeoutError, ConnectionError, TimeoutError)):
            return True
        code = getattr(current, "sqlstate", None)  # psycopg's errors carry the server's SQLSTATE
        if isinstance(code, str) and code:
            return code[:2] in _TRANSIENT_CLASSES or code in _TRANSIENT_CODES
        if isinstance(current, sqlite3.Error):
            return str(getattr(current, "sqlite_errorname", "")).startswith(_SQLITE_TRANSIENT)
        if _driver_connection_error(current):
            return True  # no SQLSTATE: the server was not reached, or the connection broke
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _driver_connection_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # SQLite only: no PostgreSQL driver installed
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) and not getattr(exc, "sqlstate", None)


class Backoff:
    """The waits between tries of a write that failed for a passing reason: doubling up to `most`."""

    def __init__(self, first: float, most: float) -> None:
        self._first = first
        self._most = most
        self._next = first

    def next(self) -> float:
        wait, self._next = self._next, min(self._next * 2, self._most)
        return wait

    def reset(self) -> None:
        self._next = self._first
