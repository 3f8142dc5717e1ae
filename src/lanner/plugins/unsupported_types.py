"""Kestra task types Lanner knows of and does not carry out, each with what to write instead.

Without this, such a type would get the generic "unknown task type" and a guessed neighbour (for
Approval: Pause, whose behaviour is not the same); `lanner validate` names what it is instead.
"""

from __future__ import annotations

NOT_SUPPORTED: dict[str, tuple[str, str]] = {
    "io.kestra.plugin.core.flow.Approval": (
        "Kestra's Approval task (a review with `onWait`, `onApprove`/`onDeny`, decision behaviours and its "
        "own review API) is not supported by Lanner",
        "use a Pause with `onResume` inputs (e.g. `- {id: approved, type: BOOLEAN}`) followed by an If on "
        "`{{ outputs.<pause>.onResume.approved }}`; resume it with `lanner execution resume ID -i approved=true`, "
        "the API or the UI"),
}
