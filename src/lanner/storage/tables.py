"""The database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Task runs get one row each, so recording one state change writes one small row instead of
re-writing the whole execution document (a 1,000-task execution stays linear).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

flows = sa.Table(
    "flows", metadata,
    sa.Column("namespace", sa.String(150), primary_key=True),
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("updated", sa.String(40), nullable=False),
)

executions = sa.Table(
    "executions", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("namespace", sa.String(150), nullable=False, index=True),
    sa.Column("flow_id", sa.String(100), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("start_date", sa.String(40), nullable=True, index=True),
    sa.Column("end_date", sa.String(40), nullable=True),
    sa.Column("data", sa.Text, nullable=False),
    # bumped by every cluster executor write: another executor's cached copy is stale when it differs
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # the process driving it (owners.id) and how many times it was taken over: writes are fenced by both
    sa.Column("owner", sa.String(40), nullable=True, index=True),
    sa.Column("owner_epoch", sa.Integer, nullable=False, server_default="0"),
)

owners = sa.Table(
    "owners", metadata,  # processes that drive executions (embedded runtime), told apart from reused pids
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("boot_id", sa.String(64), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.BigInteger, nullable=False),
    sa.Column("what", sa.String(100), nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
)

attempt_results = sa.Table(
    "attempt_results", metadata,  # a finished attempt's result, durable before anything acts on it
    sa.Column("task_run_id", sa.String(40), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("data", sa.Text, nullable=False),
)

task_runs = sa.Table(
    "task_runs", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
)

logs = sa.Table(
    "logs", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("task_run_id", sa.String(40), nullable=True),
    sa.Column("task_id", sa.String(100), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("timestamp", sa.String(40), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

commands = sa.Table(
    "commands", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # resume, kill
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, index=True),
)

triggers = sa.Table(
    "triggers", metadata,
    sa.Column("namespace", sa.String(150), primary_key=True),
    sa.Column("flow_id", sa.String(100), primary_key=True),
    sa.Column("trigger_id", sa.String(100), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),  # JSON: nextDate, lastDate, disabled, signature, …
    sa.Column("updated", sa.String(40), nullable=False),
)

# -- the cluster's queues (runtime/queues/): PostgreSQL or SQLite tables, claimed in transactions --

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

queue_jobs = sa.Table(
    "queue_jobs", metadata,  # one attempt of a runnable task run, waiting for or held by a worker
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("task_run_id", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker_group", sa.String(100), nullable=False, server_default=""),
    sa.Column("namespace", sa.String(150), nullable=False),
    sa.Column("flow_id", sa.String(100), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("claimed_by", sa.String(100), nullable=True, index=True),
    sa.Column("claimed_at", sa.Float, nullable=True),
    sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("task_run_id", "attempt", name="uq_queue_jobs_attempt"),
    sa.Index("ix_queue_jobs_pending", "worker_group", "seq"),
)

queue_events = sa.Table(
    "queue_events", metadata,  # what an executor applies to one execution: results, kills, due timers…
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("due", sa.Float, nullable=False, index=True),  # epoch seconds; not visible before
    sa.Column("created", sa.Float, nullable=False),
)

workers = sa.Table(
    "workers", metadata,  # live workers and their last heartbeat
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("worker_group", sa.String(100), nullable=False, server_default=""),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("threads", sa.Integer, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False, index=True),
    sa.Column("host_key", sa.String(100), nullable=True),  # boot id + pid namespace (process_identity)
    sa.Column("pid_start", sa.BigInteger, nullable=True),  # the process's start, to tell a reused pid apart
)

leases = sa.Table(
    "leases", metadata,  # single-holder roles (the active scheduler), taken over when they expire
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)

execution_changes = sa.Table(
    "execution_changes", metadata,  # execution state changes for the scheduler (Flow triggers, stopAfter)
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False, index=True),
)
