"""The dashboard's buckets: which size a range gets, and every bucket of a range, months included."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.storage.execution_stats import auto_group, bucket_starts

DAY0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_the_range_chooses_the_bucket() -> None:
    assert auto_group(DAY0, DAY0 + dt.timedelta(hours=30)) == "hour"
    assert auto_group(DAY0, DAY0 + dt.timedelta(days=30)) == "day"
    assert auto_group(DAY0, DAY0 + dt.timedelta(days=365)) == "month"
    months = bucket_starts(DAY0 + dt.timedelta(days=20), DAY0 + dt.timedelta(days=80), "month")
    assert [m.strftime("%Y-%m") for m in months] == ["2026-03", "2026-04", "2026-05"]
    with pytest.raises(ValueError):
        bucket_starts(DAY0, DAY0 + dt.timedelta(days=400), "hour")


def test_buckets_start_at_the_whole_hour_or_day_that_holds_the_start() -> None:
    start = DAY0 + dt.timedelta(hours=5, minutes=17)
    assert bucket_starts(start, start + dt.timedelta(hours=2), "hour")[0] == DAY0 + dt.timedelta(hours=5)
    assert bucket_starts(start, start + dt.timedelta(days=2), "day") == [DAY0 + dt.timedelta(days=i) for i in range(3)]
    paris = dt.timezone(dt.timedelta(hours=1))
    assert bucket_starts(DAY0.astimezone(paris), DAY0.astimezone(paris), "day") == [DAY0]  # UTC days
