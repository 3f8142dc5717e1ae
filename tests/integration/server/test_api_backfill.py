"""Backfills of a Schedule trigger through a real `lanner server local` (SQLite): one execution per
past date of the range, oldest first, with `trigger.date` that date and the backfill's inputs and
labels; paused, unpaused and deleted; within the flow's concurrency limit; and after a SIGKILL of
the server, every date runs exactly once (counted from the executions)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from tests.forkserver import ForkServer
from tests.integration.server.harness import Server, wait_for

KEY = {"namespace": "company.bf", "triggerId": "every_minute"}


def flow(flow_id: str, extra: str = "", task: str = "") -> str:
    task = task or ('  - {id: t, type: io.kestra.plugin.core.log.Log, '
                    'message: "{{ inputs.region }} {{ trigger.date }}"}')
    return f"""id: {flow_id}
namespace: company.bf
{extra}inputs:
  - id: region
    type: STRING
    defaults: none
tasks:
{task}
triggers:
  - id: every_minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
    labels:
      from: schedule
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k3y
"""


def minutes_ago(n: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=n)


def expected_dates(start: dt.datetime, count: int) -> list[str]:
    return [(start + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(count)]


def backfill(server: Server, flow_id: str, start: dt.datetime, end: dt.datetime | None = None,
             **more: Any) -> Any:
    """Start a backfill; its executions carry the label `backfilled: true` (see `dates_run`)."""
    labels = {"backfilled": "true", **more.pop("labels", {})}
    body = {"start": start.isoformat(), **({"end": end.isoformat()} if end else {}), "labels": labels, **more}
    return server.client.put("/triggers", json={**KEY, "flowId": flow_id, "backfill": body})


def context(server: Server, flow_id: str) -> dict[str, Any]:
    rows = server.client.get("/triggers/search", params={"flowId": flow_id}).json()["results"]
    return next(r["triggerContext"] for r in rows if r["triggerContext"]["triggerId"] == "every_minute")


def backfilled(server: Server, flow_id: str) -> list[dict[str, Any]]:
    """The flow's executions a backfill started, oldest first (the live schedule fires beside it)."""
    exes = server.executions(flowId=flow_id, sort="startDate:asc", size=1000)
    return [e for e in exes if {"key": "backfilled", "value": "true"} in e["labels"]]


def dates_run(server: Server, flow_id: str) -> list[str]:
    """The `trigger.date` of each backfilled execution of the flow, in the order they were created."""
    return [e["trigger"]["variables"]["date"] for e in backfilled(server, flow_id)]


def test_a_backfill_runs_each_past_date_once_oldest_first_with_its_inputs_and_labels(server: Server) -> None:
    server.deploy(flow("plain"))
    start = minutes_ago(30)
    created = backfill(server, "plain", start, start + dt.timedelta(minutes=2), inputs={"region": "eu"},
                       labels={"batch": "b1"})
    assert created.status_code == 200, created.text
    bf = created.json()["backfill"]
    assert (bf["total"], bf["fired"], bf["paused"], bf["currentDate"]) == (3, 0, False, expected_dates(start, 1)[0])
    done = wait_for(lambda: context(server, "plain")["lastBackfill"])
    assert (done["outcome"], done["fired"], done["total"]) == ("done", 3, 3)
    assert context(server, "plain")["backfill"] is None
    assert dates_run(server, "plain") == expected_dates(start, 3)
    for exe in backfilled(server, "plain"):
        assert exe["inputs"] == {"region": "eu"}
        labels = {label["key"]: label["value"] for label in exe["labels"]}
        assert labels["batch"] == "b1" and labels["from"] == "schedule"  # the trigger's own labels stay
        assert exe["trigger"]["id"] == "every_minute" and exe["trigger"]["type"].endswith("Schedule")
        done_exe = server.wait_state(exe["id"])
        assert done_exe["state"]["current"] == "SUCCESS"


def test_a_backfill_without_end_runs_up_to_now_beside_the_live_schedule(server: Server) -> None:
    server.deploy(flow("open_end"))
    start = minutes_ago(1)
    assert backfill(server, "open_end", start).status_code == 200
    done = wait_for(lambda: context(server, "open_end")["lastBackfill"])
    assert done["fired"] == done["total"] >= 2  # start, start+1 (now, truncated to the minute)
    assert dates_run(server, "open_end")[:2] == expected_dates(start, 2)
    assert context(server, "open_end")["nextExecutionDate"] is not None  # the live schedule is untouched


def test_a_backfill_is_paused_unpaused_and_deleted(server: Server) -> None:
    server.deploy(flow("controlled"))
    keys = {**KEY, "flowId": "controlled"}
    start = minutes_ago(200)
    assert backfill(server, "controlled", start, start + dt.timedelta(minutes=99)).status_code == 200
    wait_for(lambda: context(server, "controlled")["backfill"]["fired"] >= 2)
    paused = server.client.put("/triggers/backfill/pause", json=keys)
    assert paused.status_code == 200 and paused.json()["backfill"]["paused"] is True
    time.sleep(0.5)  # a step that had read the backfill before the pause may still finish
    fired = context(server, "controlled")["backfill"]["fired"]
    time.sleep(2)  # two scheduler ticks (one date each while it ran): a paused backfill starts nothing
    assert context(server, "controlled")["backfill"]["fired"] == fired == len(dates_run(server, "controlled"))
    assert server.client.put("/triggers/backfill/unpause", json=keys).json()["backfill"]["paused"] is False
    wait_for(lambda: context(server, "controlled")["backfill"]["fired"] >= fired + 2)
    deleted = server.client.post("/triggers/backfill/delete", json=keys)
    assert deleted.status_code == 200 and deleted.json()["backfill"] is None
    last = deleted.json()["lastBackfill"]
    assert last["outcome"] == "deleted" and last["total"] == 100
    time.sleep(1.5)  # past the next tick: a deleted backfill starts nothing more
    ran = dates_run(server, "controlled")
    assert ran == expected_dates(start, len(ran)) and len(ran) in (last["fired"], last["fired"] + 1)
    again = server.client.post("/triggers/backfill/delete", json=keys)
    assert again.status_code == 400 and "No backfill found" in again.json()["message"]


def test_bulk_backfill_actions_count_the_triggers_that_had_one(server: Server) -> None:
    server.deploy(flow("bulk_a"))
    server.deploy(flow("bulk_b"))
    start = minutes_ago(500)
    assert backfill(server, "bulk_a", start, start + dt.timedelta(minutes=400), paused=True).status_code == 200
    keys = [{**KEY, "flowId": "bulk_a"}, {**KEY, "flowId": "bulk_b"}]
    for action, count in (("unpause", 1), ("pause", 1), ("delete", 1), ("delete", 0)):
        r = server.client.post(f"/triggers/backfill/{action}/by-triggers", json=keys)
        assert r.status_code == 200 and r.json() == {"count": count}, (action, r.text)
    assert server.client.post("/triggers/backfill/explode/by-triggers", json=keys).status_code == 404
    missing = server.client.post("/triggers/backfill/pause/by-triggers", json=[{**KEY, "flowId": "nope"}])
    assert missing.status_code == 404


def test_bad_backfills_are_refused_with_what_to_do(server: Server) -> None:
    server.deploy(flow("refusals"))
    key = {**KEY, "flowId": "refusals"}
    start = minutes_ago(10)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**key, "backfill": {"start": "yesterday"}}, 422, "not an ISO 8601 date-time"),
        ({**key, "backfill": {"start": "2024-01-01T00:00:00"}}, 422, "has no UTC offset"),
        ({**key, "backfill": {"start": (start + dt.timedelta(days=1)).isoformat()}}, 422, "is in the future"),
        ({**key, "backfill": {"start": start.isoformat(), "end": (start - dt.timedelta(minutes=5)).isoformat()}},
         422, "is before its start"),
        ({**key, "backfill": {"start": "2000-01-01T00:00:00Z", "end": "2001-01-01T00:00:00Z"}}, 422,
         "more than 10000 dates"),
        ({**key, "backfill": {"start": start.isoformat(), "inputs": {"nope": 1}}}, 422, "nope"),
        ({**key, "backfill": {"start": start.isoformat(), "labels": {"system.flow": "x"}}}, 422, "system."),
        ({**key, "triggerId": "hook", "backfill": {"start": start.isoformat()}}, 422,
         "only Schedule triggers are backfilled"),
        ({**key, "triggerId": "nope", "backfill": {"start": start.isoformat()}}, 404, "was not found"),
        ({**key, "backfill": {}}, 422, "start"),
        (key, 422, "give `disabled`"),
    ]
    for body, status, words in cases:
        r = server.client.put("/triggers", json=body)
        assert r.status_code == status and words in r.text, (body, r.status_code, r.text)
    assert context(server, "refusals")["backfill"] is None  # nothing was stored by a refused request
    assert backfill(server, "refusals", start, paused=True).status_code == 200
    second = backfill(server, "refusals", start)
    assert second.status_code == 409 and "already has a backfill" in second.json()["message"]
    assert server.client.put("/triggers/backfill/pause", json={**key, "triggerId": "nope"}).status_code == 404


def test_a_backfill_waits_for_the_flows_concurrency_limit(server: Server) -> None:
    sleepy = "  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT1.5S}"
    server.deploy(flow("limited", extra="concurrency:\n  limit: 1\n", task=sleepy))
    start = minutes_ago(40)
    assert backfill(server, "limited", start, start + dt.timedelta(minutes=1)).status_code == 200
    wait_for(lambda: context(server, "limited")["lastBackfill"], timeout=60)
    exes = [server.wait_state(e["id"]) for e in backfilled(server, "limited")]
    assert [e["trigger"]["variables"]["date"] for e in exes] == expected_dates(start, 2)
    for exe in exes:  # never queued by the limit: each started once the one before had ended
        assert "QUEUED" not in [h["state"] for h in exe["state"]["histories"]]
    for before, after in zip(exes, exes[1:], strict=False):
        assert before["state"]["endDate"] <= after["state"]["startDate"]


def test_a_backfill_survives_a_killed_server_and_runs_every_date_once(tmp_path: Path, forks: ForkServer) -> None:
    srv = Server(tmp_path / "home", forks=forks).start()
    try:
        srv.deploy(flow("crashy"))
        start = minutes_ago(60)
        assert backfill(srv, "crashy", start, start + dt.timedelta(minutes=6)).status_code == 200
        wait_for(lambda: context(srv, "crashy")["backfill"]["fired"] >= 3)
        srv.stop(kill=True)  # SIGKILL in the middle of the backfill
        srv.start()
        done = wait_for(lambda: context(srv, "crashy")["lastBackfill"], timeout=60)
        assert (done["outcome"], done["fired"], done["total"]) == ("done", 7, 7)
        assert dates_run(srv, "crashy") == expected_dates(start, 7)  # none twice, none skipped
    finally:
        srv.stop()


def test_a_cursor_write_lost_in_a_crash_repeats_no_execution(tmp_path: Path, forks: ForkServer) -> None:
    """The crash window itself: executions made, the cursor not yet moved past them. The stored
    state is set back as such a crash leaves it; on restart the derived ids find the executions
    already there, so the backfill goes on without making them again."""
    from lanner.storage import db
    from lanner.storage.trigger_store import TriggerStore

    srv = Server(tmp_path / "home", forks=forks).start()
    key = ("company.bf", "rewound", "every_minute")
    try:
        srv.deploy(flow("rewound"))
        start = minutes_ago(80)
        assert backfill(srv, "rewound", start, start + dt.timedelta(minutes=6)).status_code == 200
        wait_for(lambda: context(srv, "rewound")["backfill"]["fired"] >= 4)
        srv.client.put("/triggers/backfill/pause", json={**KEY, "flowId": "rewound"})
        srv.stop()
        store = TriggerStore(db.connect(f"sqlite:///{tmp_path / 'home' / 'lanner.db'}"))
        state = store.get(key)
        assert state is not None
        bf = state["backfill"]
        rewound = dt.datetime.fromisoformat(bf["lastDate"].replace("Z", "+00:00")) - dt.timedelta(minutes=3)
        bf.update(lastDate=rewound.strftime("%Y-%m-%dT%H:%M:%SZ"), fired=bf["fired"] - 3, paused=False)
        store.put(key, state)
        srv.start()
        done = wait_for(lambda: context(srv, "rewound")["lastBackfill"], timeout=60)
        assert (done["outcome"], done["fired"], done["total"]) == ("done", 7, 7)
        assert dates_run(srv, "rewound") == expected_dates(start, 7)  # no date twice
    finally:
        srv.stop()


def test_a_schedules_own_backfill_start_runs_once_when_the_trigger_is_first_seen(server: Server) -> None:
    start = minutes_ago(2)
    text = flow("declared").replace('    cron: "* * * * *"\n', f'    cron: "* * * * *"\n    backfill:\n'
                                    f'      start: {start.strftime("%Y-%m-%dT%H:%M:%SZ")}\n', 1)
    server.deploy(text)
    done = wait_for(lambda: context(server, "declared")["lastBackfill"])
    assert done["outcome"] == "done" and done["fired"] == done["total"] >= 3  # start … now, on the minute
    dates = [e["trigger"]["variables"]["date"] for e in server.executions(flowId="declared", sort="startDate:asc")]
    past = [d for d in dates if d <= done["end"]]  # the live schedule fires only after it was saved
    assert past == expected_dates(start, done["total"])
    updated = server.client.put("/flows/company.bf/declared", content=text.replace("defaults: none", "defaults: new"),
                                headers={"Content-Type": "application/x-yaml"})
    assert updated.status_code == 200, updated.text
    after = context(server, "declared")
    assert after["backfill"] is None and after["lastBackfill"] == done  # a new revision backfills nothing again
