"""The `lanner` console script (and `python -m lanner`): the collector is off while modules load.

Start-up allocates tens of thousands of objects (pydantic models, typer, rich, the template
language) and frees almost none of them, so every collection then is a full walk that finds no
garbage: ~10 ms of a short `lanner run` here. The collector is off until the command has loaded
what it needs, then those objects are frozen (`gc.freeze`: later collections skip them, and a long
run's full collections stay short) and it is on again. For `lanner run` that point is just before
the runtime starts (`loaded()`, called by `run`); for every other command, once the command
module is imported.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    gc.disable()
    from lanner.cli.main import main as command

    if sys.argv[1:2] != ["run"]:
        loaded()
    command()


def loaded() -> None:
    """Start-up is over: freeze what is loaded and turn the collector on again (a no-op where it
    was on, as in tests that call the command in-process)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
