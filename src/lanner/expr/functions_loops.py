"""`loopOutputs()` and `outputFromIteration()`: reading the outputs of a loop's iterations.

Kestra gives a loop's outputs either as a list (one entry per iteration, in order) or as a map
keyed by iteration number; these two functions spare the flow author from knowing which, and
from indexing errors that would otherwise print a Python-ish message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanner.expr.arguments import ABSENT, expect_str, fail
from lanner.expr.env import Env
from lanner.expr.values import type_name


def loopOutputs(env: Env, outputs: Any = ABSENT, key: Any = ABSENT) -> list[Any]:  # noqa: N802 - Kestra's name
    """The value of output `key` of each iteration, in order; null where an iteration lacks it,
    so that positions still line up with the iterations."""
    if outputs is ABSENT or outputs is None:
        fail("loopOutputs", "expects an argument 'outputs'", hint="write loopOutputs(outputs.myLoop.outputs, 'uri')")
    if key is ABSENT or key is None:
        fail("loopOutputs", "expects an argument 'key'", hint="write loopOutputs(outputs.myLoop.outputs, 'uri')")
    name = expect_str("loopOutputs", "key", key)
    if not isinstance(outputs, (list, tuple)):
        fail("loopOutputs", f"'outputs' must be a list, got {type_name(outputs)}",
             hint="pass the loop's list of iterations, e.g. outputs.myLoop.outputs")
    found: list[Any] = []
    for entry in outputs:
        values = entry.get("outputs") if isinstance(entry, Mapping) else None
        found.append(values.get(name) if isinstance(values, Mapping) else None)
    return found


def outputFromIteration(env: Env, outputs: Any = ABSENT, iteration: Any = ABSENT) -> Any:  # noqa: N802
    """The outputs of one iteration (counted from 0), from a list or from a map keyed by number."""
    if outputs is ABSENT or outputs is None:
        fail("outputFromIteration", "expects an argument 'outputs'", hint="write outputFromIteration(outputs.loop, 0)")
    if iteration is ABSENT or iteration is None:
        fail("outputFromIteration", "expects an argument 'iteration'",
             hint="write outputFromIteration(outputs.loop, 0)")
    try:
        index = int(str(iteration).strip()) if not isinstance(iteration, bool) else None
    except ValueError:
        index = None
    if index is None:
        fail("outputFromIteration", f"the iteration must be a whole number, got `{iteration}`",
             hint="count iterations from 0")
    if isinstance(outputs, Mapping):
        if str(index) not in outputs:
            fail("outputFromIteration", f"iteration {index} not found in outputs",
                 hint="known iterations: " + ", ".join(map(str, outputs)))
        return outputs[str(index)]
    if isinstance(outputs, (list, tuple)):
        if not 0 <= index < len(outputs):
            fail("outputFromIteration", f"iteration {index} is out of bounds (0 to {len(outputs) - 1})",
                 hint="count iterations from 0")
        return outputs[index]
    fail("outputFromIteration", f"'outputs' must be a list or a map, got {type_name(outputs)}",
         hint="pass a loop's outputs")
