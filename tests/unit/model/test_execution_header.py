"""The execution header (stored with every change of the execution's own state) and the task runs'
documents, as `Repository.save` writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.state import State, StateType


def execution_with_runs(n: int) -> Execution:
    exe = Execution(id="e1", namespace="company.team", flow_id="f", flow_revision=1)
    for i in range(n):
        exe.add(TaskRun(id=f"r{i}", execution_id="e1", namespace="company.team", flow_id="f", task_id="log",
                        parent_id=None, block="tasks", value=str(i)))
    return exe


def test_the_header_is_the_document_without_its_task_runs() -> None:
    exe = execution_with_runs(3)
    whole = exe.to_json()
    del whole["taskRunList"]
    assert exe.header_json() == whole
    assert list(exe.header_json()) == list(whole)  # same keys, same order


def test_the_header_never_prints_a_task_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its cost must not grow with the task runs (a ForEach over 100,000 values)."""
    exe = execution_with_runs(3)

    def refuse(self: TaskRun) -> None:
        raise AssertionError("a task run was printed for the header")

    monkeypatch.setattr(TaskRun, "to_json", refuse)
    assert exe.header_json()["id"] == "e1"


def test_a_state_prints_its_start_and_end_as_its_first_and_last_history_dates() -> None:
    t0 = dt.datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=dt.UTC)
    state = State.created(t0)
    state.to(StateType.RUNNING, t0 + dt.timedelta(seconds=1))
    running = state.to_json()
    assert running["startDate"] == "2026-01-02T03:04:05.123Z" and "endDate" not in running
    state.to(StateType.SUCCESS, t0 + dt.timedelta(seconds=2, microseconds=1))
    ended = state.to_json()
    assert ended["endDate"] == "2026-01-02T03:04:07.123001Z"
    assert [h["date"] for h in ended["histories"]] == ["2026-01-02T03:04:05.123Z", "2026-01-02T03:04:06.123Z",
                                                      "2026-01-02T03:04:07.123001Z"]
    assert ended["duration"] == "PT2S"


def test_ids_are_22_base62_characters() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and i.isalnum() and i.isascii() for i in ids)
