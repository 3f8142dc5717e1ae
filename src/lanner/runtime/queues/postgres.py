"""LISTEN/NOTIFY: PostgreSQL wakes the roles of every process when rows they want are committed.

`pg_notify` runs inside the transaction that writes the rows and is delivered only if it commits,
so a woken role always finds what it was woken for. One listening connection per process feeds
the process's local signals; if it breaks, roles still poll (`executor.poll`) until it is back.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable

from lanner.runtime.queues.base import CHANNELS, LocalSignals

log = logging.getLogger("lanner.queues")
PAYLOAD_LIMIT = 7000  # PostgreSQL refuses payloads of 8000 bytes or more


class PostgresWaker(LocalSignals):
    def __init__(self, conninfo: str, channels: Iterable[str] = CHANNELS) -> None:
        """`channels`: those this process's roles wait on; hearing the others would only wake the
        listening thread (and make PostgreSQL deliver) for nothing, on every transaction."""
        super().__init__()
        self._conninfo = conninfo
        self._channels = tuple(channels)
        # This waker's own channel: `close` notifies it, so the listening thread, waiting for
        # notifications, ends at once instead of at its next half-second timeout.
        self._own = f"lanner_waker_{secrets.token_hex(8)}"
        self._stop = threading.Event()
        self._conn: object | None = None
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="lanner-listen", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    self._conn = conn
                    for channel in (*self._channels, self._own):
                        conn.execute(f"LISTEN {channel}")
                    self.ready.set()
                    for channel in CHANNELS:  # rows may have come while we were not listening
                        super().signal(channel)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            if note.channel == self._own:
                                break  # closing: the loop's condition ends it
                            super().signal(note.channel, note.payload)
            except Exception as exc:  # noqa: BLE001 - roles keep polling; we reconnect
                if not self._stop.is_set():
                    log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                    self.ready.clear()
                    self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        super().close()
        if self.ready.is_set():
            self._wake_listener()
        self._thread.join(timeout=2)

    def _wake_listener(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT pg_notify(%s, '')", (self._own,))
        except Exception:  # noqa: BLE001 - the listener then ends at its timeout, as it did before
            pass


NOTIFY_SQL = "SELECT pg_notify(c, p) FROM unnest(CAST(:cs AS text[]), CAST(:ps AS text[])) AS x(c, p)"


def notify_params(notes: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The parameters of `NOTIFY_SQL` for these notes: one payload per channel, as long as it may be."""
    merged: dict[str, list[str]] = {}
    for channel, payload in notes:
        merged.setdefault(channel, []).append(payload)
    channels: list[str] = []
    payloads: list[str] = []
    for channel, items in merged.items():
        chunk = ""
        for item in dict.fromkeys(items):
            if chunk and len(chunk) + len(item) + 1 > PAYLOAD_LIMIT:
                channels.append(channel)
                payloads.append(chunk)
                chunk = ""
            chunk = f"{chunk},{item}" if chunk else item
        channels.append(channel)
        payloads.append(chunk)
    return {"cs": channels, "ps": payloads}
