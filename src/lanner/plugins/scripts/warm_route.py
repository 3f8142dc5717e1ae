"""Which Python task commands may run in the warm interpreter (`lanner.worker.warm_python`).

Only those whose fresh run would be exactly `python[3] <file.py> [args]` started by the shell with
Lanner's own interpreter: a fork of the warm server then does what that process would do. Anything
else — `beforeCommands`, several commands, shell syntax (pipes, variables, redirections, quoting
that does not round-trip), interpreter options (`-m`, `-c`, `-u`), another Python (a
`dependencies` environment, a different version, a virtualenv's `python` that shares our binary
but not our site-packages), a container — keeps the fresh process, where the shell and the chosen
interpreter apply as written.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import PurePath

_SHELLS = {"sh", "bash", "dash"}
_PYTHONS = {"python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"}


def python_argv(interpreter: list[str], before: list[str], own: list[str], path: str | None) -> list[str] | None:
    """`[python, script, *args]` when the command may run warm, else None.

    `interpreter` is the task's (`/bin/sh -c` by default), `before` what runs before its own lines
    (`beforeCommands`, installs), `own` its own lines (after `set -e` if any), `path` the PATH the
    command sees.
    """
    if before or len(interpreter) != 2 or interpreter[1] != "-c" or PurePath(interpreter[0]).name not in _SHELLS:
        return None
    lines = [line for line in own if line.strip() and line.strip() != "set -e"]
    if len(lines) != 1:
        return None
    line = lines[0].strip()
    try:
        tokens = shlex.split(line)
    except ValueError:
        return None
    if len(tokens) < 2 or shlex.join(tokens) != line:  # any shell syntax beyond plain words
        return None
    python, script = tokens[0], tokens[1]
    if PurePath(python).name not in _PYTHONS or script.startswith("-") or not script.endswith(".py"):
        return None
    return tokens if _is_our_python(python, path) else None


def _is_our_python(name: str, path: str | None) -> bool:
    """Does `name` (as the shell would find it on `path`) start this very interpreter, same prefix included?"""
    found = name if os.sep in name else shutil.which(name, path=path if path is not None else os.defpath)
    if found is None:
        return False
    found = os.path.abspath(found)
    ours = sys.executable
    return (os.path.dirname(found) == os.path.dirname(ours)
            and os.path.realpath(found) == os.path.realpath(ours))
