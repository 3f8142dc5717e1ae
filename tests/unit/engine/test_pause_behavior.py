"""A Pause with a duration ends by its `behavior` — written out, or a template rendered when the
pause starts (Kestra's Property) — and CANCEL ends the execution CANCELLED: nothing after runs
(Kestra's PauseTest: one task run, the execution CANCELLED)."""

from __future__ import annotations

import pytest

from lanner.model.state import StateType
from tests.unit.engine.driver import Driver

PAUSE = "io.kestra.plugin.core.flow.Pause"
LOG = "io.kestra.plugin.core.log.Log"


def _flow(behavior: str) -> str:
    return f"""
id: f
namespace: company.team
variables:
  how: {behavior}
tasks:
  - id: wait
    type: {PAUSE}
    pauseDuration: PT1S
    behavior: "{{{{ vars.how }}}}"
  - {{id: next, type: {LOG}, message: x}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
"""


def _duration_over(d: Driver, state: StateType) -> None:
    d._take(d.executor.resume(None, state))
    while d.step():
        pass


@pytest.mark.parametrize(("behavior", "ended", "execution", "ran"), [
    ("RESUME", StateType.SUCCESS, StateType.SUCCESS, ["next", "fin"]),
    ("WARN", StateType.WARNING, StateType.WARNING, ["next", "fin"]),
    ("FAIL", StateType.FAILED, StateType.FAILED, ["fin"]),
    ("CANCEL", StateType.CANCELLED, StateType.CANCELLED, ["fin"]),
])
def test_a_templated_behavior_is_rendered_and_decides_how_the_pause_ends(
        behavior: str, ended: StateType, execution: StateType, ran: list[str]) -> None:
    d = Driver(_flow(behavior))
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    _duration_over(d, ended)
    assert d.order == ran
    assert d.states()["wait"] == ended.value
    assert d.exe.state.current is execution


def test_a_behavior_rendering_to_something_else_fails_the_pause() -> None:
    d = Driver(_flow("SOMETIMES"))
    d.run()
    assert d.states()["wait"] == "FAILED"
    assert d.exe.state.current is StateType.FAILED


def test_a_written_behavior_that_is_not_one_of_the_four_is_refused_at_its_line() -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    with pytest.raises(ValidationErrors) as info:
        load_flow(f"id: f\nnamespace: t\ntasks:\n  - id: wait\n    type: {PAUSE}\n    pauseDuration: PT1S\n"
                  "    behavior: SOMETIMES\n", file="f.yaml")
    assert "f.yaml:7" in info.value.errors[0].render()
    assert "`SOMETIMES` is not one of RESUME, WARN, FAIL, CANCEL" in info.value.errors[0].render()


def test_a_timed_out_pause_with_allow_failure_is_a_warning_and_the_flow_goes_on() -> None:
    d = Driver(f"""
id: f
namespace: company.team
tasks:
  - id: wait
    type: {PAUSE}
    timeout: PT1S
    allowFailure: true
  - {{id: next, type: {LOG}, message: x}}
""")
    d.run()
    assert d.states() == {"wait": "PAUSED"}
    _duration_over(d, StateType.FAILED)  # what the timeout's resume carries
    assert d.states() == {"wait": "WARNING", "next": "SUCCESS"}
    assert d.exe.state.current is StateType.WARNING
