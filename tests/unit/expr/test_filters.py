"""Filters, called directly as the evaluator calls them: FILTERS[name](env, value, *args, **kwargs)."""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from typing import Any

import pytest

from lanner.expr.env import MAX_ITEMS, Env
from lanner.expr.errors import ExpressionError
from lanner.expr.filters import FILTERS

ENV = Env(variables={})


def f(name_: str, input_: Any, /, *args: Any, **kwargs: Any) -> Any:
    fn = FILTERS[name_]
    inspect.signature(fn).bind(ENV, input_, *args, **kwargs)  # as the evaluator binds arguments
    return fn(ENV, input_, *args, **kwargs)


def fails(name_: str, input_: Any, /, *args: Any, **kwargs: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as err:
        f(name_, input_, *args, **kwargs)
    assert err.value.hint, "every error says what to do"
    return err.value


def test_every_filter_takes_env_then_value() -> None:
    for name, fn in FILTERS.items():
        params = list(inspect.signature(fn).parameters)
        assert params[0] == "env" and len(params) >= 2, name
    assert "raw" not in FILTERS and "escape" not in FILTERS and "default" not in FILTERS


# ---------------------------------------------------------------- text

def test_case_filters() -> None:
    assert f("upper", "quiet sentence") == "QUIET SENTENCE"
    assert f("lower", "LOUD TEXT") == "loud text"
    assert f("capitalize", "  article title") == "  Article title"
    assert f("title", "article title\tnew-line") == "Article Title\tNew-line"
    assert f("upper", 12) == "12" and f("upper", None) is None


def test_abbreviate_counts_the_ellipsis() -> None:
    assert f("abbreviate", "this is a long sentence.", 7) == "this..."
    assert f("abbreviate", "short", 10) == "short"
    assert f("abbreviate", "abcdef", 2) == "ab"
    assert "length must be at least 0" in str(fails("abbreviate", "abc", -1))
    assert "must be a string, got integer" in str(fails("abbreviate", 123, 2))


def test_trim_strips_control_characters_like_java() -> None:
    assert f("trim", "\t  padded text \n") == "padded text"
    assert f("trim", "\u00a0x\u00a0") == "\u00a0x\u00a0"


def test_replace_takes_a_map_and_reaches_into_maps_and_lists() -> None:
    assert f("replace", "I like %this% and %that%.", {"%this%": "foo", "%that%": "bar"}) == "I like foo and bar."
    assert f("replace", {"a": "x-y", "b": ["x", 1]}, {"x": "z"}) == {"a": "z-y", "b": ["z", "1"]}
    assert f("replace", "2024-01-02", {r"(\d+)-(\d+)-(\d+)": "$3/$2/$1"}, regexp=True) == "02/01/2024"
    assert f("replace", "a.b", {".": "\\$"}, True) == "$$$"
    assert "replace_pairs is required" in str(fails("replace", "x"))
    assert "expects a map, got string" in str(fails("replace", "x", "y"))
    assert "invalid regular expression" in str(fails("replace", "x", {"(": ""}, regexp=True))


def test_split_is_java_regex_split() -> None:
    assert f("split", "apple,banana,cherry", ",") == ["apple", "banana", "cherry"]
    assert f("split", "apple,banana,cherry,grape", ",", 2) == ["apple", "banana,cherry,grape"]
    assert f("split", "a,b,,", ",") == ["a", "b"]
    assert f("split", "a,b,,", ",", -1) == ["a", "b", "", ""]
    assert f("split", "a.b.c", "\\.") == ["a", "b", "c"]
    assert f("split", ",a", ",") == ["", "a"]
    assert f("split", "abc", "") == ["a", "b", "c"]
    assert f("split", "", ",") == [""]
    assert "delimiter is required" in str(fails("split", "a"))


def test_slugify() -> None:
    assert f("slugify", "Hello World!") == "hello-world"
    assert f("slugify", "  Crème brûlée_au  café -- ") == "creme-brulee-au-cafe"


def test_substring_filters() -> None:
    assert f("substringBefore", "a.b.c", ".") == "a"
    assert f("substringAfter", "a.b.c", ".") == "b.c"
    assert f("substringBeforeLast", "a.b.c", ".") == "a.b"
    assert f("substringAfterLast", "a.b.c", ".") == "c"
    assert f("substringBefore", "abc", "x") == "abc" and f("substringAfter", "abc", "x") == ""
    assert f("substringBeforeLast", "abc", "x") == "abc" and f("substringAfterLast", "abc", "x") == ""


def test_starts_and_ends_with_accept_kestra_argument_name() -> None:
    assert f("startsWith", "hello world", "hello") is True
    assert f("endsWith", "hello world", value="world") is True
    assert f("startsWith", 123, "1") is True


def test_url_and_base64_encodings() -> None:
    assert f("urlencode", "The string ü@foo-bar~*") == "The+string+%C3%BC%40foo-bar%7E*"
    assert f("urldecode", "The+string+%C3%BC%40foo-bar") == "The string ü@foo-bar"
    assert "incomplete escape" in str(fails("urldecode", "100%"))
    assert f("base64encode", "test") == "dGVzdA==" and f("base64decode", "dGVzdA==") == "test"
    assert f("base64decode", "dGVzdA") == "test"
    assert "is not valid base64" in str(fails("base64decode", "d$G"))


def test_hashes() -> None:
    assert f("sha256", "test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert f("sha1", "test") == "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
    assert f("md5", "test") == "098f6bcd4621d373cade4e832627b4f6"
    assert f("sha512", "test").startswith("ee26b0dd4af7e749aa1a8ee3c10ae992")
    assert "must be a string" in str(fails("md5", 12))


def test_escape_char() -> None:
    assert f("escapeChar", "Can't be here", "single") == "Can\\'t be here"
    assert f("escapeChar", 'say "hi"', "DOUBLE") == 'say \\"hi\\"'
    assert f("escapeChar", "it's", "shell") == "it'\\''s"
    assert f("escapeChar", {"k": ["a'b"]}, "single") == {"k": ["a\\'b"]}
    assert "unknown type 'html'" in str(fails("escapeChar", "x", "html"))


def test_indent_and_nindent() -> None:
    assert f("indent", "key: value\nother: 1", 2) == "key: value\n  other: 1"
    assert f("nindent", "a\r\nb", 2, "-") == "\r\n--a\r\n--b"
    assert f("indent", "", 4) == ""
    assert "amount must be at least 0" in str(fails("indent", "a\nb", -1))
    assert "longer than" in str(fails("indent", "\n" * 1000, 100_000))


def test_string_filter() -> None:
    assert f("string", 123) == "123"
    assert f("string", 1.5) == "1.5"
    assert f("string", "007") == "7"
    assert f("string", "abc") == "abc"
    assert f("string", True) == "true"


# ---------------------------------------------------------------- collections

def test_first_last_length() -> None:
    assert f("first", ["apple", "banana"]) == "apple" and f("first", "Mitch") == "M"
    assert f("last", ["apple", "banana"]) == "banana" and f("last", "Mitch") == "h"
    assert f("first", []) is None
    assert f("length", "Mitch") == 5 and f("length", {"a": 1}) == 1 and f("length", None) == 0
    assert "expects a list, got map" in str(fails("first", {"a": 1}))


def test_sort_rsort_reverse() -> None:
    original = [3, 1, 2.5]
    assert f("sort", original) == [1, 2.5, 3] and original == [3, 1, 2.5]
    assert f("rsort", [3, 1, 2]) == [3, 2, 1]
    assert f("reverse", ["apple", "banana"]) == ["banana", "apple"] and f("reverse", "abc") == "cba"
    assert "cannot compare integer `1` with string `a`" in str(fails("sort", ["a", 1]))


def test_slice_follows_pebble_bounds() -> None:
    assert f("slice", ["apple", "banana", "cherry"], 1, 2) == ["banana"]
    assert f("slice", "Mitch", 1, 3) == "it"
    assert f("slice", "Mitch", 2) == "tch"
    assert "past the end" in str(fails("slice", "abc", 0, 9))
    assert "must be greater than fromIndex" in str(fails("slice", "abc", 2, 1))
    assert "can only slice a string or a list" in str(fails("slice", 5, 0, 1))


def test_join() -> None:
    assert f("join", ["apple", "banana"], ", ") == "apple, banana"
    assert f("join", [1, None, 2.0, True]) == "1null2.0true"
    assert "expects a list" in str(fails("join", "abc", ","))


def test_keys_values_merge() -> None:
    assert f("keys", {"foo": "bar", "baz": "qux"}) == ["foo", "baz"]
    assert f("keys", ["a", "b"]) == [0, 1]
    assert f("values", {"foo": "bar", "baz": "qux"}) == ["bar", "qux"]
    assert f("merge", [1, 2], [3, 4]) == [1, 2, 3, 4]
    assert f("merge", {"a": 1, "b": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert "can only be applied to a map" in str(fails("values", [1]))
    assert "cannot merge a string into a list" in str(fails("merge", [1], "x"))


def test_distinct_chunk_flatten() -> None:
    assert f("distinct", ["1", "1", "2", 1, 1.0, {"a": 1}, {"a": 1}]) == ["1", "2", 1, 1.0, {"a": 1}]
    assert f("chunk", [1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert f("flatten", [[1, 2], 3, [[4]]]) == [1, 2, 3, [4]]
    assert "size must be at least 1" in str(fails("chunk", [1], 0))
    assert "expects a list, got string" in str(fails("flatten", "x"))
    assert f("abs", -7) == 7 and f("abs", Decimal("-1.5")) == Decimal("1.5")
    assert "expects a number" in str(fails("abs", "x"))


def test_lists_built_by_filters_are_bounded() -> None:
    big = list(range(MAX_ITEMS))
    assert "more than 100000 items" in str(fails("merge", big, [1]))
    assert "more than 100000 items" in str(fails("split", "," * (MAX_ITEMS + 5), ",", -1))


# ---------------------------------------------------------------- data

def test_to_json_is_compact_and_drops_null_map_entries_like_kestra() -> None:
    assert f("toJson", [1, 2, 3]) == "[1,2,3]"
    assert f("toJson", True) == "true" and f("toJson", "foo") == '"foo"' and f("toJson", None) == "null"
    assert f("toJson", {"empty_object": {}, "n": None, "l": [None]}) == '{"empty_object":{},"l":[null]}'
    assert f("toJson", {"n": None}, includeNulls=True) == '{"n":null}'
    assert f("toJson", {"d": Decimal("1.50"), "t": dt.datetime(2024, 1, 2, tzinfo=dt.UTC)}) == \
        '{"d":1.5,"t":"2024-01-02T00:00:00Z"}'
    assert f("json", {"a": "é"}) == '{"a":"é"}'


def test_to_ion() -> None:
    assert f("toIon", "string") == '"string"' and f("toIon", 1) == "1" and f("toIon", None) == "null"
    assert f("toIon", ["string", 1, 1.123]) == '["string",1,1.123e0]'
    assert f("toIon", {"empty_object": {}}) == "{empty_object:{}}"
    assert f("toIon", {"a b": True, "d": Decimal("2")}) == "{'a b':true,d:2.}"
    zoned = dt.datetime(2013, 9, 8, 16, 19, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert f("toIon", zoned) == 'ZonedDateTime::"2013-09-08T16:19:00+02:00"'
    assert f("toIon", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2024-01-02T03:04:05.000Z"


def test_yaml_filter_prints_block_yaml() -> None:
    value = {"key": "value", "port": "8080", "flag": "yes", "list": [1, {"a": "b"}], "text": "l1\nl2\n"}
    assert f("yaml", value) == (
        'key: value\nport: "8080"\nflag: "yes"\nlist:\n  - 1\n  - a: b\ntext: |\n  l1\n  l2\n')
    assert f("yaml", "foo: bar") == '"foo: bar"\n'
    assert f("yaml", None) == "null"


def test_jq_returns_a_list_of_results() -> None:
    assert f("jq", [1, 2, 3], ".") == [[1, 2, 3]]
    assert f("jq", [1, 2, 3], ".[0]") == [1]
    outputs = {"task1": {"value": 1, "text": "awesome1"}, "task2": {"value": 2}}
    assert f("jq", outputs, ".task1.value") == [1]
    assert f("jq", {"a": 72, "b": 88}, "[.[]] | add") == [160]
    assert f("jq", '{"a": [1, 2]}', ".a[]") == [1, 2]
    assert f("jq", {"d": Decimal("1.5"), "t": dt.date(2024, 1, 2)}, ".") == [{"d": 1.5, "t": "2024-01-02"}]
    assert "invalid jq expression" in str(fails("jq", {}, ".[["))
    assert "the text is not JSON" in str(fails("jq", "{nope", "."))
    assert "failed" in str(fails("jq", {"a": "x"}, ".a + 1"))
    assert "more than 100000 items" in str(fails("jq", {}, "range(200000)"))


def test_number_parses_text() -> None:
    assert f("number", "12") == 12 and f("number", "12.3") == 12.3
    assert f("number", "0x1F") == 31 and f("number", "10L") == 10 and f("number", "1e3") == 1000.0
    assert f("number", "42", "INT") == 42 and f("number", "1.25", "BIGDECIMAL") == Decimal("1.25")
    assert f("number", "9223372036854775807", "BIGINTEGER") == 9223372036854775807
    assert "is not a valid int" in str(fails("number", "1.5", "INT"))
    assert "too large for INT" in str(fails("number", "3000000000", "INT"))
    assert "unknown number type 'SHORT'" in str(fails("number", "1", "SHORT"))
    assert "already a number" in str(fails("number", 12))
    assert "not a valid decimal number" in str(fails("number", "12,5"))


def test_number_format_uses_java_decimal_format() -> None:
    assert f("numberFormat", 3.141592653, "#.##") == "3.14"
    assert f("numberFormat", 1234567.891, "#,##0.00") == "1,234,567.89"
    assert f("numberFormat", 0.5, "0.000") == "0.500"
    assert f("numberFormat", 0.5, "#.##") == ".5"
    assert f("numberFormat", 2.5, "0") == "2" and f("numberFormat", 3.5, "0") == "4"
    assert f("numberFormat", 0.256, "0.0%") == "25.6%"
    assert f("numberFormat", -5, "0;(0)") == "(5)"
    assert f("numberFormat", 12345, "0.###E0") == "1.234E4"
    assert f("numberFormat", 1234.5678) == "1,234.568"
    assert "invalid number pattern '#.#0'" in str(fails("numberFormat", 1, "#.#0"))
    assert "expects a number, got string" in str(fails("numberFormat", "1", "0"))


def test_class_name() -> None:
    assert f("className", "12.3") == "java.lang.String"
    assert f("className", 12) == "java.lang.Long" and f("className", 1.5) == "java.lang.Double"
    assert f("className", {"a": 1}) == "java.util.LinkedHashMap"
    assert f("className", None) is None


ODD_VALUES: list[Any] = [
    None, True, 0, -3, 2**70, 1.5, float("nan"), float("inf"), Decimal("NaN"), "", "abc", "2024-01-02", "%zz",
    "yyyy'", "[", "x\ny", [], [1, "a", None], [[1], [2]], {}, {"a": None, "b": [1]}, {1: 2},
    dt.datetime(2024, 1, 2, tzinfo=dt.UTC), dt.datetime(2024, 1, 2), dt.date(2024, 1, 2), dt.time(1, 2),
    dt.timedelta(seconds=5), object(),
]
ODD_ARGS: list[tuple[Any, ...]] = [
    (), (None,), (1,), (-1,), ("x",), ("DAYS",), (1, "DAYS"), ("yyyy",), ({"a": "b"},), (".",), ("INT",), (True,),
    ([1],), (1.5,), ("a", "b", "c"), (0, 0), ("#.##",), (2**64,),
]


def test_no_filter_lets_a_python_exception_escape() -> None:
    for name, fn in FILTERS.items():
        signature = inspect.signature(fn)
        for value in ODD_VALUES:
            for args in ODD_ARGS:
                try:
                    signature.bind(ENV, value, *args)
                except TypeError:
                    continue
                try:
                    fn(ENV, value, *args)
                except ExpressionError as err:
                    assert err.hint, (name, value, args)


def test_distinct_of_null_is_the_text_null_as_kestra_prints_it() -> None:
    from lanner.expr import render

    assert render("{{ null | distinct }}", {}) == "null"
    assert render("[{{ null | chunk(2) }}][{{ null | flatten }}][{{ null | keys }}]", {}) == "[][][]"


def test_pebbles_lower_case_numberformat_is_unknown_as_in_kestra_and_names_numberFormat() -> None:
    """Kestra removes Pebble's `numberformat` and registers `numberFormat` only."""
    from lanner.expr import render

    with pytest.raises(ExpressionError, match="did you mean `numberFormat`"):
        render("{{ 3.141592653 | numberformat('#.##') }}", {})
