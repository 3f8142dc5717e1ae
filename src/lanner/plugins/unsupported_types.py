"""Kestra task types Lanner knows of and does not carry out, each with what to write instead.

Without this, such a type would get the generic "unknown task type" and a guessed neighbour;
`lanner validate` names what it is instead. Empty today (Approval, the last one, is now built:
`plugins/core/approval.py`); the registry still reads it, for the next type known and not built.
"""

from __future__ import annotations

NOT_SUPPORTED: dict[str, tuple[str, str]] = {}
