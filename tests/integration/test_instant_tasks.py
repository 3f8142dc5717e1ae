"""Instant tasks (Log, Return…) in the embedded runtime: run and applied before their runs are
persisted, many to one transaction (`LocalRuntime._run_instant`), with nothing else changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanner.model.state import StateType
from lanner.storage.repository import Repository
from tests.conftest import logs_of, repository_of, run_flow

LOG = "io.kestra.plugin.core.log.Log"


def chain(n: int) -> str:
    tasks = "".join(f"  - {{id: t{i}, type: {LOG}, message: 'step {i}'}}\n" for i in range(n))
    return (f"id: chain\nnamespace: company.team\ntasks:\n{tasks}"
            f"finally:\n  - {{id: cleanup, type: {LOG}, message: cleanup}}\n")


def test_a_chain_of_logs_is_stored_in_a_few_transactions_not_one_per_task(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    saves: list[int] = []
    save = Repository.save

    def counted(self: Repository, exe: Any, runs: Any = (), *args: Any, **kwargs: Any) -> None:
        runs = list(runs)
        saves.append(len(runs))
        save(self, exe, runs, *args, **kwargs)

    monkeypatch.setattr(Repository, "save", counted)
    exe = run_flow(chain(600), tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert [r.current for r in exe.task_runs] == [StateType.SUCCESS] * 601
    assert len(saves) <= 5  # 512 instant runs per transaction, not one transaction (or two) per run
    stored = repository_of(tmp_path).get(exe.id)
    assert stored is not None and [r.current for r in stored.task_runs] == [StateType.SUCCESS] * 601


def test_log_lines_of_instant_tasks_keep_their_place_among_the_executors(tmp_path: Path) -> None:
    exe = run_flow(chain(3), tmp_path)
    messages = [row["message"] for row in logs_of(tmp_path, exe.id)]
    assert messages == ["Flow started: company.team.chain", "step 0", "step 1", "step 2", "cleanup",
                        "Flow ended SUCCESS"]


def test_an_instant_task_sees_the_error_lines_logged_before_it(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: errors_seen
namespace: company.team
tasks:
  - {{id: shout, type: {LOG}, level: ERROR, message: boom}}
  - {{id: look, type: {LOG}, message: "seen {{{{ errorLogs() | length }}}}: {{{{ errorLogs()[0].message }}}}"}}
""", tmp_path)
    assert exe.state.current is StateType.SUCCESS
    assert [row["message"] for row in logs_of(tmp_path, exe.id, task_id="look")] == ["seen 1: boom"]


def test_a_kill_stops_a_long_foreach_of_logs_and_its_finally_runs_once(tmp_path: Path) -> None:
    exe = run_flow(f"""
id: long_loop
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(1, 20000) }}}}"
    tasks:
      - {{id: log, type: {LOG}, message: "value {{{{ taskrun.value }}}}"}}
finally:
  - {{id: cleanup, type: {LOG}, message: cleanup}}
""", tmp_path, kill_when=lambda kind, item: kind == "log" and getattr(item, "task_id", None) == "log")
    assert exe.state.current is StateType.KILLED
    assert len(logs_of(tmp_path, exe.id, task_id="cleanup")) == 1
    assert len([r for r in exe.task_runs if r.task_id == "log"]) < 20000  # stopped well before the end
