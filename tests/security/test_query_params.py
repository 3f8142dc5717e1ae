"""Attack 8 of issue 11: execution search compares dates as instants whatever their offset, and
an unknown state, sort, date or size is a 400 listing what is allowed, never a wrong 200."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.server.harness import Server

FLOW = "id: dated\nnamespace: company.q\ntasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: hi}\n"


def _in(offset_hours: int, instant: dt.datetime) -> str:
    return instant.astimezone(dt.timezone(dt.timedelta(hours=offset_hours))).isoformat()


def test_search_dates_are_instants_whatever_their_offset(server: Server) -> None:
    server.deploy(FLOW)
    ids = [server.run("company.q", "dated")["id"] for _ in range(3)]
    by_id = {e["id"]: e for e in server.executions(flowId="dated")}
    starts = [dt.datetime.fromisoformat(by_id[i]["state"]["startDate"]) for i in ids]
    assert starts == sorted(starts) and all(s.microsecond for s in starts)
    middle = starts[1]
    for offset in (0, 2, -5, 14):
        after = {e["id"] for e in server.executions(flowId="dated", startDate=_in(offset, middle))}
        before = {e["id"] for e in server.executions(flowId="dated", endDate=_in(offset, middle))}
        assert after == set(ids[1:]), offset  # the bound itself is included, to the microsecond
        assert before == set(ids[:2]), offset
    just_after = middle + dt.timedelta(microseconds=1)
    assert {e["id"] for e in server.executions(flowId="dated", startDate=_in(2, just_after))} == {ids[2]}
    assert {e["id"] for e in server.executions(flowId="dated", endDate=_in(-3, just_after))} == set(ids[:2])
    whole_second = middle.replace(microsecond=0)
    assert {e["id"] for e in server.executions(flowId="dated", endDate=_in(1, whole_second))} == (
        {ids[0]} if starts[0] < whole_second else set())


@pytest.mark.parametrize(("params", "says", "lists"), [
    ({"state": "NOPE"}, "state=`NOPE` is not a state", "SUCCESS"),
    ({"state": "SUCCESS,bogus"}, "state=`bogus` is not a state", "KILLED"),
    ({"startDate": "yesterday"}, "startDate=`yesterday` is not an ISO 8601 date-time", "2024-05-01T08:30:00Z"),
    ({"endDate": "2024-05-01T10:30:00"}, "has no UTC offset", "Z"),
    ({"sort": "password"}, "`password` is not a field to sort by", "startDate"),
    ({"sort": "id:sideways"}, "the direction must be asc or desc", "id:desc"),
    ({"size": "0"}, "size", "greater than or equal to 1"),
    ({"size": "100000"}, "size", "less than or equal to 1000"),
    ({"page": "two"}, "page", "integer"),
])
def test_a_bad_search_parameter_is_a_400_saying_what_is_allowed(server: Server, params: dict[str, str], says: str,
                                                                lists: str) -> None:
    r = server.client.get("/executions/search", params=params)
    assert r.status_code == 400, r.text
    problem = r.json()
    text = problem["message"] + " " + problem.get("hint", "")
    assert says in text and lists in text, problem


def test_a_bad_flow_sort_is_a_400_and_a_good_one_sorts(server: Server) -> None:
    bad = server.client.get("/flows/search", params={"sort": "secret:asc"})
    assert bad.status_code == 400 and "namespace" in bad.json()["hint"]
    server.deploy(FLOW.replace("id: dated", "id: zz_last"))
    reply = server.client.get("/flows/search", params={"sort": "id:DESC", "namespace": "company.q"})
    ids = [f["id"] for f in reply.json()["results"]]
    assert ids == sorted(ids, reverse=True) and "zz_last" in ids
