"""A Loop's `outputs.<loop>.outputs` as templates read it: newest Kestra's list, which older
Kestra's map keyed by iteration value still reads through.

Kestra's current Loop (its `TerminatedLoopExecution` handler, `LoopCaseTest.loopOutputs`) gives
one `{item: {value, iteration, key}, outputs}` per ended iteration that declared outputs, in the
order the iterations ended, for `loopOutputs()`, `jq` and positions (`outputs[0]`). The Loop it
replaced gave a map from each iteration's value to its declared outputs, and Kestra's own test flow
`if-in-parallel` still reads that (`outputs.for_each.outputs['1'].return1`). Both are kept: the
value stored is the list; a text key that is the value of an iteration reads that iteration's
declared outputs (the last to end, for a value repeated), any other key is a position as for any
list.
"""

from __future__ import annotations

from typing import Any


class IterationOutputs(list[Any]):
    """The list, answering `by_value` for the expression language's `[...]` and `.` (which asks
    any list that has it before reading a text key as a position)."""

    def by_value(self, key: str) -> Any:
        """The declared outputs of the last ended iteration whose value is `key`."""
        for entry in reversed(self):
            item = entry.get("item") if isinstance(entry, dict) else None
            if isinstance(item, dict) and item.get("value") == key:
                return entry.get("outputs")
        raise KeyError(key)


def readable(outputs: dict[str, Any]) -> dict[str, Any]:
    """A Loop run's outputs with their `outputs` list readable by value too; the stored dict is
    left as it is (it is the execution's, and goes to JSON as a plain list)."""
    listed = outputs.get("outputs")
    if not isinstance(listed, list) or isinstance(listed, IterationOutputs):
        return outputs
    return {**outputs, "outputs": IterationOutputs(listed)}


def is_loop_outputs(outputs: dict[str, Any]) -> bool:
    """Does this run's outputs look like a Loop's: its counts, and a list of iterations?"""
    listed = outputs.get("outputs")
    return "iterationCount" in outputs and "terminatedIterations" in outputs and isinstance(listed, list) \
        and all(isinstance(e, dict) and "item" in e and "outputs" in e for e in listed)
