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


def without_pydantic_plugins() -> None:
    """`lanner run` builds its models without third-party pydantic plugins (validation tracers).

    Looking for them means reading the metadata of every installed package, the first time any
    model or TypeAdapter is built: ~29 M instructions, 2.5% of a short `lanner run` (issue 15), for
    hooks Lanner has no use for. Pydantic's public switch is the environment variable
    PYDANTIC_DISABLE_PLUGINS, but anything set in `os.environ` here would reach every task and the
    warm Python server; so the loader is told directly that the plugins are already loaded, and
    none. An empty dict stands for "loaded, none found" in pydantic 2.x; a pydantic that drops
    that attribute only gets the scan back (tests/unit/cli/test_startup_scans.py notices). Tasks
    are other processes: a task's own use of pydantic still finds its plugins. Called by `run`
    before it loads the flow (typer's own adapters skip plugins already), not here for every
    command: `lanner --help` does not import pydantic at all.
    """
    from pydantic.plugin import _loader

    if getattr(_loader, "_plugins", ...) is None:
        _loader._plugins = {}


def loaded() -> None:
    """Start-up is over: freeze what is loaded and turn the collector on again (a no-op where it
    was on, as in tests that call the command in-process)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
