"""A Schedule backfill's dates and its checks, without a clock or a store: which dates a range
holds (ends included, in the schedule's time zone across a DST change), where the cursor goes
after each date, and every refused request with what to do."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.runtime import backfills
from lanner.runtime.backfills import BackfillError
from lanner.runtime.triggers import ScheduleSpec

NOW = dt.datetime(2024, 6, 1, 12, 0, 30, 500_000, tzinfo=dt.UTC)


def spec(cron: str = "0 * * * *", timezone: str = "Etc/UTC") -> ScheduleSpec:
    return ScheduleSpec(id="s", type="io.kestra.plugin.core.trigger.Schedule", cron=cron, timezone=timezone)


def run_all(s: ScheduleSpec, bf: dict) -> list[str]:
    """The dates a backfill runs, oldest first, stepping it as the scheduler does."""
    out, before = [], bf["fired"]
    while (date := backfills.next_date(s, bf).date) is not None:
        out.append(date.strftime("%Y-%m-%dT%H:%M:%SZ"))
        bf = backfills.advanced(s, bf, date)
    assert bf["fired"] - before == len(out)
    return out


def test_a_range_holds_each_scheduled_date_with_both_ends_included() -> None:
    bf = backfills.new(spec(), {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T13:00:00Z"}, NOW)
    assert (bf["total"], bf["fired"], bf["currentDate"], bf["paused"]) == (4, 0, "2024-05-01T10:00:00Z", False)
    assert run_all(spec(), bf) == ["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z",
                                   "2024-05-01T13:00:00Z"]


def test_a_start_between_dates_begins_at_the_next_one_and_no_end_means_now() -> None:
    bf = backfills.new(spec(), {"start": "2024-06-01T09:30:00+02:00"}, NOW)  # 07:30 UTC
    assert bf["end"] == "2024-06-01T12:00:30Z" and bf["total"] == 5  # 08:00 … 12:00
    assert run_all(spec(), bf)[0] == "2024-06-01T08:00:00Z"


def test_dates_follow_the_schedules_time_zone_across_a_dst_change() -> None:
    paris = spec("30 2 * * *", "Europe/Paris")  # 02:30 does not exist on 2024-03-31 in Paris
    bf = backfills.new(paris, {"start": "2024-03-29T00:00:00Z", "end": "2024-04-02T00:00:00Z"}, NOW)
    dates = run_all(paris, bf)
    assert dates[0] == "2024-03-29T01:30:00Z" and dates[-1] == "2024-04-01T00:30:00Z"  # +01:00, then +02:00
    assert len(dates) == bf["total"] == len(set(dates))


def test_a_changed_cron_is_followed_from_the_cursor() -> None:
    bf = backfills.new(spec(), {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T12:00:00Z"}, NOW)
    bf = backfills.advanced(spec(), bf, dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC))
    assert run_all(spec("30 * * * *"), bf) == ["2024-05-01T10:30:00Z", "2024-05-01T11:30:00Z"]


@pytest.mark.parametrize(("body", "words"), [
    ({}, "needs a `start`"),
    ({"start": "tomorrow"}, "not an ISO 8601 date-time"),
    ({"start": 5}, "must be an ISO 8601 date-time string"),
    ({"start": "2024-05-01T00:00:00"}, "has no UTC offset"),
    ({"start": "2024-06-02T00:00:00Z"}, "is in the future"),
    ({"start": "2024-05-01T00:00:00Z", "end": "2024-06-02T00:00:00Z"}, "is in the future"),
    ({"start": "2024-05-02T00:00:00Z", "end": "2024-05-01T00:00:00Z"}, "is before its start"),
    ({"start": "2024-05-01T00:10:00Z", "end": "2024-05-01T00:20:00Z"}, "no date of schedule"),
    ({"start": "2020-01-01T00:00:00Z"}, "more than 10000 dates"),
    ({"start": "2024-05-01T00:00:00Z", "inputs": ["a"]}, "`inputs` must be a map"),
    ({"start": "2024-05-01T00:00:00Z", "labels": "a:b"}, "`labels` must be a map or a list"),
    ({"start": "2024-05-01T00:00:00Z", "labels": {"system.x": "1"}}, "`system.` labels"),
    ({"start": "2024-05-01T00:00:00Z", "labels": [{"key": "a", "value": None}]}, "needs a key and a value"),
])
def test_bad_requests_are_refused_with_a_hint(body: dict, words: str) -> None:
    with pytest.raises(BackfillError) as err:
        backfills.new(spec(), body, NOW)
    assert words in err.value.message and err.value.hint


def test_labels_are_taken_as_a_map_or_as_kestras_list() -> None:
    as_map = backfills.new(spec(), {"start": "2024-06-01T10:00:00Z", "labels": {"a": 1}}, NOW)
    as_list = backfills.new(spec(), {"start": "2024-06-01T10:00:00Z", "labels": [{"key": "a", "value": "1"}]}, NOW)
    assert as_map["labels"] == as_list["labels"] == [{"key": "a", "value": "1"}]
    assert as_map["id"] != as_list["id"]  # each backfill its own executions' ids
