"""A dotted input id is read nested, as Kestra nests it (`nested.key` as `inputs.nested.key`);
ids that cannot all be nested are refused when the flow is loaded (tests/unit/model/test_input_properties.py)."""

from __future__ import annotations

from lanner.model.maps import dotted_clash, nest_dotted


def test_dotted_ids_nest_into_maps_and_plain_ones_stay() -> None:
    flat = {"secret": "s", "nested.key": "p", "a.b.c": 1, "a.b.d": 2}
    assert nest_dotted(flat) == {"secret": "s", "nested": {"key": "p"}, "a": {"b": {"c": 1, "d": 2}}}


def test_inputs_without_a_dot_are_given_back_as_they_are() -> None:
    flat = {"x": 1}
    assert nest_dotted(flat) is flat


def test_a_clash_left_from_an_older_flow_keeps_both_values_reachable() -> None:
    assert nest_dotted({"a.b": 1, "a": 2}) == {"a": 2, "a.b": 1}


def test_an_id_and_a_dotted_id_under_it_clash_in_either_order() -> None:
    assert dotted_clash(["a", "x", "a.b"]) == ("a", "a.b")
    assert dotted_clash(["a.b.c", "a.b"]) == ("a.b.c", "a.b")
    assert dotted_clash(["a.b", "a.c", "b"]) is None
