"""Many rows into one table in one statement, the cheapest way each database takes them.

A pipelined `executemany` on PostgreSQL costs the client a bind, a send and a result per row,
which was a good part of a cluster executor's CPU. There the rows travel instead as one JSON
array, unpacked by the server (`json_populate_recordset` against the table's own row type, so
every column keeps its type; the rows keep their order, so serial keys follow it). SQLite keeps
`executemany`, which is a loop in its own process.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (plain JSON values: text, numbers, booleans, None), in the order given."""
    if not rows:
        return
    columns = tuple(rows[0])
    if conn.dialect.name != "postgresql" or any(len(r) != len(columns) or r.keys() != rows[0].keys() for r in rows):
        conn.execute(table.insert(), rows)
        return
    conn.execute(_statement(table.name, columns), {"rows": _ENCODER.encode(rows)})


@functools.lru_cache(maxsize=64)
def _statement(table: str, columns: tuple[str, ...]) -> sa.TextClause:
    names = ", ".join(f'"{c}"' for c in columns)
    picked = ", ".join(f'x."{c}"' for c in columns)
    return sa.text(f'INSERT INTO "{table}" ({names}) SELECT {picked} '
                   f'FROM json_populate_recordset(CAST(NULL AS "{table}"), CAST(:rows AS json)) '
                   f"WITH ORDINALITY AS x ORDER BY x.ordinality")
