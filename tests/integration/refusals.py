"""What `lanner validate` says about a one-task flow it refuses (the tests of what is refused)."""

from __future__ import annotations

import pytest

from lanner.errors import LannerError
from lanner.loading.flows import load_flow


def refusal(task: str) -> str:
    """The located message for a flow `f.yaml` whose only task is `task` (its YAML lines, from
    `type:` on, indented by four spaces); the test fails if the flow is accepted."""
    with pytest.raises(LannerError) as caught:
        load_flow(f"id: f\nnamespace: company.team\ntasks:\n  - id: t\n{task}\n", "f.yaml")
    return caught.value.render()
