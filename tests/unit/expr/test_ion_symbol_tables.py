"""fromIon interprets a local symbol table (`$ion_symbol_table::{…}`) instead of returning it as a row,
and reads the symbol ids (`$10`) written after it as the text the table gives them."""

from __future__ import annotations

import datetime as dt

from lanner.expr.ion import from_ion


def test_a_symbol_table_at_the_top_is_not_a_row() -> None:
    text = '$ion_1_0 $ion_symbol_table::{symbols:["name", "city"]} {$10: "Ada", $11: "Paris"} {name: "Bob"}'
    assert from_ion(text, all_rows=True) == [{"name": "Ada", "city": "Paris"}, {"name": "Bob"}]
    assert from_ion(text) == {"name": "Ada", "city": "Paris"}


def test_symbol_ids_resolve_in_values_and_annotations() -> None:
    text = '$ion_symbol_table::{symbols:["red", "LocalDate"]} [$10, $11::"2024-01-02", \'$10\']'
    assert from_ion(text) == ["red", dt.date(2024, 1, 2), "$10"]  # a quoted '$10' is the text itself


def test_an_appended_table_extends_the_current_one_and_a_new_table_replaces_it() -> None:
    text = ('$ion_symbol_table::{symbols:["a"]} $ion_symbol_table::{imports:$ion_symbol_table, symbols:["b"]} '
            '{$10: 1, $11: 2} $ion_symbol_table::{symbols:["c"]} {$10: 3} $ion_1_0 {$10: 4}')
    assert from_ion(text, all_rows=True) == [{"a": 1, "b": 2}, {"c": 3}, {"$10": 4}]


def test_system_symbols_and_unknown_ids() -> None:
    text = '$ion_symbol_table::{imports:[{name:"shared", version:1, max_id:2}], symbols:["mine"]} [$4, $10, $12, $99]'
    # $10 and $11 belong to a shared table Lanner has no copy of: they keep their id, as does $99
    assert from_ion(text) == ["name", "$10", "mine", "$99"]


def test_an_annotated_struct_inside_a_row_stays_data() -> None:
    assert from_ion('{t: $ion_symbol_table::{symbols:["a"]}}') == {"t": {"symbols": ["a"]}}
