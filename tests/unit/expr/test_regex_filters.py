"""regexMatch, regexReplace, regexExtract and condense, as Kestra documents them: Java patterns
found anywhere in the text, `$n` groups in replacements, null in gives no match."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError, render


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ 'invoice-2024.pdf' | regexMatch(regex='\\\\.pdf$') }}", "true"),
    ("{{ 'invoice-2024.pdf' | regexMatch(regex='^\\\\d') }}", "false"),
    ("{{ 'ab12' | regexMatch('\\\\d') }}", "true"),  # found anywhere, as Java's find()
    ("{{ nothing | regexMatch(regex='.*') }}", "false"),
])
def test_regex_match_finds_the_pattern_anywhere_and_null_never_matches(template: str, expected: str) -> None:
    assert render(template, {"nothing": None}) == expected


def test_regex_replace_replaces_every_match_with_java_group_references() -> None:
    assert render("{{ 'x=1, y=22' | regexReplace(regex='(\\\\w)=(\\\\d+)', replacement='$2:$1') }}", {}) == "1:x, 22:y"
    assert render("{{ '2024-05-01' | regexReplace('(?<y>\\\\d{4})-', '${y}/') }}", {}) == "2024/05-01"
    assert render("{{ 'abc' | regexReplace(regex='\\\\d', replacement='#') }}", {}) == "abc"
    assert render("[{{ nothing | regexReplace(regex='a', replacement='b') }}]", {"nothing": None}) == "[]"


def test_regex_extract_gives_the_first_match_or_a_group_and_nothing_when_absent() -> None:
    assert render("{{ 'run 7 of 12' | regexExtract(regex='\\\\d+') }}", {}) == "7"
    assert render("{{ 'id=ab-42;' | regexExtract(regex='id=(\\\\w+)-(\\\\d+)', group=2) }}", {}) == "42"
    assert render("[{{ 'none here' | regexExtract(regex='\\\\d+') }}]", {}) == "[]"
    assert render("{{ 'none' | regexExtract(regex='\\\\d+') ?? 'absent' }}", {}) == "absent"


@pytest.mark.parametrize(("template", "message"), [
    ("{{ 'a' | regexMatch }}", "the argument `regex` is required"),
    ("{{ 'a' | regexReplace(regex='a') }}", "the argument `replacement` is required"),
    ("{{ 'a' | regexExtract(regex='(a)', group=2) }}", "there is no group 2"),
    ("{{ 'a' | regexMatch(regex='(') }}", "invalid regular expression"),
])
def test_regex_filters_refuse_a_missing_or_bad_argument_with_a_hint(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as err:
        render(template, {})
    assert err.value.hint


def test_condense_removes_line_feeds_only_and_refuses_what_is_not_text() -> None:
    assert render("{{ text | condense }}", {"text": "SELECT *\n FROM t\n"}) == "SELECT * FROM t"
    with pytest.raises(ExpressionError, match="condense can only be applied on strings"):
        render("{{ 12 | condense }}", {})


def test_json_encode_is_the_old_name_of_to_json() -> None:
    assert render("{{ m | jsonEncode }}", {"m": {"a": [1, "x"]}}) == '{"a":[1,"x"]}'


def test_jq_results_hold_small_integers_as_java_integers_as_jackson_reads_them() -> None:
    v = {"m": {"small": 7, "big": 2**40}}
    assert render("{{ m | jq('.small') | first | className }}", v) == "java.lang.Integer"
    assert render("{{ m | jq('.big') | first | className }}", v) == "java.lang.Long"
    assert render("{{ (m | jq('.small') | first) + 1 }}", v) == "8"
