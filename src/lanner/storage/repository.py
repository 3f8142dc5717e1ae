"""Executions, task runs and logs in the database.

`save` writes, in one transaction, the execution header and only the task runs that changed:
the executor's effects are persisted before anything acts on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lanner.model.execution import Execution, TaskRun
from lanner.model.results import LogEntry, WorkerResult
from lanner.model.state import TERMINATED_NAMES, iso, now

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)  # one, not one per call (json.dumps)


def dumps(data: Any) -> str:
    """Compact JSON, as every stored document is written."""
    return _ENCODER.encode(data)


Fence = tuple[str, int]  # (owner id, owner epoch): whose writes an execution accepts
_UPSERT_RUN = ("INSERT INTO task_runs (id, execution_id, seq, state, data) "
               "VALUES (:id, :execution_id, :seq, :state, :data) "
               "ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data")
_INSERT_LOG = ("INSERT INTO logs (execution_id, task_run_id, task_id, attempt, level, timestamp, message) "
               "VALUES (:execution_id, :task_run_id, :task_id, :attempt, :level, :timestamp, :message)")


class Repository:
    """Executions, task runs, flow sources, commands and logs, in portable SQL (see `sql.py`).

    Built on a `SqliteDatabase` (the embedded default: no SQLAlchemy import) or on a SQLAlchemy
    engine, which is wrapped.
    """

    def __init__(self, database: Any) -> None:
        if hasattr(database, "transaction"):
            self.db = database
        else:
            from lanner.storage.sql import EngineDatabase

            self.db = EngineDatabase(database)

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine behind this repository (made on demand for the embedded store)."""
        return self.db.engine

    # -- executions --------------------------------------------------------------------------

    def save(self, exe: Execution, runs: Iterable[TaskRun] = (), header: bool = True,
             logs: Iterable[LogEntry] = (), fence: Fence | None = None, ended: bool = False) -> None:
        """Write, in one transaction, the header (if asked), these task runs (inserted or updated) and logs.

        Task runs are upserted by id, so the store needs no memory of what it wrote before and
        readers on other threads cannot confuse it. With a `fence` (owner id, epoch) the write
        happens only while that owner still holds the execution at that epoch; otherwise it is
        rolled back and `OwnershipLost` raised: a process that was taken over cannot write.

        `ended`: the execution's last write. Its owner is released (whoever restarts it later takes
        it freely) and its kept attempt results dropped in the same transaction, not in two more.
        """
        rows = [{"id": run.id, "execution_id": exe.id, "seq": run.seq, "state": run.current.value,
                 "data": dumps(run.to_json())} for run in runs]
        log_rows = [log_row(e) for e in logs]
        with self.db.transaction() as tx:
            if header:
                self._save_header(tx, exe, fence)
            elif fence is not None:
                self._check_fence(tx, exe.id, fence)
            if rows:
                tx.run_many(_UPSERT_RUN, rows)
            if log_rows:
                tx.run_many(_INSERT_LOG, log_rows)
            if ended:
                tx.run("UPDATE executions SET owner = NULL WHERE id = :id", {"id": exe.id})
                tx.run("DELETE FROM attempt_results WHERE execution_id = :id", {"id": exe.id})

    @staticmethod
    def _save_header(tx: Any, exe: Execution, fence: Fence | None = None) -> None:
        values = {"id": exe.id, **header_row(exe)}
        sql = ("UPDATE executions SET namespace = :namespace, flow_id = :flow_id, state = :state, "
               "start_date = :start_date, end_date = :end_date, data = :data WHERE id = :id")
        if fence is not None:
            values.update(owner=fence[0], epoch=fence[1])
            sql += " AND owner = :owner AND owner_epoch = :epoch"
        updated = tx.run(sql, values)
        if updated.rowcount:
            return
        if fence is not None and tx.run("SELECT 1 FROM executions WHERE id = :id", {"id": exe.id}).first():
            Repository._lost(tx, exe.id)
        values.setdefault("owner", None)
        values.setdefault("epoch", 0)
        tx.run("INSERT INTO executions (id, namespace, flow_id, state, start_date, end_date, data, owner, owner_epoch) "
               "VALUES (:id, :namespace, :flow_id, :state, :start_date, :end_date, :data, :owner, :epoch)", values)

    @staticmethod
    def _check_fence(tx: Any, execution_id: str, fence: Fence) -> None:
        held = tx.run("SELECT 1 FROM executions WHERE id = :id AND owner = :owner AND owner_epoch = :epoch",
                      {"id": execution_id, "owner": fence[0], "epoch": fence[1]}).first()
        if held is None:
            Repository._lost(tx, execution_id)

    @staticmethod
    def _lost(tx: Any, execution_id: str) -> None:
        from lanner.storage.owners import OwnershipLost

        row = tx.run("SELECT owner FROM executions WHERE id = :id", {"id": execution_id}).first()
        raise OwnershipLost(f"execution {execution_id} is now driven by another process "
                            f"(owner {row['owner'] if row else 'none'}); this process stops driving it")

    # -- results of finished attempts, durable before anything acts on them -------------------

    def save_result(self, result: WorkerResult) -> None:
        """Keep an attempt's result the moment it is known: a crash after it never re-runs the attempt."""
        with self.db.transaction() as tx:
            tx.run("INSERT INTO attempt_results (task_run_id, attempt, execution_id, data) "
                   "VALUES (:run, :attempt, :eid, :data) ON CONFLICT (task_run_id, attempt) DO NOTHING",
                   {"run": result.task_run_id, "attempt": result.attempt, "eid": result.execution_id,
                    "data": dumps(result.to_json())})

    def results(self, execution_id: str) -> dict[tuple[str, int], WorkerResult]:
        with self.db.reading() as rd:
            rows = rd.run("SELECT data FROM attempt_results WHERE execution_id = :id", {"id": execution_id}).all()
        out = {}
        for r in rows:
            result = WorkerResult.from_json(execution_id, json.loads(r["data"]))
            out[(result.task_run_id, result.attempt)] = result
        return out

    def get(self, execution_id: str) -> Execution | None:
        with self.db.reading() as rd:
            row = rd.run("SELECT data FROM executions WHERE id = :id", {"id": execution_id}).first()
            if row is None:
                return None
            runs = rd.run("SELECT data FROM task_runs WHERE execution_id = :id ORDER BY seq",
                          {"id": execution_id}).all()
        return Execution.from_json(json.loads(row["data"]), [json.loads(r["data"]) for r in runs])

    def find_by_prefix(self, prefix: str) -> list[str]:
        with self.db.reading() as rd:
            rows = rd.run("SELECT id FROM executions WHERE id LIKE :p ESCAPE '\\' ORDER BY id LIMIT 5",
                          {"p": _like_prefix(prefix)}).all()
        return [r["id"] for r in rows]

    def search(self, namespace: str | None = None, flow_id: str | None = None, state: str | None = None,
               limit: int = 50) -> list[dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": int(limit)}
        if namespace:
            where.append("(namespace = :ns OR namespace LIKE :ns_prefix ESCAPE '\\')")
            params.update(ns=namespace, ns_prefix=_like_prefix(namespace + "."))
        if flow_id:
            where.append("flow_id = :flow_id")
            params["flow_id"] = flow_id
        if state:
            where.append("state = :state")
            params["state"] = state.upper()
        sql = "SELECT id, namespace, flow_id, state, start_date, end_date FROM executions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_date DESC LIMIT :limit"
        with self.db.reading() as rd:
            return [dict(r) for r in rd.run(sql, params).all()]

    def unfinished(self) -> list[str]:
        names = {f"t{i}": s for i, s in enumerate(TERMINATED_NAMES)}
        sql = f"SELECT id FROM executions WHERE state NOT IN ({', '.join(':' + k for k in names)})"
        with self.db.reading() as rd:
            return [r["id"] for r in rd.run(sql, names).all()]

    # -- flows -------------------------------------------------------------------------------

    def save_flow(self, namespace: str, flow_id: str, source: str) -> int:
        """Store a flow's source; a changed source becomes a new revision. Returns the revision."""
        key = {"ns": namespace, "id": flow_id}
        with self.db.transaction() as tx:
            last = tx.run("SELECT revision, source FROM flows WHERE namespace = :ns AND id = :id "
                          "ORDER BY revision DESC LIMIT 1", key).first()
            if last is not None and last["source"] == source:
                return int(last["revision"])
            revision = 1 if last is None else int(last["revision"]) + 1
            tx.run("INSERT INTO flows (namespace, id, revision, source, deleted, updated) "
                   "VALUES (:ns, :id, :revision, :source, :deleted, :updated)",
                   {**key, "revision": revision, "source": source, "deleted": False, "updated": iso(now())})
            return revision

    def flow_source(self, namespace: str, flow_id: str, revision: int | None = None) -> tuple[int, str] | None:
        """(revision, source) of a stored flow: the given revision, or the latest."""
        params: dict[str, Any] = {"ns": namespace, "id": flow_id, "deleted": False}
        sql = "SELECT revision, source FROM flows WHERE namespace = :ns AND id = :id AND deleted = :deleted"
        if revision:
            sql += " AND revision = :revision"
            params["revision"] = revision
        else:
            sql += " ORDER BY revision DESC LIMIT 1"
        with self.db.reading() as rd:
            row = rd.run(sql, params).first()
        return (int(row["revision"]), row["source"]) if row is not None else None

    # -- commands to executions owned by another process -----------------------------------

    def add_command(self, execution_id: str, kind: str, payload: dict[str, Any] | None = None) -> int:
        with self.db.transaction() as tx:
            row = tx.run("INSERT INTO commands (execution_id, kind, payload, created, done) "
                         "VALUES (:eid, :kind, :payload, :created, :done) RETURNING seq",
                         {"eid": execution_id, "kind": kind, "payload": dumps(payload or {}),
                          "created": iso(now()), "done": False}).first()
        assert row is not None
        return int(row["seq"])

    def take_commands(self, execution_ids: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """Pending commands for these executions, marked done in the same transaction."""
        names = {f"e{i}": eid for i, eid in enumerate(execution_ids)}
        if not names:
            return []
        placeholders = ", ".join(":" + k for k in names)
        with self.db.transaction() as tx:
            rows = tx.run(f"SELECT seq, execution_id, kind, payload FROM commands WHERE done = :done "
                          f"AND execution_id IN ({placeholders}) ORDER BY seq", {**names, "done": False}).all()
            for r in rows:
                tx.run("UPDATE commands SET done = :done WHERE seq = :seq", {"done": True, "seq": r["seq"]})
        return [(r["execution_id"], r["kind"], json.loads(r["payload"])) for r in rows]

    def command_done(self, seq: int) -> bool:
        with self.db.reading() as rd:
            row = rd.run("SELECT done FROM commands WHERE seq = :seq", {"seq": seq}).first()
        return bool(row and row["done"])

    # -- logs --------------------------------------------------------------------------------

    def add_logs(self, entries: Iterable[LogEntry]) -> None:
        rows = [log_row(e) for e in entries]
        if rows:
            with self.db.transaction() as tx:
                tx.run_many(_INSERT_LOG, rows)

    def logs(self, execution_id: str, min_level: str | None = None, task_id: str | None = None) -> list[dict[str, Any]]:
        from lanner.model.results import LEVEL_RANK, LEVELS

        params: dict[str, Any] = {"eid": execution_id}
        sql = ("SELECT seq, execution_id, task_run_id, task_id, attempt, level, timestamp, message FROM logs "
               "WHERE execution_id = :eid")
        if min_level:
            levels = {f"l{i}": lv for i, lv in enumerate(LEVELS[LEVEL_RANK[min_level.upper()]:])}
            sql += f" AND level IN ({', '.join(':' + k for k in levels)})"
            params.update(levels)
        if task_id:
            sql += " AND task_id = :task_id"
            params["task_id"] = task_id
        with self.db.reading() as rd:
            return [dict(r) for r in rd.run(sql + " ORDER BY seq", params).all()]


def header_row(exe: Execution) -> dict[str, Any]:
    """The `executions` row of an execution, but its id (and the cluster's version)."""
    return {
        "namespace": exe.namespace,
        "flow_id": exe.flow_id,
        "state": exe.state.current.value,
        "start_date": iso(exe.state.start_date) if exe.state.start_date else None,
        "end_date": iso(exe.state.end_date) if exe.state.end_date else None,
        "data": dumps(exe.header_json()),
    }


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def log_row(e: LogEntry) -> dict[str, Any]:
    return {
        "execution_id": e.execution_id,
        "task_run_id": e.task_run_id,
        "task_id": e.task_id,
        "attempt": e.attempt,
        "level": e.level,
        "timestamp": iso(e.timestamp),
        "message": e.message,
    }
