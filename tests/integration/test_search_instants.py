"""Execution search compares dates as instants in the database itself, on SQLite and PostgreSQL:
for any stored start date (as the store writes it: UTC text with 0, 3 or 6 fraction digits) and
any bound in any offset, the SQL condition agrees with comparing the datetimes in Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanner.model.state import iso
from lanner.storage import tables
from lanner.storage.execution_queries import ExecutionFilter, ExecutionQueries
from tests.integration.cluster.databases import postgres_url, unavailable

BASE = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
# instants near each other so that seconds, milliseconds and microseconds all matter
instants = st.builds(lambda s, us: BASE + dt.timedelta(seconds=s, microseconds=us), st.integers(0, 2),
                     st.sampled_from([0, 1, 499, 500, 999, 1000, 500000, 500001, 999000, 999999]))
offsets = st.sampled_from([0, 2, -5, 14, -12])


def _engine(kind: str) -> Iterator[sa.Engine]:
    if kind == "sqlite":
        engine = sa.create_engine("sqlite://")
    else:
        url = postgres_url().replace("postgresql://", "postgresql+psycopg://", 1)
        engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)  # one connection: its TEMP table
        try:
            engine.connect().close()
        except sa.exc.OperationalError as exc:
            unavailable(f"{url} is unreachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def table(request: pytest.FixtureRequest) -> Iterator[tuple[sa.Engine, sa.Table]]:
    for engine in _engine(request.param):
        meta = sa.MetaData()
        # a TEMPORARY table named like the store's: the search condition runs unchanged against it,
        # and on PostgreSQL it shadows any real `executions` table for this one connection only
        t = sa.Table("executions", meta, sa.Column("id", sa.String(10), primary_key=True),
                     sa.Column("start_date", sa.String(40)), prefixes=["TEMPORARY"])
        meta.create_all(engine)
        yield engine, t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(instants, min_size=1, max_size=8, unique=True), bound=instants, offset=offsets)
def test_start_and_end_bounds_agree_with_python(table: tuple[sa.Engine, sa.Table], stored: list[dt.datetime],
                                                bound: dt.datetime, offset: int) -> None:
    engine, t = table
    with engine.begin() as conn:
        conn.execute(t.delete())
        conn.execute(t.insert(), [{"id": str(i), "start_date": iso(s)} for i, s in enumerate(stored)])
    shifted = bound.astimezone(dt.timezone(dt.timedelta(hours=offset)))
    queries = ExecutionQueries(engine)
    for f, expected in ((ExecutionFilter(start_date=shifted), {str(i) for i, s in enumerate(stored) if s >= bound}),
                        (ExecutionFilter(end_date=shifted), {str(i) for i, s in enumerate(stored) if s <= bound})):
        with engine.connect() as conn:  # the very condition `search` uses
            found = {r[0] for r in conn.execute(sa.select(tables.executions.c.id).where(*queries._where(f)))}
        assert found == expected, (f, [iso(s) for s in stored])
