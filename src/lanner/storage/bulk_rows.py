"""Many rows into one table in one statement, the cheapest way each database takes them.

A pipelined `executemany` on PostgreSQL costs the client a bind, a send and a result per row,
which was a good part of a cluster executor's CPU. There the rows travel instead as one JSON
array, unpacked by the server (`json_populate_recordset` against the table's own row type, so
every column keeps its type; the rows keep their order, so serial keys follow it). SQLite keeps
`executemany`, which is a loop in its own process.

`insert_all` goes further at the end of a transaction: the rows of every table, and a closing
query (the NOTIFYs), travel as one statement — each INSERT a data-modifying `WITH` part, which
PostgreSQL runs exactly once whether or not the closing query reads it — so a transaction costs
one round trip for all it wrote at the end instead of one per table and one for the NOTIFYs.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(rows: list[dict[str, Any]]) -> str:
    """Rows as the one JSON array a statement unpacks (`json_populate_recordset`, `json_to_recordset`)."""
    return _ENCODER.encode(rows)


def insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (plain JSON values: text, numbers, booleans, None), in the order given."""
    insert_all(conn, {table: rows})


def insert_all(conn: sa.Connection, batches: dict[sa.Table, list[dict[str, Any]]],
               closing: tuple[str, dict[str, Any]] | None = None) -> None:
    """Insert each table's rows (in the order given), then run `closing` (a query and its parameters,
    whose names must not start with `rows`): one statement on PostgreSQL."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for table, rows in batches.items():
        if not rows:
            continue
        if conn.dialect.name == "postgresql":
            rows = [without_nul(r) for r in rows]
        if conn.dialect.name != "postgresql" or any(r.keys() != rows[0].keys() for r in rows):
            conn.execute(table.insert(), rows)
            continue
        name = f"rows{len(parts)}"
        parts.append(_insert_sql(table.name, tuple(rows[0]), name))
        params[name] = encode(rows)
    if closing is not None:
        params.update(closing[1])
    if not parts:
        if closing is not None:
            conn.execute(sa.text(closing[0]), params)
        return
    if len(parts) == 1 and closing is None:
        conn.execute(sa.text(parts[0]), params)
        return
    steps = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(parts))
    conn.execute(sa.text(f"WITH {steps} {closing[0] if closing is not None else 'SELECT 1'}"), params)


def without_nul(row: dict[str, Any]) -> dict[str, Any]:
    """The row with each NUL character of its text replaced by U+FFFD: PostgreSQL text cannot hold
    one, and a task's log line that does (a template printing an input) must not make the whole
    transaction — an executor's pass over many executions — fail again at every try."""
    if not any(isinstance(v, str) and "\x00" in v for v in row.values()):
        return row
    return {k: v.replace("\x00", "\ufffd") if isinstance(v, str) else v for k, v in row.items()}


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...], param: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    picked = ", ".join(f'x."{c}"' for c in columns)
    return (f'INSERT INTO "{table}" ({names}) SELECT {picked} '
            f'FROM json_populate_recordset(CAST(NULL AS "{table}"), CAST(:{param} AS json)) '
            f"WITH ORDINALITY AS x ORDER BY x.ordinality")
