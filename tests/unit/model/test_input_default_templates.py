"""A template in an input's `defaults` is refused at its line: Kestra renders it when the execution
starts, Lanner would have passed the template's text on as the value."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow
from lanner.model.inputs import resolve_inputs

TASKS = "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _flow(default: str) -> str:
    return f"id: f\nnamespace: company.team\ninputs:\n  - id: day\n    type: STRING\n    defaults: {default}\n{TASKS}"


@pytest.mark.parametrize("default", ["\"{{ now() | date('yyyy-MM-dd') }}\"",
                                     "\"{% if true %}a{% endif %}\""])
def test_a_templated_default_is_refused_at_its_value(default: str) -> None:
    with pytest.raises(ValidationErrors) as info:
        load_flow(_flow(default), file="f.yaml")
    [problem] = [e.render() for e in info.value.errors]
    assert problem.startswith("f.yaml:6:15: inputs[0] (day): a template in `defaults` is not rendered by Lanner")
    assert "pass it with --input" in problem


def test_a_plain_default_with_braces_that_are_not_a_template_stays_the_value() -> None:
    flow = load_flow(_flow("'{\"k\": 1}'"))
    assert resolve_inputs(flow, {}) == {"day": '{"k": 1}'}
