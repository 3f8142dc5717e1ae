"""What a Subflow's own `outputs:` map reads: the variables of the child execution that just ended.

Kestra renders that map in the child's context (`{{ outputs.<childTask>.value }}` names a task of
the child flow), so the runtime that sees the child end hands this plain, JSON-ready view to the
parent's executor with the end (`Executor.on_subflow_end`); the parent never reads the store.
"""

from __future__ import annotations

from typing import Any

from lanner.model.execution import Execution
from lanner.model.maps import nest_dotted
from lanner.model.state import iso
from lanner.model.variables import OutputsView


def child_view(child: Execution) -> dict[str, Any]:
    """The child's `outputs` (by task id, nested by loop value as templates see them), `inputs`,
    `labels`, `execution` and `flow`, as plain values that survive a JSON queue."""
    outputs = OutputsView(child)
    return {
        "outputs": {task_id: outputs[task_id] for task_id in outputs},
        "inputs": nest_dotted(dict(child.inputs)),
        "labels": dict(child.labels),
        "execution": {"id": child.id, "state": child.state.current.value, "outputs": dict(child.outputs),
                      "startDate": iso(child.state.start_date) if child.state.start_date else None},
        "flow": {"id": child.flow_id, "namespace": child.namespace, "revision": child.flow_revision},
    }
