"""The flow's `concurrency`: what Lanner carries out, and the newest Kestra's keys it refuses by name."""

from __future__ import annotations

import pytest

from lanner.errors import ValidationErrors
from lanner.loading.flows import load_flow

FLOW = ("id: f\nnamespace: a.b\nconcurrency:\n  limit: 2\n{extra}"
        "tasks:\n  - {{id: x, type: io.kestra.plugin.core.log.Log, message: x}}\n")


def test_limit_and_behavior_are_read() -> None:
    flow = load_flow(FLOW.format(extra="  behavior: CANCEL\n"))
    assert flow.concurrency is not None and (flow.concurrency.limit, flow.concurrency.behavior) == (2, "CANCEL")


@pytest.mark.parametrize("extra,named", [("  queueSize: 3\n", "`queueSize` of `concurrency` is"),
                                         ("  queueLimit: 3\n", "`queueLimit` of `concurrency` is"),
                                         ("  duration: PT1M\n  queueSize: 1\n",
                                          "`duration`, `queueSize` of `concurrency` are")])
def test_the_keys_without_a_documented_meaning_are_refused_by_name_at_their_line(extra: str, named: str) -> None:
    with pytest.raises(ValidationErrors) as err:
        load_flow(FLOW.format(extra=extra))
    text = err.value.render()
    assert named in text and "not supported by Lanner" in text and "`limit` and `behavior`" in text
    assert ":3:" in text  # located at the `concurrency` key
