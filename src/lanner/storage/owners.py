"""One owner per execution: which process drives it, whether that process is still there, takeovers.

An execution being advanced has exactly one owner, a process registered in `owners` with what
tells it apart on its host (boot id and pid namespace, pid, and the pid's start time, so a reused pid is not
mistaken for it) and a heartbeat it renews. Only the owner writes the execution, and every write
is fenced by `(owner, owner_epoch)`: a takeover increments the epoch, so a stale owner's late
write is refused (`OwnershipLost`) instead of merged.

Another process takes an execution over only when its owner is gone: on the same host (and boot)
when the owner's pid no longer runs the same process — a stopped (SIGSTOP) or busy owner is
alive and is never bypassed, whatever its heartbeat says; on another host, when its heartbeat is
older than the lease (nothing better can be known from here).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from typing import Any

from lanner import process_identity
from lanner.errors import LannerError

LEASE_SECONDS = float(os.environ.get("LANNER_OWNER_LEASE", "30"))
HEARTBEAT_SECONDS = max(LEASE_SECONDS / 6, 0.05)


class OwnershipLost(LannerError):
    """This process no longer owns the execution: another process took it over."""


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    """A process that drives executions."""

    id: str
    host: str
    boot_id: str
    pid: int
    started: int
    what: str
    heartbeat: float = 0.0

    @classmethod
    def this_process(cls, what: str) -> Owner:
        pid = os.getpid()
        return cls(uuid.uuid4().hex, socket.gethostname(), process_identity.host_key() or "", pid,
                   process_identity.start_ticks(pid) or 0, what, time.time())

    @classmethod
    def from_row(cls, row: Any) -> Owner:
        return cls(row["id"], row["host"], row["boot_id"], int(row["pid"]), int(row["started"]), row["what"],
                   float(row["heartbeat"]))

    def same_host(self) -> bool:
        """The same machine, boot and pid namespace (`boot_id` holds `process_identity.host_key`)."""
        return self.host == socket.gethostname() and process_identity.is_running(
            self.boot_id or None, self.pid, self.started) is not None

    def alive(self) -> bool:
        """Is this process still there? Verified on this host; judged by the lease elsewhere."""
        if self.heartbeat <= 0:
            return False  # it said goodbye
        if self.same_host():
            return self.pid == os.getpid() or bool(process_identity.is_running(self.boot_id, self.pid, self.started))
        return time.time() - self.heartbeat < LEASE_SECONDS

    def describe(self) -> str:
        where = "" if self.same_host() else f" on {self.host}"
        state = process_identity.state(self.pid) if self.same_host() else None
        note = " (stopped: it continues when it gets SIGCONT)" if state == "T" else ""
        return f"process {self.pid}{where} (`{self.what}`){note}"


class Owners:
    """The owner rows and the claims, in the repository's portable SQL."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def register(self, me: Owner) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO owners (id, host, boot_id, pid, started, what, heartbeat) "
                   "VALUES (:id, :host, :boot_id, :pid, :started, :what, :heartbeat)",
                   dataclasses.asdict(me) | {"heartbeat": time.time()})

    def heartbeat(self, me: Owner) -> None:
        with self.db.transaction() as tx:
            tx.run("UPDATE owners SET heartbeat = :now WHERE id = :id", {"now": time.time(), "id": me.id})

    def retire(self, me: Owner) -> None:
        """Say goodbye: executions this process still owns are left behind, for others to continue."""
        with self.db.transaction() as tx:
            tx.run("UPDATE owners SET heartbeat = 0 WHERE id = :id", {"id": me.id})

    def get(self, owner_id: str | None) -> Owner | None:
        if not owner_id:
            return None
        with self.db.reading() as rd:
            row = rd.run("SELECT id, host, boot_id, pid, started, what, heartbeat FROM owners WHERE id = :id",
                         {"id": owner_id}).first()
        return Owner.from_row(row) if row is not None else None

    def owner_of(self, execution_id: str) -> Owner | None:
        with self.db.reading() as rd:
            row = rd.run("SELECT owner FROM executions WHERE id = :id", {"id": execution_id}).first()
        return self.get(row["owner"]) if row is not None else None

    def claim(self, execution_id: str, me: Owner) -> tuple[int | None, Owner | None]:
        """Take the execution over if its owner is gone: (new epoch, None), or (None, the live owner).

        The check and the takeover are one transaction, so two processes that both found the
        owner gone cannot both take it: the second finds the first one alive.
        """
        lock = " FOR UPDATE" if getattr(self.db, "dialect", "") == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE
        with self.db.transaction() as tx:
            row = tx.run("SELECT owner, owner_epoch FROM executions WHERE id = :id" + lock,
                         {"id": execution_id}).first()
            if row is None:
                raise LannerError(f"no execution `{execution_id}`", hint="list them with `lanner executions`")
            current = row["owner"]
            if current and current != me.id:
                owner_row = tx.run("SELECT id, host, boot_id, pid, started, what, heartbeat FROM owners "
                                   "WHERE id = :id", {"id": current}).first()
                if owner_row is not None:
                    owner = Owner.from_row(owner_row)
                    if owner.alive():
                        return None, owner
            epoch = int(row["owner_epoch"] or 0) + 1
            tx.run("UPDATE executions SET owner = :me, owner_epoch = :epoch WHERE id = :id",
                   {"me": me.id, "epoch": epoch, "id": execution_id})
        return epoch, None

    def left_behind(self, execution_ids: list[str]) -> list[str]:
        """Those of these (unfinished) executions whose owner is gone."""
        if not execution_ids:
            return []
        names = {f"e{i}": eid for i, eid in enumerate(execution_ids)}
        with self.db.reading() as rd:
            rows = rd.run(f"SELECT e.id, o.id AS oid, o.host, o.boot_id, o.pid, o.started, o.what, o.heartbeat "
                          f"FROM executions e LEFT JOIN owners o ON o.id = e.owner "
                          f"WHERE e.id IN ({', '.join(':' + k for k in names)})", names).all()
        out = []
        for r in rows:
            if r["oid"] is None or not Owner.from_row({**r, "id": r["oid"]}).alive():
                out.append(r["id"])
        return out

    def prune(self) -> None:
        """Forget owners of this host that are gone and own nothing unfinished (keeps the table small)."""
        with self.db.reading() as rd:
            rows = rd.run("SELECT id, host, boot_id, pid, started, what, heartbeat FROM owners o WHERE NOT EXISTS "
                          "(SELECT 1 FROM executions e WHERE e.owner = o.id)").all()
        gone = [r["id"] for r in rows if not Owner.from_row(r).alive()]
        if gone:
            names = {f"o{i}": oid for i, oid in enumerate(gone)}
            with self.db.transaction() as tx:
                tx.run(f"DELETE FROM owners WHERE id IN ({', '.join(':' + k for k in names)})", names)
