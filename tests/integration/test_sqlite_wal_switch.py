"""Every connection to an SQLite store puts its file in WAL mode (`storage/sql.py:use_wal`). Switching
a file to WAL needs it to itself, and SQLite refuses the switch at once, without its busy timeout,
while another process writes: two `lanner` processes opening a new home together failed so, one of
them with a traceback. Real files and a real second writer here."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from lanner.storage.sql import use_wal


def _writer_holding_the_lock(path: Path) -> sqlite3.Connection:
    """A connection in the middle of a write to `path`, a file still in its first (rollback) mode."""
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE IF NOT EXISTS t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    return writer


def test_the_switch_to_wal_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = _writer_holding_the_lock(path)
    threading.Timer(0.3, lambda: writer.execute("COMMIT")).start()
    opener = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    began = time.monotonic()
    use_wal(opener)
    assert time.monotonic() - began >= 0.2  # it waited for the writer, rather than failing at once
    assert opener.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer.close()
    opener.close()


def test_a_file_already_in_wal_is_opened_while_another_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = sqlite3.connect(path, isolation_level=None)
    use_wal(first)
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO t VALUES (1)")
    second = sqlite3.connect(path, isolation_level=None)
    use_wal(second, patience=0.0)
    assert second.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.execute("COMMIT")
    first.close()
    second.close()


def test_a_writer_that_never_lets_go_fails_the_switch_after_the_patience(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = _writer_holding_the_lock(path)
    opener = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(opener, patience=0.2)
    writer.execute("ROLLBACK")
    writer.close()
    opener.close()
