"""The stores the embedded runtime and the server use keep their contract on SQLite and PostgreSQL."""

from __future__ import annotations

from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.results import LogEntry
from lanner.model.state import State, StateType
from lanner.storage import db
from lanner.storage.execution_queries import ExecutionFilter, ExecutionQueries
from lanner.storage.flow_store import FlowStore
from lanner.storage.repository import Repository
from lanner.storage.trigger_store import TriggerStore

FLOW = "id: f\nnamespace: company.team\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _exe(labels: dict[str, str] | None = None) -> Execution:
    return Execution(id=new_id(), namespace="company.team", flow_id="f", flow_revision=1, labels=labels or {})


def _run(exe: Execution, task_id: str) -> TaskRun:
    return TaskRun(id=new_id(), execution_id=exe.id, namespace=exe.namespace, flow_id=exe.flow_id, task_id=task_id,
                   parent_id=None, block="tasks", state=State.created())


def test_executions_task_runs_and_logs_round_trip(database_url: str) -> None:
    repo = Repository(db.connect(database_url))
    exe = _exe({"team": "data"})
    a, b = _run(exe, "a"), _run(exe, "b")
    exe.add(a)
    repo.save(exe, [a], logs=[LogEntry(exe.id, a.id, "a", "INFO", "hello")])
    exe.state.to(StateType.RUNNING)
    a.state.to(StateType.RUNNING)
    a.state.to(StateType.SUCCESS)
    exe.add(b)
    repo.save(exe, [a, b], logs=[LogEntry(exe.id, b.id, "b", "ERROR", "boom")])
    fresh = Repository(db.connect(database_url)).get(exe.id)
    assert fresh is not None
    assert [(r.task_id, r.current) for r in fresh.task_runs] == [("a", StateType.SUCCESS), ("b", StateType.CREATED)]
    assert fresh.state.current is StateType.RUNNING and fresh.labels == {"team": "data"}
    assert [r["message"] for r in repo.logs(exe.id, "ERROR")] == ["boom"]
    assert exe.id in repo.unfinished()
    assert repo.find_by_prefix(exe.id[:10]) == [exe.id]
    queries = ExecutionQueries(repo.engine)
    found, total = queries.search(ExecutionFilter(namespace="company", labels={"team": "data"}))
    assert total == 1 and found[0].id == exe.id
    assert queries.delete(exe.id) and queries.get(exe.id) is None


def test_flow_revisions_deletion_and_commands(database_url: str) -> None:
    engine = db.connect(database_url)
    flows, repo = FlowStore(engine), Repository(engine)
    assert flows.save("company.team", "f", FLOW).revision == 1
    assert flows.save("company.team", "f", FLOW).revision == 1  # same source, same revision
    assert flows.save("company.team", "f", FLOW + "# v2\n").revision == 2
    assert repo.flow_source("company.team", "f") == (2, FLOW + "# v2\n")
    assert flows.delete("company.team", "f") and flows.latest("company.team", "f") is None
    assert flows.revision("company.team", "f", 1) is not None  # executions keep their revision
    seq = repo.add_command("e1", "kill", {"hard": True})
    assert repo.take_commands(["e1"]) == [("e1", "kill", {"hard": True})]
    assert repo.command_done(seq) and repo.take_commands(["e1"]) == []


def test_trigger_state(database_url: str) -> None:
    store = TriggerStore(db.connect(database_url))
    key = ("company.team", "f", "every_minute")
    store.put(key, {"nextDate": "2026-01-01T00:00:00Z"})
    store.put(key, {"nextDate": "2026-01-01T00:01:00Z", "disabled": True})
    assert store.get(key) == {"nextDate": "2026-01-01T00:01:00Z", "disabled": True}
    assert list(store.all()) == [key]
    store.delete_flow("company.team", "f")
    assert store.get(key) is None


def test_an_ended_execution_restarted_while_it_is_answered_is_answered_as_it_stood_when_the_answer_began(
        database_url: str) -> None:
    """`GET /executions/{id}` writes an ended execution's task runs as it reads them (seconds for
    100,000): what `POST …/restart` stores meanwhile must not mix into the answer, as the old
    header with the new task runs."""
    from lanner.loading.flows import load_flow
    from lanner.runtime.restart import plan_restart

    engine = db.connect(database_url)
    repo, queries = Repository(engine), ExecutionQueries(engine)
    flow = load_flow(FLOW + "  - {id: b, type: io.kestra.plugin.core.execution.Fail}\n")
    exe = _exe()
    a, b = _run(exe, "a"), _run(exe, "b")
    for run, end in ((a, StateType.SUCCESS), (b, StateType.FAILED)):
        exe.add(run)
        run.state.to(StateType.RUNNING)
        run.state.to(end)
    exe.state.to(StateType.RUNNING)
    exe.state.to(StateType.FAILED)
    repo.save(exe, [a, b])
    snapshot = queries.snapshot()
    header = snapshot.header(exe.id)
    assert header is not None and snapshot.unended([exe.id]) == {}
    restarted = plan_restart(flow, exe)  # what the restart route stores, while the answer is written
    queries.rewrite_task_runs(restarted)
    repo.save(restarted, (), header=True)
    now = queries.get_stored(exe.id)
    assert now is not None and now[0]["state"]["current"] != "FAILED"
    assert [r["state"]["current"] for r in now[1]] != ["SUCCESS", "FAILED"]
    answered = [r for page in snapshot.runs(exe.id, page=1) for r in page]
    assert header["state"]["current"] == "FAILED"
    assert [(r["taskId"], r["state"]["current"]) for r in answered] == [("a", "SUCCESS"), ("b", "FAILED")]
    assert snapshot.header(new_id()) is None
    snapshot.close()
