"""The queues between the cluster roles, in database tables (PostgreSQL or SQLite).

`base` holds the messages and the wake-up protocol; `events` the executor's queue (one row per
thing that happened to an execution); `jobs` the workers' queue (one row per attempt to run) and
the worker registry with heartbeats; `postgres` and `memory` the two ways of waking a waiting
role (LISTEN/NOTIFY across processes, events within one).
"""
