"""Dates reach templates, outputs and logs as Kestra prints an `Instant`: ISO-8601 in UTC with `Z`.

Kestra puts `java.time.Instant`s in its variables and prints them with `Instant.toString`: the
fraction in groups of three digits, as many as the clock gave (its own documentation shows
`"startDate": "2024-11-13T14:38:38.355668Z"`), never an offset like `+00:00`. Lanner's clock gives
microseconds, stored losslessly, and every printed date is that same text.
"""

from __future__ import annotations

import re
from pathlib import Path

from lanner.model.state import StateType, iso
from tests.conftest import logs_of, run_flow

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$")

FLOW = """
id: dates
namespace: company.team
tasks:
  - id: when
    type: io.kestra.plugin.core.output.OutputValues
    values:
      execution: "{{ execution.startDate }}"
      taskrun: "{{ taskrun.startDate }}"
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: constant
      interval: PT0.1S
      maxAttempts: 2
errors:
  - id: told
    type: io.kestra.plugin.core.output.OutputValues
    values:
      logged: "{{ errorLogs()[0].timestamp }}"
afterExecution:
  - id: ended
    type: io.kestra.plugin.core.output.OutputValues
    values:
      end: "{{ execution.endDate }}"
"""


def test_dates_print_as_kestra_prints_an_instant_and_match_what_is_stored(tmp_path: Path) -> None:
    exe = run_flow(FLOW, tmp_path)
    assert exe.state.current is StateType.FAILED
    runs = {r.task_id: r for r in exe.task_runs}
    printed = runs["when"].outputs["values"]
    assert printed == {"execution": iso(exe.state.start_date), "taskrun": iso(runs["when"].state.start_date)}
    assert all(INSTANT.match(text) for text in printed.values()), printed
    logged = runs["told"].outputs["values"]["logged"]
    assert INSTANT.match(logged), logged
    errors = [line for line in logs_of(tmp_path, exe.id, "flaky") if line["level"] == "ERROR"]
    assert logged == errors[0]["timestamp"]
    assert exe.state.end_date is not None
    assert runs["ended"].outputs["values"] == {"end": iso(exe.state.end_date)}
    retrying = [line["message"] for line in logs_of(tmp_path, exe.id, "flaky") if "retrying at" in line["message"]]
    assert retrying and INSTANT.match(retrying[0].rsplit(" ", 1)[1]), retrying
