"""Which failed writes are tried again as they are, and how a refused log line is isolated."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg.errors as pg
import pytest
import sqlalchemy as sa

from lanner.model.results import LogEntry
from lanner.runtime.refused_writes import store_lines
from lanner.storage.write_faults import Backoff, is_transient


def _wrapped(orig: BaseException) -> sa.exc.DBAPIError:
    """As SQLAlchemy raises a driver's error."""
    return sa.exc.OperationalError("INSERT …", {}, orig)


@pytest.mark.parametrize("error", [pg.SerializationFailure("x"), pg.DeadlockDetected("x"), pg.AdminShutdown("x"),
                                   pg.LockNotAvailable("x"), psycopg.OperationalError("connection failed")])
def test_lost_races_and_unreachable_servers_pass(error: BaseException) -> None:
    assert is_transient(error) and is_transient(_wrapped(error))


@pytest.mark.parametrize("error", [pg.StringDataRightTruncation("x"), pg.UniqueViolation("x"),
                                   pg.ProgramLimitExceeded("x"), UnicodeEncodeError("utf-8", "\udcff", 0, 1, "no"),
                                   RuntimeError("a bug")])
def test_what_the_write_carries_fails_again_at_every_try(error: BaseException) -> None:
    assert not is_transient(error) and not is_transient(_wrapped(error))


def test_a_busy_sqlite_store_passes_and_a_broken_statement_does_not(tmp_path: object) -> None:
    path = f"{tmp_path}/busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as busy:
        other.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as broken:
        other.execute("INSERT INTO nowhere VALUES (1)")
    holder.close()
    other.close()
    assert is_transient(busy.value) and not is_transient(broken.value)


def test_backoff_doubles_up_to_its_cap_and_starts_over_when_reset() -> None:
    b = Backoff(0.5, 3.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5


def test_a_refused_line_alone_is_replaced_by_its_stand_in_and_the_others_are_stored_in_order() -> None:
    stored: list[str] = []
    writes = 0

    def write(lines: list[LogEntry]) -> None:  # refuses what UTF-8 cannot encode, as the drivers do
        nonlocal writes
        writes += 1
        texts = [e.message for e in lines]
        for text in texts:
            text.encode("utf-8")
        stored.extend(texts)

    lines = [LogEntry("e", "r", "t", "INFO", f"line {i}") for i in range(8)]
    lines[5] = LogEntry("e", "r", "t", "WARN", "bad \udcff\x00 line")
    store_lines(lines, write)
    assert stored[:5] == [f"line {i}" for i in range(5)] and stored[6:] == ["line 6", "line 7"]
    assert stored[5].startswith("[this log line could not be stored as written (UnicodeEncodeError: ")
    assert stored[5].endswith("shown escaped] bad \\udcff\\x00 line")
    assert writes < len(lines) + 1  # halves, not one write per line
