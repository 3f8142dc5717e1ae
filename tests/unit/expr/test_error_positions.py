"""A template error in a multi-line value names its line in the YAML file, with the template's
line and a caret under the spot — when the flow is validated and when the task runs."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.expr import ExpressionError, render
from lanner.loading.flows import load_flow

HEAD = "id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"


def problems(flow: str) -> list[tuple[int | None, int | None, str]]:
    with pytest.raises(ValidationErrors) as err:
        load_flow(HEAD + flow, file="flow.yaml")
    return [(e.where.line, e.where.column, e.render()) for e in err.value.errors]


@pytest.mark.parametrize("message", [
    "    message: |\n      first\n      second {{ 1 + }}\n",
    "    message: |-\n        indented deeper\n\n        after a blank line {{ 1 + }}\n",
    "    message: >\n      folded\n      text {{ 1 + }}\n",
    '    message: "quoted\n      on two lines {{ 1 + }}"\n',
    "    message: 'one line {{ 1 + }}'\n",
    '    message: "a\\n{{ 1 + }}"\n',
])
def test_validate_points_at_the_template_line_in_the_file(message: str) -> None:
    source_lines = (HEAD + message).splitlines()
    line = next(i for i, text in enumerate(source_lines, 1) if "{{ 1 + }}" in text)
    column = source_lines[line - 1].index("+ }}") + 3  # the `}}` that comes too early
    [(at_line, at_column, text)] = problems(message)
    assert (at_line, at_column) == (line, column)
    assert text.startswith(f"flow.yaml:{line}:{column}: tasks[0].message: an expression is missing before")


def test_the_message_shows_the_templates_line_with_a_caret_under_the_spot() -> None:
    [(_, _, text)] = problems("    message: |\n      first\n      second {{ 1 + }}\n      third\n")
    lines = text.splitlines()
    assert lines[1] == "    second {{ 1 + }}"
    assert lines[2].index("^") == lines[1].index("}}")


def test_a_repeated_line_is_told_apart_by_where_the_error_is() -> None:
    [(line, _, _)] = problems("    message: |\n      {{ x }}\n      {{ x }}\n      {{ x | nope }}\n")
    assert line == 9


def test_an_error_at_run_time_names_the_file_line_of_a_flow_loaded_in_this_process() -> None:
    template = "first line\nvalue {{ outputs.missing_here.value }}\n"
    load_flow(HEAD + "    message: |\n      first line\n      value {{ outputs.missing_here.value }}\n",
              file="runtime.yaml")
    with pytest.raises(ExpressionError) as err:
        render(template, {"outputs": {}})
    text = err.value.render()
    assert text.startswith("runtime.yaml:8:24: `outputs.missing_here` is undefined")
    shown, caret = text.splitlines()[1:]
    assert shown == "    value {{ outputs.missing_here.value }}" and caret.index("^") == shown.index("missing")


def test_without_a_file_the_error_says_which_line_of_the_template() -> None:
    with pytest.raises(ExpressionError) as err:
        render("a\nb {{ nothing_known_anywhere }}", {})
    first, shown, caret = err.value.render().splitlines()
    assert first.endswith("(line 2 of the template)")
    assert shown == "    b {{ nothing_known_anywhere }}" and caret.index("^") == shown.index("nothing")
