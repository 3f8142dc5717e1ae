"""The state machine: its named sets, its legal moves, and `State.to` refusing the others."""

from __future__ import annotations

import pytest

from lanner.model.state import (
    ACTIVE,
    SUCCESSFUL,
    TERMINATED,
    TERMINATED_NAMES,
    TRANSITIONS,
    UNFINISHED,
    IllegalTransition,
    State,
    StateType,
    can_move,
)

S = StateType

# Every move the engine, the runtimes and the restart made during a whole run of the test suite
# (State.to instrumented), plus the ones their code makes on paths the suite did not reach.
ENGINE_MOVES = [
    (S.CREATED, S.RUNNING), (S.CREATED, S.QUEUED), (S.CREATED, S.CANCELLED), (S.CREATED, S.FAILED),
    (S.CREATED, S.SKIPPED), (S.QUEUED, S.RUNNING), (S.RUNNING, S.SUCCESS), (S.RUNNING, S.WARNING),
    (S.RUNNING, S.FAILED), (S.RUNNING, S.KILLED), (S.RUNNING, S.KILLING), (S.RUNNING, S.PAUSED),
    (S.RUNNING, S.RETRYING), (S.KILLING, S.KILLED), (S.PAUSED, S.RUNNING), (S.PAUSED, S.SUCCESS),
    (S.PAUSED, S.KILLING), (S.PAUSED, S.KILLED), (S.FAILED, S.RETRYING), (S.RETRYING, S.CREATED),
    (S.RETRYING, S.RUNNING), (S.FAILED, S.RESTARTED), (S.KILLED, S.RESTARTED), (S.CANCELLED, S.RESTARTED),
    (S.RESTARTED, S.CREATED), (S.RESTARTED, S.RUNNING),
]


@pytest.mark.parametrize(("current", "target"), ENGINE_MOVES, ids=[f"{a.value}->{b.value}" for a, b in ENGINE_MOVES])
def test_every_move_the_engine_makes_is_legal(current: StateType, target: StateType) -> None:
    state = State(current, [])
    assert state.to(target) is True
    assert state.current is target and [h.state for h in state.histories] == [target]


@pytest.mark.parametrize("final", [S.SUCCESS, S.WARNING, S.SKIPPED, S.RETRIED])
def test_a_final_state_never_moves_and_the_refusal_names_both_states(final: StateType) -> None:
    state = State(final, [])
    for target in StateType:
        if target is final:
            continue
        with pytest.raises(IllegalTransition) as info:
            state.to(target)
        assert f"{final.value} → {target.value}" in str(info.value)
        assert "none, it is final" in str(info.value)
    assert state.current is final and state.histories == []  # nothing changed


def test_ended_work_leaves_its_end_only_to_be_retried_or_restarted() -> None:
    for ended in TERMINATED:
        assert TRANSITIONS[ended] <= {S.RETRYING, S.RESTARTED}
    with pytest.raises(IllegalTransition, match="FAILED → RUNNING"):
        State(S.FAILED, []).to(S.RUNNING)
    with pytest.raises(IllegalTransition, match="KILLED → SUCCESS"):
        State(S.KILLED, []).to(S.SUCCESS)
    with pytest.raises(IllegalTransition, match="KILLING → RUNNING"):
        State(S.KILLING, []).to(S.RUNNING)  # a kill is never taken back


def test_staying_put_is_a_no_op_not_a_move() -> None:
    state = State.created()
    assert state.to(S.CREATED) is False
    assert len(state.histories) == 1
    assert can_move(S.SUCCESS, S.SUCCESS)


def test_the_named_sets_partition_the_states_as_kestra_does() -> None:
    assert TERMINATED | UNFINISHED == set(StateType) and not TERMINATED & UNFINISHED
    assert ACTIVE == {S.RUNNING, S.KILLING} and ACTIVE <= UNFINISHED
    assert SUCCESSFUL <= TERMINATED
    assert set(TERMINATED_NAMES) == {s.value for s in TERMINATED}
    assert set(TRANSITIONS) == set(StateType)
    assert all(s.terminated == (s in TERMINATED) for s in StateType)
    assert all(s.running == (s in ACTIVE) for s in StateType)
